/**
 * The storage browser's markup and styles. They are strings (not files) so the built server
 * carries them with it. The page has no inline script or style: its CSP allows only its own files.
 */

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Storage browser - apify-kv</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/storage-browser.css">
<script src="/assets/apify-kv.min.js" defer></script>
<script src="/assets/storage-browser.js" defer></script>
</head>
<body>
<header class="top">
  <h1>Storage browser</h1>
  <form id="token-form" class="token" autocomplete="off">
    <label for="token">API token</label>
    <input id="token" name="token" type="password" placeholder="if the server needs one" spellcheck="false">
    <button type="submit">Use token</button>
    <button type="button" id="token-forget">Forget</button>
  </form>
</header>

<div class="notices">
  <p id="error" class="notice error" role="alert" hidden></p>
  <p id="status" class="notice status" role="status" aria-live="polite"></p>
</div>

<main class="layout">
  <section class="panel stores" aria-labelledby="stores-title">
    <div class="panel-head">
      <h2 id="stores-title">Stores</h2>
      <button type="button" id="stores-refresh">Refresh</button>
    </div>
    <label class="check"><input id="show-unnamed" type="checkbox"> Show unnamed stores</label>
    <ul id="store-list" class="store-list"></ul>
    <p id="stores-summary" class="muted"></p>
    <form id="create-form" class="stack">
      <label for="new-store">New store</label>
      <div class="row">
        <input id="new-store" name="name" placeholder="my-store" maxlength="63" spellcheck="false" aria-describedby="new-store-help">
        <button type="submit">Create</button>
      </div>
      <p id="new-store-help" class="muted">Letters, digits and hyphens. Leave empty for an unnamed store.</p>
    </form>
  </section>

  <section id="store-panel" class="panel store" aria-labelledby="store-title" hidden>
    <div class="panel-head">
      <h2 id="store-title"></h2>
      <button type="button" id="store-delete" class="danger">Delete store</button>
    </div>
    <p id="store-meta" class="muted"></p>
    <form id="filter-form" class="row">
      <label for="prefix">Key prefix</label>
      <input id="prefix" name="prefix" type="search" spellcheck="false">
      <button type="submit">Filter</button>
    </form>
    <table class="keys">
      <caption class="sr-only">Records</caption>
      <thead><tr><th scope="col">Key</th><th scope="col" class="num">Size</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody id="key-rows"></tbody>
    </table>
    <p id="keys-empty" class="muted" hidden>No records.</p>
    <button type="button" id="keys-more" hidden>More</button>
    <form id="upload-form" class="stack upload">
      <fieldset>
        <legend>Upload a file as a record</legend>
        <label for="upload-file">File</label>
        <input id="upload-file" name="file" type="file">
        <label for="upload-key">Key</label>
        <div class="row">
          <input id="upload-key" name="key" maxlength="256" spellcheck="false">
          <button type="submit">Upload</button>
        </div>
      </fieldset>
    </form>
  </section>

  <section id="preview-panel" class="panel preview" aria-labelledby="preview-title" hidden>
    <div class="panel-head">
      <h2 id="preview-title">Record</h2>
      <button type="button" id="preview-close">Close</button>
    </div>
    <dl id="preview-meta" class="meta"></dl>
    <div id="preview-body" class="preview-body"></div>
  </section>

  <p id="hint" class="panel hint">Choose a store to see its records.</p>
</main>
</body>
</html>
`;

export const PAGE_CSS = `:root {
  --fg: #1d2330; --muted: #5b6475; --line: #d9dde5; --bg: #f5f6f8; --card: #fff;
  --accent: #1a56db; --accent-bg: #e8effd; --danger: #b42318; --danger-bg: #fdecea; --ok-bg: #e7f6ec;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
h1 { font-size: 1.25rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 0; overflow-wrap: anywhere; }
button, input { font: inherit; }
button {
  border: 1px solid var(--line); background: var(--card); color: var(--fg);
  border-radius: 6px; padding: 0.3rem 0.75rem; cursor: pointer;
}
button:hover { border-color: var(--accent); }
button:disabled { opacity: 0.6; cursor: default; }
button.danger { color: var(--danger); }
button.danger:hover { border-color: var(--danger); background: var(--danger-bg); }
button.link { border: 0; background: none; padding: 0; color: var(--accent); text-align: left; overflow-wrap: anywhere; }
button.link:hover { text-decoration: underline; }
input:not([type]), input[type=search], input[type=password] {
  border: 1px solid var(--line); border-radius: 6px; padding: 0.3rem 0.5rem; min-width: 0; flex: 1;
}
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.top {
  display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 0.75rem;
  padding: 0.75rem 1.25rem; background: var(--card); border-bottom: 1px solid var(--line);
}
.token { display: flex; align-items: center; gap: 0.5rem; }
.token label { color: var(--muted); }
.token input { flex: none; width: 15rem; }
.notices { padding: 0 1.25rem; }
.notice { margin: 0.75rem 0 0; padding: 0.5rem 0.75rem; border-radius: 6px; }
.notice:empty { display: none; }
.error { background: var(--danger-bg); color: var(--danger); border: 1px solid #f4c7c3; }
.status { background: var(--ok-bg); }
.layout {
  display: grid; gap: 1rem; padding: 1rem 1.25rem; align-items: start;
  grid-template-columns: minmax(14rem, 18rem) minmax(20rem, 1fr) minmax(18rem, 1fr);
}
@media (max-width: 60rem) { .layout { grid-template-columns: 1fr; } }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; }
.panel-head { display: flex; align-items: center; justify-content: space-between; gap: 0.5rem; margin-bottom: 0.5rem; }
.hint { color: var(--muted); margin: 0; }
.muted { color: var(--muted); font-size: 0.9rem; margin: 0.25rem 0; overflow-wrap: anywhere; }
.row { display: flex; gap: 0.5rem; align-items: center; }
.stack { display: flex; flex-direction: column; gap: 0.35rem; margin-top: 1rem; }
.check { display: flex; gap: 0.4rem; align-items: center; color: var(--muted); font-size: 0.9rem; }
.store-list { list-style: none; margin: 0.75rem 0 0; padding: 0; }
.store-list li + li { margin-top: 0.25rem; }
.store-list button { width: 100%; text-align: left; overflow-wrap: anywhere; }
.store-list button[aria-current=true] { background: var(--accent-bg); border-color: var(--accent); }
.store-list .sub { display: block; color: var(--muted); font-size: 0.8rem; }
#filter-form { margin: 0.75rem 0; }
#filter-form label { color: var(--muted); white-space: nowrap; }
table.keys { width: 100%; border-collapse: collapse; }
.keys th { text-align: left; font-weight: 600; color: var(--muted); font-size: 0.85rem; border-bottom: 1px solid var(--line); padding: 0.3rem 0.4rem; }
.keys td { border-bottom: 1px solid var(--line); padding: 0.3rem 0.4rem; vertical-align: middle; }
.keys td:last-child { text-align: right; white-space: nowrap; }
.keys tr[aria-current=true] td { background: var(--accent-bg); }
.keys th.num, .num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
#keys-more { margin-top: 0.75rem; }
fieldset { border: 1px solid var(--line); border-radius: 8px; padding: 0.75rem; display: flex; flex-direction: column; gap: 0.35rem; margin: 0; }
legend { padding: 0 0.3rem; font-weight: 600; }
.meta { display: grid; grid-template-columns: auto 1fr; gap: 0.2rem 0.75rem; margin: 0 0 0.75rem; font-size: 0.9rem; }
.meta dt { color: var(--muted); }
.meta dd { margin: 0; overflow-wrap: anywhere; }
.preview-body pre {
  margin: 0; padding: 0.75rem; background: #f7f8fa; border: 1px solid var(--line); border-radius: 6px;
  max-height: 60vh; overflow: auto; font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre-wrap; overflow-wrap: anywhere;
}
.preview-body img { max-width: 100%; max-height: 60vh; display: block; border: 1px solid var(--line); border-radius: 6px;
  background: repeating-conic-gradient(#eee 0% 25%, #fff 0% 50%) 50% / 16px 16px; }
.preview-body p { margin: 0.5rem 0; }
.preview-body a { color: var(--accent); }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
[hidden] { display: none !important; }
`;
