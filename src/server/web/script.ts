/**
 * The storage browser's script, served as `/assets/storage-browser.js`. Plain DOM on top of the
 * IIFE bundle's global `ApifyKv`; every piece of data reaches the page through `textContent` or
 * an attribute, never as markup. Kept free of backticks and `${` so it can live in this string.
 */
export const PAGE_SCRIPT = String.raw`(function () {
  'use strict';

  var TOKEN_KEY = 'apify-kv-browser.token';
  var PAGE_SIZE = 50;
  // Larger records are not loaded for a preview: only on an explicit download.
  var PREVIEW_MAX_BYTES = 10 * 1024 * 1024;
  var TEXT_PREVIEW_MAX_CHARS = 500000;

  var $ = function (id) { return document.getElementById(id); };

  var state = {
    client: null,
    store: null,          // { id, name }
    nextKey: null,        // exclusiveStartKey of the next page of keys
    prefix: '',
    previewKey: null,
    objectUrls: [],
    generation: 0,        // bumps on every store switch, so late answers for the old store are dropped
  };

  // ---- small helpers ----

  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (name) {
        var value = props[name];
        if (value === undefined || value === null) return;
        if (name === 'text') node.textContent = value;
        else if (name === 'className') node.className = value;
        else if (name.slice(0, 2) === 'on') node.addEventListener(name.slice(2), value);
        else node.setAttribute(name, String(value));
      });
    }
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function formatBytes(n) {
    if (typeof n !== 'number' || !isFinite(n)) return '';
    if (n < 1024) return n + ' B';
    var units = ['KiB', 'MiB', 'GiB', 'TiB'];
    var value = n;
    var i = -1;
    do { value /= 1024; i++; } while (value >= 1024 && i < units.length - 1);
    return value.toFixed(value < 10 ? 1 : 0) + ' ' + units[i];
  }

  function storeLabel(store) {
    return store.name || 'Unnamed store';
  }

  function say(text) {
    $('status').textContent = text;
  }

  function showError(text) {
    var box = $('error');
    box.textContent = text;
    box.hidden = false;
    say('');
  }

  function clearError() {
    var box = $('error');
    box.textContent = '';
    box.hidden = true;
  }

  // Turns a client error into a sentence a person can act on.
  function describeError(err) {
    var type = err && err.type;
    if (type === 'token-not-provided') return 'This server needs an API token: enter it above and press "Use token".';
    if (type === 'invalid-token') return 'The server refused this API token: check it and press "Use token" again.';
    if (type === 'insufficient-permissions') return 'This token may not do that (' + err.message + ')';
    if (window.ApifyKv && ApifyKv.isApifyNetworkError(err)) return 'Cannot reach the server: ' + err.message;
    if (window.ApifyKv && ApifyKv.isApifyApiError(err)) return err.message + ' (' + err.type + ', HTTP ' + err.statusCode + ')';
    return (err && err.message) || String(err);
  }

  // Runs an action, showing its failure instead of throwing; buttons of the form stay disabled meanwhile.
  function act(button, fn) {
    return async function (event) {
      if (event && event.preventDefault) event.preventDefault();
      clearError();
      say('');
      if (button) button.disabled = true;
      try {
        await fn(event);
      } catch (err) {
        showError(describeError(err));
      } finally {
        if (button) button.disabled = false;
      }
    };
  }

  // ---- the client and its token ----

  function readToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }

  function writeToken(token) {
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage disabled: the token lives only in this page */ }
  }

  function makeClient(token) {
    // An interactive page should fail fast rather than retry for a minute and a half.
    state.client = new ApifyKv.ApifyClient({
      baseUrl: location.origin,
      token: token || undefined,
      maxRetries: 2,
      timeoutSecs: 30,
    });
  }

  function kvs() {
    return state.client.keyValueStores;
  }

  // ---- stores ----

  async function loadStores() {
    var list = await kvs().listStores({ unnamed: $('show-unnamed').checked, limit: 1000 });
    var ul = $('store-list');
    clear(ul);
    // Named stores by name, then unnamed ones in the server's order (oldest first).
    var stores = list.items.slice().sort(function (a, b) {
      if (a.name && b.name) return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
      return a.name ? -1 : b.name ? 1 : 0;
    });
    stores.forEach(function (store) {
      var current = state.store && state.store.id === store.id;
      var button = el('button', {
        type: 'button',
        'aria-current': current ? 'true' : 'false',
        'data-store-id': store.id,
        onclick: act(null, function () { return selectStore(store); }),
      }, [storeLabel(store)]);
      if (!store.name) button.appendChild(el('span', { className: 'sub', text: store.id }));
      ul.appendChild(el('li', null, [button]));
    });
    var shown = list.items.length;
    $('stores-summary').textContent =
      shown === 0 ? 'No stores yet.' : (list.total > shown ? shown + ' of ' + list.total + ' stores' : shown + (shown === 1 ? ' store' : ' stores'));
    return list.items;
  }

  function markCurrentStore() {
    Array.prototype.forEach.call($('store-list').querySelectorAll('button[data-store-id]'), function (button) {
      button.setAttribute('aria-current', state.store && button.getAttribute('data-store-id') === state.store.id ? 'true' : 'false');
    });
  }

  async function selectStore(store) {
    state.generation++;
    state.store = { id: store.id, name: store.name || null };
    markCurrentStore();
    closePreview();
    $('hint').hidden = true;
    $('store-panel').hidden = false;
    $('store-title').textContent = storeLabel(store);
    var meta = 'ID ' + store.id;
    if (store.modifiedAt) meta += ' - modified ' + new Date(store.modifiedAt).toLocaleString();
    $('store-meta').textContent = meta;
    $('upload-key').value = '';
    $('upload-file').value = '';
    await loadKeys(true);
  }

  function leaveStore() {
    state.generation++;
    state.store = null;
    closePreview();
    $('store-panel').hidden = true;
    $('hint').hidden = false;
  }

  async function createStore() {
    var name = $('new-store').value.trim();
    if (name && !ApifyKv.STORE_NAME_PATTERN.test(name)) {
      throw new Error('A store name is 1-63 letters, digits and hyphens, not starting or ending with a hyphen.');
    }
    var store = await kvs().getOrCreateStore(name ? { storeName: name } : {});
    // An unnamed store is listed only with unnamed stores shown.
    if (!store.name) $('show-unnamed').checked = true;
    $('new-store').value = '';
    await loadStores();
    await selectStore(store);
    say('Store "' + storeLabel(store) + '" is ready.');
  }

  async function deleteStore() {
    var store = state.store;
    if (!store) return;
    if (!confirm('Delete the store "' + storeLabel(store) + '" and all its records?')) return;
    await kvs().deleteStore({ storeId: store.id });
    leaveStore();
    await loadStores();
    say('Deleted the store "' + storeLabel(store) + '".');
  }

  // ---- keys ----

  async function loadKeys(fromStart) {
    var store = state.store;
    if (!store) return;
    var generation = state.generation;
    if (fromStart) state.nextKey = null;
    var page = await kvs().listKeys({
      storeId: store.id,
      limit: PAGE_SIZE,
      exclusiveStartKey: fromStart ? undefined : state.nextKey || undefined,
      prefix: state.prefix || undefined,
    });
    if (generation !== state.generation) return;
    var rows = $('key-rows');
    if (fromStart) clear(rows);
    page.items.forEach(function (item) { rows.appendChild(keyRow(item)); });
    state.nextKey = page.nextExclusiveStartKey || null;
    $('keys-more').hidden = !(page.isTruncated && state.nextKey);
    $('keys-empty').hidden = rows.children.length > 0;
    $('keys-empty').textContent = state.prefix ? 'No records with keys starting with "' + state.prefix + '".' : 'No records.';
  }

  function keyRow(item) {
    var row = el('tr', { 'data-key': item.key, 'aria-current': item.key === state.previewKey ? 'true' : 'false' }, [
      el('td', null, [el('button', {
        type: 'button',
        className: 'link',
        title: 'Show this record',
        onclick: act(null, function () { return showRecord(item.key, item.size); }),
      }, [item.key])]),
      el('td', { className: 'num', text: formatBytes(item.size) }),
      el('td', null, [el('button', {
        type: 'button',
        className: 'danger',
        'aria-label': 'Delete record ' + item.key,
        onclick: act(null, function () { return deleteRecord(item.key); }),
      }, ['Delete'])]),
    ]);
    return row;
  }

  function findRow(key) {
    var rows = $('key-rows').children;
    for (var i = 0; i < rows.length; i++) if (rows[i].getAttribute('data-key') === key) return rows[i];
    return null;
  }

  async function deleteRecord(key) {
    var store = state.store;
    if (!confirm('Delete the record "' + key + '"?')) return;
    await kvs().deleteRecord({ storeId: store.id, key: key });
    var row = findRow(key);
    if (row) row.remove();
    $('keys-empty').hidden = $('key-rows').children.length > 0;
    if (state.previewKey === key) closePreview();
    say('Deleted the record "' + key + '".');
  }

  // ---- preview ----

  function revokeUrls() {
    state.objectUrls.forEach(function (url) { URL.revokeObjectURL(url); });
    state.objectUrls = [];
  }

  function objectUrl(bytes, type) {
    var url = URL.createObjectURL(new Blob([bytes], { type: type }));
    state.objectUrls.push(url);
    return url;
  }

  function closePreview() {
    revokeUrls();
    state.previewKey = null;
    $('preview-panel').hidden = true;
    clear($('preview-body'));
    clear($('preview-meta'));
    Array.prototype.forEach.call($('key-rows').children, function (row) { row.setAttribute('aria-current', 'false'); });
  }

  function mediaTypeOf(contentType) {
    return String(contentType || 'application/octet-stream').split(';')[0].trim().toLowerCase();
  }

  function charsetOf(contentType) {
    var match = /;\s*charset="?([^";\s]+)"?/i.exec(String(contentType || ''));
    return match ? match[1] : 'utf-8';
  }

  function decodeText(bytes, contentType) {
    var decoder;
    try { decoder = new TextDecoder(charsetOf(contentType)); } catch (e) { decoder = new TextDecoder('utf-8'); }
    return decoder.decode(bytes);
  }

  function isJson(type) { return type === 'application/json' || /\+json$/.test(type); }

  function isText(type) {
    return /^text\//.test(type) || type === 'application/xml' || /\+xml$/.test(type) ||
      type === 'application/javascript' || type === 'application/x-ndjson';
  }

  function showPanel(key, contentType, size) {
    revokeUrls();
    state.previewKey = key;
    Array.prototype.forEach.call($('key-rows').children, function (row) {
      row.setAttribute('aria-current', row.getAttribute('data-key') === key ? 'true' : 'false');
    });
    $('preview-panel').hidden = false;
    $('preview-title').textContent = key;
    var meta = $('preview-meta');
    clear(meta);
    [['Key', key], ['Content type', contentType], ['Size', formatBytes(size) + (size >= 1024 ? ' (' + size + ' bytes)' : '')]]
      .forEach(function (pair) {
        if (pair[1] === null || pair[1] === undefined) return;
        meta.appendChild(el('dt', { text: pair[0] }));
        meta.appendChild(el('dd', { text: pair[1] }));
      });
    var body = $('preview-body');
    clear(body);
    return body;
  }

  async function fetchRecord(key) {
    var record = await kvs().getRecord({ storeId: state.store.id, key: key, disableBodyParser: true });
    if (!record) throw new Error('The record "' + key + '" no longer exists.');
    return record;
  }

  function downloadLink(key, bytes, type) {
    return el('a', { href: objectUrl(bytes, type), download: key }, ['Download']);
  }

  async function showRecord(key, listedSize) {
    var generation = state.generation;
    if (typeof listedSize === 'number' && listedSize > PREVIEW_MAX_BYTES) {
      var body = showPanel(key, null, listedSize);
      body.appendChild(el('p', { text: 'Too large to preview here.' }));
      body.appendChild(el('button', {
        type: 'button',
        onclick: act(null, async function () {
          var record = await fetchRecord(key);
          var link = downloadLink(key, record.body, mediaTypeOf(record.contentType));
          link.click();
        }),
      }, ['Download ' + formatBytes(listedSize)]));
      return;
    }
    var record = await fetchRecord(key);
    if (generation !== state.generation) return;
    var bytes = new Uint8Array(record.body);
    var type = mediaTypeOf(record.contentType);
    var out = showPanel(key, record.contentType, bytes.byteLength);
    if (isJson(type) || isText(type)) {
      var text = decodeText(bytes, record.contentType);
      var note = '';
      if (isJson(type)) {
        try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { note = 'Not valid JSON: shown as it is.'; }
      }
      if (text.length > TEXT_PREVIEW_MAX_CHARS) {
        text = text.slice(0, TEXT_PREVIEW_MAX_CHARS);
        note = 'Only the start is shown.';
      }
      if (note) out.appendChild(el('p', { className: 'muted', text: note }));
      out.appendChild(el('pre', { tabindex: '0', 'aria-label': 'Content of ' + key, text: text }));
    } else if (/^image\//.test(type)) {
      // A blob URL in an <img>: even an SVG cannot run script there.
      out.appendChild(el('img', { src: objectUrl(bytes, type), alt: 'Image record ' + key }));
    } else {
      out.appendChild(el('p', { text: 'Binary record of ' + formatBytes(bytes.byteLength) + ', no preview.' }));
    }
    out.appendChild(el('p', null, [downloadLink(key, bytes, type)]));
  }

  // ---- upload ----

  // A record key made from a file name: characters the API refuses become "_".
  function keyFromFileName(name) {
    var key = String(name).replace(/[^a-zA-Z0-9!\-_.'()]/g, '_').slice(0, 256);
    return key === '' || key === '.' || key === '..' ? 'file' : key;
  }

  async function upload() {
    var store = state.store;
    var file = $('upload-file').files[0];
    if (!store) return;
    if (!file) throw new Error('Choose a file to upload.');
    var key = $('upload-key').value.trim() || keyFromFileName(file.name);
    if (!ApifyKv.RECORD_KEY_PATTERN.test(key) || key === '.' || key === '..') {
      throw new Error('A record key is 1-256 characters of a-z, A-Z, 0-9 and !-_.\'()');
    }
    if (await kvs().recordExists({ storeId: store.id, key: key })) {
      if (!confirm('The record "' + key + '" exists. Replace it?')) return;
    }
    var contentType = file.type || 'application/octet-stream';
    await kvs().putRecord({ storeId: store.id, key: key, body: file, contentType: contentType });
    $('upload-file').value = '';
    $('upload-key').value = '';
    await loadKeys(true);
    say('Uploaded "' + key + '" (' + formatBytes(file.size) + ', ' + contentType + ').');
    await showRecord(key, file.size);
  }

  // ---- wiring ----

  function start() {
    if (!window.ApifyKv) {
      showError('The client bundle (/assets/apify-kv.min.js) did not load. Build the package with "npm run build" and reload.');
      return;
    }
    var token = readToken();
    $('token').value = token;
    makeClient(token);

    $('token-form').addEventListener('submit', act($('token-form').querySelector('button[type=submit]'), async function () {
      var value = $('token').value.trim();
      writeToken(value);
      makeClient(value);
      leaveStore();
      await loadStores();
      say(value ? 'Using the token.' : 'Using no token.');
    }));
    $('token-forget').addEventListener('click', act($('token-forget'), async function () {
      $('token').value = '';
      writeToken('');
      makeClient('');
      leaveStore();
      clear($('store-list'));
      $('stores-summary').textContent = '';
      say('The token is forgotten.');
      await loadStores();
    }));
    $('stores-refresh').addEventListener('click', act($('stores-refresh'), loadStores));
    $('show-unnamed').addEventListener('change', act(null, loadStores));
    $('create-form').addEventListener('submit', act($('create-form').querySelector('button'), createStore));
    $('store-delete').addEventListener('click', act($('store-delete'), deleteStore));
    $('filter-form').addEventListener('submit', act($('filter-form').querySelector('button'), function () {
      state.prefix = $('prefix').value.trim();
      closePreview();
      return loadKeys(true);
    }));
    $('keys-more').addEventListener('click', act($('keys-more'), function () { return loadKeys(false); }));
    $('upload-file').addEventListener('change', function () {
      var file = $('upload-file').files[0];
      if (file) $('upload-key').value = keyFromFileName(file.name);
    });
    $('upload-form').addEventListener('submit', act($('upload-form').querySelector('button[type=submit]'), upload));
    $('preview-close').addEventListener('click', closePreview);

    act(null, loadStores)();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
`;
