#!/usr/bin/env bash
# A batch job with the apify-kv command line: upload a folder of results into a store, pull the
# JSON records back, and act on the exit codes. Run it in an empty folder:
#   bash examples/batch-job.sh
# Local storage (./storage) unless APIFY_API_BASE_URL, --api-url or --cloud names an API.
set -uo pipefail

# `apify-kv` when it is on the PATH (npm install -g, or a script in package.json), else npx.
if command -v apify-kv >/dev/null; then KV=(apify-kv); else KV=(npx --no-install apify-kv); fi
export APIFY_LOCAL_STORAGE_DIR="${APIFY_LOCAL_STORAGE_DIR:-$PWD/storage}"

mkdir -p results
echo '{"city":"Prague","count":3}' > results/summary.json
echo 'taken on a sunny day' > results/notes.txt

# Exit codes: 0 done, 1 a transfer failed, 2 bad input or files skipped, 3 not found,
# 4 authentication, 5 network failure after the client's retries.
"${KV[@]}" push results results --quiet
code=$?
if [ "$code" -ne 0 ]; then echo "push failed with exit code $code" >&2; exit "$code"; fi

# A re-run sends nothing: the summary says what was unchanged.
"${KV[@]}" push results results --json > push.json
node -e 'const s = require("./push.json"); console.log(`second push: ${s.uploaded.length} uploaded, ${s.unchanged.length} unchanged`)'

# Only the JSON records, into ./copy.
"${KV[@]}" pull results copy --exclude '*' --include '*.json' --quiet
echo "pulled: $(ls copy)"

# A record that is not there is exit code 3, which a job may treat as "nothing to do".
"${KV[@]}" get results missing-report -o report.bin 2>/dev/null
code=$?
case "$code" in
  0) echo "report found" ;;
  3) echo "no report yet (exit 3)" ;;
  *) echo "get failed with exit code $code" >&2; exit "$code" ;;
esac
