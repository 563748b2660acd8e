// An Apify SDK / Crawlee-style script: read the input, do the work, save the output, and keep
// its progress in an auto-saved state that a restarted run picks up.
//
// Local storage by default (./storage, or APIFY_LOCAL_STORAGE_DIR / CRAWLEE_STORAGE_DIR), in the
// layout Crawlee uses; on the Apify platform (APIFY_IS_AT_HOME=1, APIFY_TOKEN) the same code uses
// the API. Give it an input first, e.g.:
//   echo '{"urls":["https://example.com/a","https://example.com/b"]}' | npx apify-kv put default INPUT
//   node examples/actor.mjs
import { getInput, KeyValueStore } from 'apify-kv-client/sdk';

/** @type {{ urls?: string[] } | null} */
const input = await getInput();
const urls = input?.urls ?? ['https://example.com/'];

// The state is saved every 60 s, when the script ends, and on SIGINT / SIGTERM.
const state = await KeyValueStore.getAutoSavedValue('STATE', { runs: 0, done: /** @type {string[]} */ ([]) });
state.runs += 1;

const results = await KeyValueStore.open('results'); // a named store, created when missing
for (const url of urls) {
  if (state.done.includes(url)) continue; // done in an earlier run
  const key = `page-${state.done.length + 1}`;
  await results.setValue(key, { url, title: `Title of ${url}`, at: new Date().toISOString() });
  state.done.push(url);
}

await KeyValueStore.setValue('OUTPUT', { pages: state.done.length, runs: state.runs }); // the default store
console.log(`run ${state.runs}: ${state.done.length} pages in store "results":`, await results.keys());
