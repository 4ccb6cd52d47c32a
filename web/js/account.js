// account.js - the page with --auth on: the login form, who is logged in,
// "my sessions" and the share button; the class page is classpage.js.
// With --auth off (/me says so) none of it shows and the page is the
// single-user page it always was.  A share link (?share=TOKEN) shows its
// one session read-only, with no account.
import { call, ApiError, setShare } from './api.js';
import { classButton, beginClass, stepHook, walkHook } from './classpage.js';

const $ = (id) => document.getElementById(id);

// el('button', {text: 'Open', onclick}, child...): a node, never HTML text
export function el(tag, props = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...kids.filter((x) => x !== null && x !== undefined));
  return e;
}

// ms, or less when signal aborts
export const pause = (ms, signal) => new Promise((res) => {
  const t = setTimeout(res, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); res(); }, { once: true });
});

export const when = (secs) => new Date(secs * 1000).toLocaleString();

// ---- the panel under the header: one of sessions, class, share ----

let shown = null;

export function openPanel(kind, title, ...content) {
  const p = $('panel');
  shown = kind;
  p.dataset.kind = kind;
  p.replaceChildren(el('div', { class: 'panel-head' }, el('h2', { text: title }),
    el('button', { class: 'panel-close', text: 'Close', title: 'close this panel', onclick: closePanel })), ...content);
  p.hidden = false;
  for (const b of document.querySelectorAll('#account button[data-panel]')) {
    b.setAttribute('aria-pressed', String(b.dataset.panel === kind));
  }
}

export function closePanel() {
  shown = null;
  $('panel').hidden = true;
  for (const b of document.querySelectorAll('#account button[data-panel]')) b.setAttribute('aria-pressed', 'false');
}

// a panel's button: shows it, or hides it when it is the one shown
function panelButton(kind, text, render, page) {
  return el('button', { text, dataset: { panel: kind }, 'aria-pressed': 'false',
    onclick: () => (shown === kind ? closePanel() : page.run(render)) });
}

// ---- login ----

function showLogin() {
  document.body.dataset.auth = 'login';
  $('login').hidden = false;
  $('login-name').focus();
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const msg = $('login-message');
    msg.textContent = '';
    try {
      await call('POST', '/api/v1/login', { name: $('login-name').value, password: $('login-password').value });
      location.reload();
    } catch (e) {
      msg.textContent = e instanceof ApiError && e.status === 401 ? 'No such user, or not that password.'
        : e instanceof ApiError ? e.message : String(e);
    }
  });
}

// ---- who is logged in ----

export const account = { me: null, page: null };

const roles = (me) => me.classes.map((c) => `${c.role} of ${c.name}`).join(', ');

function showWho(page) {
  const me = account.me;
  const nav = $('account');
  const name = me.display ? `${me.display} (${me.name})` : me.name;
  nav.replaceChildren(
    el('span', { id: 'who', text: `Logged in as ${name}${me.admin ? ' · admin' : ''}${me.classes.length ? ` · ${roles(me)}` : ''}` }),
    panelButton('sessions', 'My sessions', () => showSessions(page), page),
    ...me.classes.map((c) => classButton(page, c, panelButton)),
    el('button', { id: 'share-button', text: 'Share', title: 'a read-only link to the session shown',
      dataset: { panel: 'share' }, 'aria-pressed': 'false',
      onclick: () => (shown === 'share' ? closePanel() : page.run(() => showShare(page))) }),
    el('button', { id: 'logout', text: 'Log out', onclick: logout }));
  nav.hidden = false;
}

async function logout() {
  await call('POST', '/api/v1/logout');
  location.replace('/');
}

// ---- my sessions ----

export const mine = (s) => s.owner === account.me.id;

// Whose the session shown is decides what the page lets one do: another's
// (a live lesson, a class's published lesson, a student's session seen by
// their staff) is read-only.
async function opening(page, id) {
  // a live lesson followed is the instructor's (an admin's too: read-only)
  const s = page.following ? null : (await call('GET', '/api/v1/sessions')).find((x) => x.id === id);
  page.readonly = page.following !== null || (!account.me.admin && !(s && mine(s)));
  document.body.dataset.readonly = String(page.readonly);
  $('share-button').disabled = page.readonly;
  if (shown === 'share') closePanel();
}

function sessionRow(page, s, own) {
  const open = el('button', { text: 'Open', onclick: () => page.run(async () => {
    if (page.following) page.unfollow();
    closePanel();
    await page.openSession(s.id);
  }) });
  const del = own ? el('button', { text: 'Delete', onclick: () => {
    if (!window.confirm(`Delete session #${s.id} ${s.name} and its journal? This cannot be undone.`)) return;
    page.run(async () => {
      await call('DELETE', `/api/v1/sessions/${s.id}`);
      if (page.app.id === s.id) page.app.id = null;
      await showSessions(page);
    });
  } }) : null;
  return el('tr', { dataset: { session: s.id } }, el('td', { text: `#${s.id}` }), el('td', { text: s.name }),
    el('td', { text: `op ${s.version}` }), el('td', { text: s.visibility }),
    el('td', {}, open, del));
}

function sessionTable(page, list, own) {
  return el('table', { class: 'sessions', dataset: { own: String(own) } },
    el('thead', {}, el('tr', {}, ...['session', 'name', 'version', 'visible to', ''].map((t) => el('th', { text: t })))),
    el('tbody', {}, ...list.map((s) => sessionRow(page, s, own))));
}

async function showSessions(page) {
  const list = await call('GET', '/api/v1/sessions');
  const own = list.filter(mine);
  const others = list.filter((s) => !mine(s));
  const make = el('button', { text: 'New session', onclick: () => page.run(async () => {
    const s = await call('POST', '/api/v1/sessions', { name: 'playground' });
    if (page.following) page.unfollow();
    closePanel();
    await page.openSession(s.id);
  }) });
  openPanel('sessions', 'My sessions',
    own.length ? sessionTable(page, own, true) : el('p', { class: 'muted', text: 'You have no session yet.' }),
    el('div', { class: 'row' }, make),
    others.length ? el('h3', { text: 'Others you may read (a live lesson, a class\'s lessons, your students\')' }) : null,
    others.length ? sessionTable(page, others, false) : null);
}

// ---- share links ----

const EXPIRIES = [['', 'never'], ['3600', 'in an hour'], ['86400', 'in a day'], ['604800', 'in a week']];

async function showShare(page) {
  const app = page.app;
  const v = app.view ?? app.latest;
  const pin = el('input', { type: 'checkbox', id: 'share-pin', checked: true });
  const expiry = el('select', { id: 'share-expiry', 'aria-label': 'the link expires' },
    ...EXPIRIES.map(([val, text]) => el('option', { value: val, text })));
  const link = el('input', { id: 'share-link', readonly: true, 'aria-label': 'the share link', size: 60 });
  const copy = el('button', { text: 'Copy', onclick: () => { link.select(); navigator.clipboard?.writeText(link.value).catch(() => {}); } });
  const out = el('p', { id: 'share-out', hidden: true }, 'Anyone with this link reads the session, with no account: ', link, copy);
  const create = el('button', { id: 'share-create', text: 'Create link', onclick: () => page.run(async () => {
    const body = {};
    if (pin.checked) body.pin = v;
    if (expiry.value) body.expires_in = Number(expiry.value);
    const sh = await call('POST', `/api/v1/sessions/${app.id}/shares`, body);
    link.value = location.origin + sh.page;
    out.hidden = false;
    await listShares(page, list);
  }) });
  const list = el('tbody');
  openPanel('share', `Share session #${app.id}`,
    el('div', { class: 'row' }, el('label', {}, pin, ` pinned to op ${v} (what is shown now)`),
      el('label', {}, 'expires ', expiry), create),
    out, el('table', { class: 'shares' }, el('thead', {}, el('tr', {},
      ...['link', 'shows', 'made', 'expires', ''].map((t) => el('th', { text: t })))), list));
  await listShares(page, list);
}

async function listShares(page, body) {
  const id = page.app.id;
  const { shares } = await call('GET', `/api/v1/sessions/${id}/shares`);
  body.replaceChildren(...shares.map((sh) => el('tr', { dataset: { share: sh.id } },
    el('td', { text: `#${sh.id}` }), el('td', { text: sh.pin === null ? 'the latest op' : `op ${sh.pin}` }),
    el('td', { text: when(sh.created) }), el('td', { text: sh.expires ? when(sh.expires) : 'never' }),
    el('td', {}, sh.revoked ? 'revoked' : el('button', { text: 'Revoke', onclick: () => page.run(async () => {
      await call('DELETE', `/api/v1/sessions/${id}/shares/${sh.id}`);
      await listShares(page, body);
    }) })))));
}

// ---- a share link: one session, read-only, no account ----

async function openShared(page, token) {
  setShare(token);
  page.share = page.readonly = true;
  document.body.dataset.readonly = 'true';
  document.body.dataset.auth = 'share';
  const nav = $('account');
  nav.replaceChildren(el('span', { id: 'who', text: 'A shared link: read-only, no account needed' }));
  nav.hidden = false;
  const m = location.hash.match(/^#\/s\/(\d+)/);
  if (!m) {
    page.say('This share link names no session.', 'error');
    return;
  }
  await page.openSession(Number(m[1]));
}

// What boot() goes on with: stop (the login form, or a share link shown),
// mine(session) for the sessions to choose among, begin() to follow a
// live lesson (true when it does).
export async function startAccount(page) {
  account.page = page;
  const token = new URLSearchParams(location.search).get('share');
  if (token) {
    await openShared(page, token);
    return { stop: true };
  }
  let me;
  try {
    me = await call('GET', '/api/v1/me');
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    showLogin();
    return { stop: true };
  }
  if (me.auth === 'off') return { mine: () => true };
  account.me = me;
  document.body.dataset.auth = 'user';
  page.opening = (id) => opening(page, id);
  page.stepped = () => stepHook(page);
  page.walked = () => walkHook(page);
  showWho(page);
  return { mine, begin: () => beginClass(page, me) };
}
