// neru console: one small page application. Every page has its own URL
// under /console/; data comes from the admin API (/admin/v1) with the
// token this tab keeps in sessionStorage. Values from the server are put in
// the page as text, never as HTML.
'use strict';

const TOKEN = 'neru.adminToken';
const main = document.getElementById('main');
let pageAbort = null; // aborts the current page's requests and streams

// h builds an element: h('td', {class: 'mono'}, 'text', childNode, …).
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat()) {
    if (kid === undefined || kid === null) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}
const esc = encodeURIComponent;
const link = (href, text) => h('a', { href, 'data-nav': '' }, text);
const instURL = (id) => '/console/instances/' + esc(id);
const sessURL = (id, sid) => instURL(id) + '/sessions/' + esc(sid);
const fmtTime = (t) => (t ? new Date(t).toLocaleString() : '');
const fmtMs = (ms) => (ms === undefined || ms === null ? '' : ms < 10 ? ms.toFixed(1) + ' ms' : Math.round(ms) + ' ms');
function fmtTTL(s) {
  if (s === null || s === undefined) return 'never expires';
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return (d ? d + 'd ' : '') + (d || hh ? hh + 'h ' : '') + (d || hh || m ? m + 'm ' : '') + sec + 's';
}
const status = (s) => h('span', { class: 's-' + s }, s);

class HTTPError extends Error {
  constructor(status, body) { super((body && body.message) || 'HTTP ' + status); this.status = status; this.code = body && body.code; }
}

function headers() {
  const t = sessionStorage.getItem(TOKEN);
  return t ? { Authorization: 'Bearer ' + t } : {};
}

async function api(method, path) {
  const res = await fetch('/admin/v1' + path, { method, headers: headers(), signal: pageAbort.signal });
  const body = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new HTTPError(res.status, body);
  return body;
}

// stream reads the server-sent events of the live stream with fetch, which
// (unlike EventSource) can send the Authorization header.
async function stream(path, onEvent, onReady) {
  const res = await fetch('/admin/v1' + path, { headers: headers(), signal: pageAbort.signal });
  if (!res.ok) throw new HTTPError(res.status, await res.json().catch(() => null));
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = 'message', data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (event === 'ready') onReady();
      else if (data) onEvent(JSON.parse(data));
    }
  }
}

function show(...nodes) { main.replaceChildren(...nodes); }

function fail(err) {
  if (err.name === 'AbortError') return;
  if (err.status === 401) { go('/console/login?next=' + esc(location.pathname + location.search), true); return; }
  show(h('h1', {}, 'Error'), h('p', { class: 'error', id: 'error' }, err.message));
}

// ---- pages ----

function loginPage(q) {
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', size: 48, placeholder: 'NERU_ADMIN_TOKEN' });
  const form = h('form', { class: 'bar', onsubmit: (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN, input.value.trim());
    const next = q.get('next');
    go(next && next.startsWith('/console/') ? next : '/console/instances', true);
  } }, input, h('button', { type: 'submit' }, 'Sign in'));
  show(h('h1', {}, 'Admin token'),
    h('p', { class: 'muted' }, 'This gateway has an admin token (NERU_ADMIN_TOKEN). It is kept in this tab only (sessionStorage) and sent as a bearer header.'),
    form);
  input.focus();
}

async function instancesPage() {
  const { instances } = await api('GET', '/instances');
  show(h('h1', {}, 'Instances'), h('table', { id: 'instances' },
    h('tr', {}, h('th', {}, 'id'), h('th', {}, 'application'), h('th', {}, 'base URL'), h('th', {}, 'session expiry'), h('th', {}, '')),
    instances.map((i) => h('tr', {},
      h('td', { class: 'mono' }, link(instURL(i.id) + '/sessions', i.id)),
      h('td', { class: 'mono' }, i.applicationId), h('td', { class: 'mono' }, i.baseUrl),
      h('td', {}, i.sessionIdle ? 'sliding, ' + i.sessionIdle + ' idle' : 'fixed'),
      h('td', {}, link(instURL(i.id) + '/sessions', 'sessions'), ' · ', link(instURL(i.id) + '/dlq', 'DLQ'), ' · ',
        link('/console/live?instance=' + esc(i.id), 'live'))))));
}

function crumbs(id, ...rest) {
  return h('div', { class: 'crumbs' }, link('/console/instances', 'instances'), ' / ', link(instURL(id) + '/sessions', id), rest.map((r) => [' / ', r]));
}

async function sessionsPage(id, q) {
  const cursor = q.get('cursor') || '';
  const soft = (p) => api('GET', p).catch((e) => { if (e.status === 401) throw e; return null; }); // optional blocks
  const [page, circuit, held] = await Promise.all([api('GET', '/instances/' + esc(id) + '/sessions?limit=50&cursor=' + esc(cursor)),
    soft('/instances/' + esc(id) + '/circuit'), soft('/instances/' + esc(id) + '/held')]);
  const search = h('input', { name: 'id', id: 'search', placeholder: 'session id', size: 40 });
  const form = h('form', { class: 'bar', onsubmit: (e) => { e.preventDefault(); if (search.value) go(sessURL(id, search.value)); } },
    search, h('button', { type: 'submit' }, 'Open'));
  show(crumbs(id, 'sessions'), h('h1', {}, 'Sessions of ' + id),
    h('p', { class: 'muted' }, page.live + ' live sessions · ', link(instURL(id) + '/dlq', 'dead deliveries'), ' · ', link('/console/live?instance=' + esc(id), 'live stream')),
    circuit && circuit.open ? h('p', { class: 'error', id: 'circuit' }, 'The app is not answering (circuit open): ',
      circuit.workers.map((w) => (w.lastError || '') + ' since ' + fmtTime(w.openSince)).join('; ')) : null,
    held && held.sessions && held.sessions.length ? [h('h2', {}, 'Sessions held behind a dead delivery'), h('table', { id: 'held' },
      h('tr', {}, h('th', {}, 'session'), h('th', {}, 'dead delivery'), h('th', {}, 'reason'), h('th', {}, 'since')),
      held.sessions.map((x) => h('tr', {}, h('td', { class: 'mono' }, link(sessURL(id, x.session), x.session)),
        h('td', {}, link(instURL(id) + '/dlq/' + x.dlqSeq, String(x.dlqSeq))), h('td', { class: 'mono' }, x.reason), h('td', {}, fmtTime(x.since)))))] : null,
    form,
    h('table', { id: 'sessions' },
      h('tr', {}, h('th', {}, 'session'), h('th', {}, 'created'), h('th', {}, 'TTL left')),
      page.sessions.map((s) => h('tr', {},
        h('td', { class: 'mono' }, link(sessURL(id, s.id), s.id)), h('td', {}, fmtTime(s.createdAt)), h('td', {}, fmtTTL(s.ttlSeconds))))),
    h('p', {}, cursor ? link(instURL(id) + '/sessions', 'first page') : null, ' ',
      page.next ? link(instURL(id) + '/sessions?cursor=' + esc(page.next), 'next page →') : null));
}

function valueText(v) { return typeof v === 'string' ? v : JSON.stringify(v, null, 1); }

async function sessionPage(id, sid) {
  const base = '/instances/' + esc(id) + '/sessions/' + esc(sid);
  const [s, st] = await Promise.all([api('GET', base), api('GET', base + '/state').catch((e) => ({ error: e }))]);
  const stateTable = st.error ? h('p', { class: 'error' }, st.error.message)
    : st.entries.length === 0 ? h('p', { class: 'muted' }, 'no state')
      : h('table', { id: 'state' },
        h('tr', {}, h('th', {}, 'key'), h('th', {}, 'type'), h('th', {}, 'value'), h('th', {}, 'TTL')),
        st.entries.map((e) => h('tr', {}, h('td', { class: 'mono' }, e.key), h('td', {}, e.type),
          h('td', {}, h('pre', {}, valueText(e.value)), e.truncated ? h('span', { class: 'muted' }, '(truncated)') : null),
          h('td', {}, fmtTTL(e.ttlSeconds)))));
  show(crumbs(id, 'sessions', sid), h('h1', {}, 'Session ', h('span', { class: 'mono', id: 'session-id' }, sid)),
    h('dl', {}, h('dt', {}, 'created'), h('dd', {}, fmtTime(s.createdAt)),
      h('dt', {}, 'TTL left'), h('dd', { id: 'ttl' }, fmtTTL(s.ttlSeconds)),
      h('dt', {}, 'expires'), h('dd', {}, s.expiresAt ? fmtTime(s.expiresAt) : 'never'),
      h('dt', {}, 'elsewhere'), h('dd', {}, link('/console/live?instance=' + esc(id) + '&session=' + esc(sid), 'live stream of this session'), ' · ',
        link(instURL(id) + '/dlq?session=' + esc(sid), 'its dead deliveries'))),
    h('h2', {}, 'Listeners (' + s.listeners.length + ')'),
    s.listeners.length === 0 ? h('p', { class: 'muted' }, 'no listeners') : h('table', { id: 'listeners' },
      h('tr', {}, h('th', {}, 'provider'), h('th', {}, 'action'), h('th', {}, 'route'), h('th', {}, 'matches'), h('th', {}, 'registered')),
      s.listeners.map((l) => h('tr', {}, h('td', {}, l.provider), h('td', {}, l.action), h('td', { class: 'mono' }, l.path),
        h('td', { class: 'mono' }, l.key, l.filters && l.filters.length ? ' + ' + JSON.stringify(l.filters) : ''), h('td', {}, fmtTime(l.createdAt))))),
    h('h2', {}, 'State'), stateTable,
    h('h2', {}, 'Last deliveries'),
    s.deliveries.length === 0 ? h('p', { class: 'muted' }, 'no deliveries yet') : h('table', { id: 'deliveries' },
      h('tr', {}, h('th', {}, 'at'), h('th', {}, 'route'), h('th', {}, 'kind'), h('th', {}, 'status'), h('th', {}, 'attempt'), h('th', {}, 'latency'), h('th', {}, 'error')),
      s.deliveries.map((d) => h('tr', {}, h('td', {}, fmtTime(d.at)), h('td', { class: 'mono' }, d.path), h('td', {}, d.kind),
        h('td', {}, status(d.status), d.code ? ' (' + d.code + ')' : ''), h('td', {}, d.attempt), h('td', {}, fmtMs(d.latencyMs)), h('td', { class: 'mono' }, d.error)))));
}

async function dlqPage(id, q) {
  const sess = q.get('session') || '';
  const path = '/instances/' + esc(id) + '/dlq?limit=100' + (sess ? '&session=' + esc(sess) : '') + (q.get('after') ? '&after=' + esc(q.get('after')) : '');
  const page = await api('GET', path);
  const note = h('p', { class: 'notice', id: 'notice' });
  const replay = async (seq) => {
    try {
      await api('POST', '/instances/' + esc(id) + '/dlq/' + seq + '/replay');
      sessionStorage.setItem('neru.notice', 'Replayed delivery ' + seq + '.');
      route();
    } catch (e) { fail(e); }
  };
  const filter = h('input', { name: 'session', placeholder: 'session id', size: 40, value: sess });
  show(crumbs(id, 'DLQ'), h('h1', {}, 'Dead deliveries of ' + id), note,
    h('form', { class: 'bar', onsubmit: (e) => { e.preventDefault(); go(instURL(id) + '/dlq' + (filter.value ? '?session=' + esc(filter.value) : '')); } },
      filter, h('button', { type: 'submit' }, 'Filter')),
    page.deliveries.length === 0 ? h('p', { class: 'muted', id: 'dlq-empty' }, 'The DLQ is empty.') : h('table', { id: 'dlq' },
      h('tr', {}, h('th', {}, 'seq'), h('th', {}, 'died'), h('th', {}, 'session'), h('th', {}, 'route'), h('th', {}, 'attempts'), h('th', {}, 'reason'), h('th', {}, '')),
      page.deliveries.map((d) => h('tr', { 'data-seq': d.seq },
        h('td', {}, link(instURL(id) + '/dlq/' + d.seq, String(d.seq))), h('td', {}, fmtTime(d.died)),
        h('td', { class: 'mono' }, link(sessURL(id, d.sessionId), d.sessionId)), h('td', { class: 'mono' }, d.path),
        h('td', {}, d.attempts), h('td', { class: 'mono' }, d.reason),
        h('td', {}, link(instURL(id) + '/dlq/' + d.seq, 'inspect'), ' ', h('button', { type: 'button', class: 'replay', onclick: () => replay(d.seq) }, 'Replay'))))),
    page.next ? h('p', {}, link(instURL(id) + '/dlq?after=' + page.next + (sess ? '&session=' + esc(sess) : ''), 'next page →')) : null);
  const n = sessionStorage.getItem('neru.notice');
  if (n) { note.textContent = n; sessionStorage.removeItem('neru.notice'); }
}

async function deadPage(id, seq) {
  const d = await api('GET', '/instances/' + esc(id) + '/dlq/' + esc(seq));
  const replay = async () => {
    try {
      await api('POST', '/instances/' + esc(id) + '/dlq/' + d.seq + '/replay');
      sessionStorage.setItem('neru.notice', 'Replayed delivery ' + d.seq + '.');
      go(instURL(id) + '/dlq');
    } catch (e) { fail(e); }
  };
  show(crumbs(id, link(instURL(id) + '/dlq', 'DLQ'), String(d.seq)), h('h1', {}, 'Dead delivery ' + d.seq),
    h('dl', {}, ...[['delivery id', d.id], ['session', link(sessURL(id, d.sessionId), d.sessionId)], ['listener', d.listenerId], ['route', d.path],
      ['kind', d.kind], ['accepted', fmtTime(d.acceptedAt)], ['died', fmtTime(d.died)], ['attempts', d.attempts], ['reason', d.reason]]
      .map(([k, v]) => [h('dt', {}, k), h('dd', { class: 'mono' }, v)])),
    h('p', {}, h('button', { type: 'button', id: 'replay', onclick: replay }, 'Replay')),
    d.headers ? [h('h2', {}, 'Headers'), h('pre', {}, JSON.stringify(d.headers, null, 2))] : null,
    h('h2', {}, 'Body'), h('pre', { id: 'body' }, typeof d.body === 'string' ? d.body : JSON.stringify(d.body, null, 2)));
}

function livePage(q) {
  const inst = q.get('instance') || '', sess = q.get('session') || '';
  const fi = h('input', { name: 'instance', placeholder: 'instance', value: inst });
  const fs = h('input', { name: 'session', placeholder: 'session', size: 40, value: sess });
  const state = h('span', { class: 'muted', id: 'live-state' }, 'connecting…');
  const rows = h('tbody', {});
  const table = h('table', { id: 'live' },
    h('thead', {}, h('tr', {}, h('th', {}, 'time'), h('th', {}, 'instance'), h('th', {}, 'what'), h('th', {}, 'session'), h('th', {}, 'route'),
      h('th', {}, 'status'), h('th', {}, 'latency'), h('th', {}, 'attempt'), h('th', {}, 'outcome'))), rows);
  show(h('h1', {}, 'Live stream'),
    h('form', { class: 'bar', onsubmit: (e) => {
      e.preventDefault();
      const p = new URLSearchParams();
      if (fi.value) p.set('instance', fi.value);
      if (fs.value) p.set('session', fs.value);
      go('/console/live' + (p.toString() ? '?' + p : ''));
    } }, fi, fs, h('button', { type: 'submit' }, 'Filter'), state),
    table);
  const p = new URLSearchParams();
  if (inst) p.set('instance', inst);
  if (sess) p.set('session', sess);
  stream('/tail?' + p, (ev) => {
    const what = ev.type === 'webhook' ? ev.kind + ' → ' + ev.listeners + ' listener' + (ev.listeners === 1 ? '' : 's') : ev.kind || 'delivery';
    rows.prepend(h('tr', { class: 'ev-' + ev.type },
      h('td', {}, new Date(ev.at).toLocaleTimeString()), h('td', { class: 'mono' }, ev.instance), h('td', {}, what),
      h('td', { class: 'mono' }, ev.session ? link(sessURL(ev.instance, ev.session), ev.session) : ''), h('td', { class: 'mono' }, ev.route),
      h('td', {}, ev.status || ''), h('td', {}, fmtMs(ev.latencyMs)), h('td', {}, ev.attempt || ''),
      h('td', {}, status(ev.outcome), ev.error ? h('span', { class: 'muted' }, ' ' + ev.error) : '')));
    while (rows.children.length > 500) rows.lastChild.remove();
  }, () => { state.textContent = 'watching'; state.id = 'live-ready'; }).then(() => { state.textContent = 'stream ended'; }, fail);
}

// ---- routing ----

function go(url, replace) {
  if (replace) history.replaceState(null, '', url); else history.pushState(null, '', url);
  route();
}

function route() {
  if (pageAbort) pageAbort.abort();
  pageAbort = new AbortController();
  document.getElementById('logout').hidden = !sessionStorage.getItem(TOKEN);
  const q = new URLSearchParams(location.search);
  const parts = location.pathname.replace(/^\/console\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [a, id, b, c] = parts;
  let page;
  if (a === 'login') page = () => loginPage(q);
  else if (a === 'live') page = () => livePage(q);
  else if (!a || (a === 'instances' && !id)) page = instancesPage;
  else if (a === 'instances' && b === 'sessions' && c !== undefined) page = () => sessionPage(id, c);
  else if (a === 'instances' && b === 'dlq' && c !== undefined) page = () => deadPage(id, c);
  else if (a === 'instances' && b === 'dlq') page = () => dlqPage(id, q);
  else if (a === 'instances') page = () => sessionsPage(id, q);
  else page = () => { throw new HTTPError(404, { message: 'no such page: ' + location.pathname }); };
  document.title = 'neru · ' + (parts.join(' / ') || 'instances');
  Promise.resolve().then(page).catch(fail);
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-nav]');
  if (!a || e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  go(a.getAttribute('href'));
});
document.getElementById('logout').addEventListener('click', () => { sessionStorage.removeItem(TOKEN); go('/console/login', true); });
window.addEventListener('popstate', route);
route();
