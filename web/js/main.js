// main.js - the page: the session and what is drawn of it, lessons, the
// timeline, the URL (#/s/ID or #/s/ID/lesson/NAME/step/N, so a reload or a
// shared link shows the same thing), keyboard shortcuts, large type.
import { api, ApiError } from './api.js';
import { renderGraph } from './graph.js';
import { WalkPlayer } from './walk.js';
import { setupForm } from './forms.js';

const $ = (id) => document.getElementById(id);
const app = { id: null, state: null, graph: null, lesson: null, step: 0, moves: 0, redo: [] };
const player = new WalkPlayer({
  list: $('walk-steps'), tally: $('walk-tally'), graph: () => app.graph, playButton: $('walk-play'),
});
const form = setupForm($('op-form'), $('op-kind'), $('op-fields'), () => app.state);

function say(text, cls = '') {
  const m = $('op-message');
  m.textContent = text;
  m.className = 'message ' + cls;
}

// ---- one thing at a time ----
// Every action that talks to the daemon runs through run(): actions queue up
// and run one after another (so four quick presses of → make four steps), and
// while any is queued or running <main aria-busy="true"> and
// <body data-busy="true"> say the page is not final yet (tests wait on it).
let queue = Promise.resolve();
let pending = 0;

function setBusy(on) {
  document.body.dataset.busy = on ? 'true' : 'false';
  document.querySelector('main').setAttribute('aria-busy', on ? 'true' : 'false');
}

function run(fn) {
  pending++;
  setBusy(true);
  const p = queue.then(fn).catch((e) => {
    if (e instanceof ApiError) say(`refused: ${e.message}` + (e.problem.field ? ` (field ${e.problem.field})` : ''), 'error');
    else { say(String(e), 'error'); console.error(e); }
  }).finally(() => { if (--pending === 0) setBusy(false); });
  queue = p;
  return p;
}

function describe(op) {
  const parts = [op.op];
  for (const k of ['pid', 'addr', 'len', 'prot', 'advice', 'pfn', 'name']) if (k in op) parts.push(`${k}=${op[k]}`);
  if (op.flags) parts.push(op.flags.join('|'));
  if ('write' in op) parts.push(op.write ? 'write' : 'read');
  return parts.join(' ');
}

function setHash() {
  let h = `#/s/${app.id}`;
  if (app.lesson) h += `/lesson/${app.lesson.name}/step/${app.step}`;
  if (location.hash !== h) history.replaceState(null, '', h);
}

async function refresh() {
  if (!app.id) return;
  const [st, chk, journal] = await Promise.all([api.state(app.id), api.check(app.id), api.journal(app.id)]);
  app.state = st;
  $('version').textContent = `session ${app.id} · op ${st.version} · ${st.config.mode}${st.config.zero_page ? '' : ' · no zero page'}`;
  const c = $('check-status');
  c.className = 'check ' + (chk.ok ? 'ok' : 'bad');
  c.textContent = chk.ok ? 'invariants hold' : `${chk.violations.length} violation(s)`;
  c.title = chk.violations.map((v) => `${v.what}: ${v.detail}`).join('\n');
  c.dataset.violations = chk.violations.map((v) => v.what).join(' ');
  renderTables(st);
  renderTimeline(journal.ops, st.version);
  await fillSessions();
  fillPfnPicker(st);
  form.render();
  app.graph = await renderGraph($('graph'), st, { hover: showDetails, select: selectObject });
  if (chk.ok && document.getElementById('violations')) {
    $('details').className = 'muted';
    $('details').textContent = 'Hover or click any object.';
  }
  if (!chk.ok) {
    const d = $('details');
    d.replaceChildren();
    const h = document.createElement('div');
    h.id = 'violations';
    h.textContent = chk.violations.map((v) => `✗ ${v.what}: ${v.detail}`).join('\n');
    h.style.whiteSpace = 'pre-wrap';
    d.appendChild(h);
  }
  renderLesson(journal);
  setHash();
}

function renderTables(st) {
  const tb = $('frames').querySelector('tbody');
  tb.replaceChildren();
  for (const f of st.frames) {
    const tr = document.createElement('tr');
    tr.dataset.pfn = f.pfn;
    const map = f.mapping.kind === 'anon_vma' ? `anon_vma #${f.mapping.id}` : f.mapping.kind === 'file' ? `file #${f.mapping.id}` : '—';
    for (const t of [f.pfn, map, f.index, f.mapcount, f.refcount, f.flags.join(' ')]) {
      const td = document.createElement('td');
      td.textContent = t;
      tr.appendChild(td);
    }
    tr.addEventListener('click', () => { $('walk-pfn').value = f.pfn; selectObject(`pfn${f.pfn}`); });
    tb.appendChild(tr);
  }
  const pt = $('pagetables');
  pt.replaceChildren();
  for (const p of st.processes) {
    const h = document.createElement('h3');
    h.textContent = `pid ${p.pid}: ${p.ptes.length} PTEs, rss anon ${p.rss.anon} file ${p.rss.file} shmem ${p.rss.shmem} swap ${p.rss.swap}`;
    pt.appendChild(h);
    const t = document.createElement('table');
    t.className = 'ptes';
    t.dataset.pid = p.pid;
    t.innerHTML = '<thead><tr><th>address</th><th>maps</th><th>bits</th></tr></thead>';
    const body = document.createElement('tbody');
    for (const e of p.ptes) {
      const tr = document.createElement('tr');
      const what = e.present ? (e.zero ? 'zero page' : `pfn ${e.pfn}`) : `swap slot ${e.swap}`;
      const bits = e.present ? [e.write ? 'W' : 'RO', e.dirty ? 'dirty' : '', e.young ? 'young' : ''].filter(Boolean).join(' ') : (e.exclusive ? 'exclusive' : '');
      for (const x of [e.addr, what, bits]) {
        const td = document.createElement('td');
        td.textContent = x;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    t.appendChild(body);
    pt.appendChild(t);
  }
}

function renderTimeline(ops, version) {
  const ol = $('timeline');
  ol.replaceChildren();
  for (const e of ops) {
    const li = document.createElement('li');
    li.value = e.seq;
    li.classList.toggle('current', e.seq === version);
    const r = e.result;
    li.textContent = `${describe(e.op)} → ${r.ok ? (r.fault || 'ok') : r.error}`;
    const ev = document.createElement('div');
    ev.className = 'events';
    ev.textContent = r.events.map((x) => x.fn).join(' → ');
    li.appendChild(ev);
    li.addEventListener('click', () => li.classList.toggle('open'));
    ol.appendChild(li);
  }
  ol.lastElementChild?.scrollIntoView({ block: 'nearest' });
}

function fillPfnPicker(st) {
  const sel = $('walk-pfn');
  const keep = sel.value;
  sel.replaceChildren();
  for (const f of st.frames) {
    const o = document.createElement('option');
    o.value = o.textContent = f.pfn;
    sel.appendChild(o);
  }
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

function showDetails(id, meta) {
  if (!meta) return;
  const d = $('details');
  d.className = '';
  d.textContent = JSON.stringify(meta.data, null, 1).slice(0, 1500);
  document.querySelectorAll('#frames tr.hl').forEach((r) => r.classList.remove('hl'));
  if (meta.kind === 'frame') document.querySelector(`#frames tr[data-pfn="${meta.data.pfn}"]`)?.classList.add('hl');
}

function selectObject(id) {
  if (!app.graph) return;
  app.graph.highlight(id);
  showDetails(id, app.graph.info[id]);
  if (id.startsWith('pfn')) $('walk-pfn').value = id.slice(3);
}

async function applyOps(ops) {
  const r = await api.ops(app.id, ops);
  const last = r.results[r.results.length - 1];
  if (last && !last.ok) say(`the simulated kernel answered ${last.error}: ${last.reason}`, 'kernel');
  else if (last) say(`${describe(last.op)}: ${last.fault || 'ok'} (${last.events.length} kernel steps)`);
  return r;
}

// ---- sessions ----

async function fillSessions() {
  const list = await api.sessions();
  const sel = $('session-picker');
  sel.replaceChildren();
  for (const s of list) {
    const o = document.createElement('option');
    o.value = s.id;
    o.textContent = `#${s.id} ${s.name} (${s.mode}, op ${s.version})`;
    sel.appendChild(o);
  }
  if (app.id) sel.value = app.id;
}

async function openSession(id, lessonName = null, step = 0) {
  app.id = id;
  app.redo = [];
  app.lesson = lessonName ? await api.lesson(lessonName) : null;
  app.step = 0;
  player.clear();
  $('lesson-panel').hidden = !app.lesson;
  // a URL's step is shown as the session has it: ops made after that step
  // (a walk panel's try_to_unmap, the form) stay until Next or Back.
  if (app.lesson) await gotoStep(step, { keepExtra: true });
  await refresh();
}

// ---- lessons ----
// The lesson's position is always checked against the session's journal:
// the session is on the lesson's path at step n when its first opsBefore(n)
// ops are the lesson's.  Any other op (from the walk panel or the form) is
// off the path; moving to a step rewinds to the last op the journal shares
// with the lesson and applies the lesson's ops from there.

const lessonOps = () => app.lesson.steps.filter((s) => s.op).map((s) => s.op);
const opsBefore = (n) => app.lesson.steps.slice(0, n).filter((s) => s.op).length;

function sameOp(want, got) {
  if (!got || want.op !== got.op) return false;
  return Object.keys(want).every((k) => JSON.stringify(want[k]) === JSON.stringify(got[k]));
}

// How many of the journal's first ops are the lesson's.
function sharedPrefix(journalOps) {
  const ops = lessonOps();
  let i = 0;
  while (i < ops.length && i < journalOps.length && sameOp(ops[i], journalOps[i].op)) i++;
  return i;
}

async function gotoStep(n, { keepExtra = false } = {}) {
  const steps = app.lesson.steps;
  n = Math.max(0, Math.min(n, steps.length));
  const want = opsBefore(n);
  const journal = await api.journal(app.id);
  const shared = sharedPrefix(journal.ops);
  const onPath = journal.version === want ? shared >= want : keepExtra && shared === want;
  if (!onPath) {
    const keep = Math.min(shared, want);
    if (journal.version > keep) await api.rewind(app.id, keep);
    const missing = lessonOps().slice(keep, want);
    if (missing.length) await applyOps(missing);
  }
  app.step = n;
  const hint = n > 0 ? steps[n - 1].walk : undefined;
  if (hint !== undefined) $('walk-pfn').dataset.hint = hint;
}

// The explanation for step n: the step's own, or, for a step inside a group
// of ops that one explanation covers, the group's with where in it we are.
function explanation(n) {
  const steps = app.lesson.steps;
  if (n === 0) return { text: app.lesson.summary, group: '' };
  let first = n - 1;
  while (first > 0 && !steps[first].explain) first--;
  let last = first;
  while (last + 1 < steps.length && !steps[last + 1].explain) last++;
  const text = steps[first].explain || '';
  const size = last - first + 1;
  const group = size > 1 ? `step ${n - first} of the ${size} in this group (steps ${first + 1}–${last + 1})` : '';
  return { text, group };
}

function renderLesson(journal) {
  if (!app.lesson) return;
  const steps = app.lesson.steps;
  const n = app.step;
  $('lesson-title').textContent = app.lesson.title;
  $('lesson-pos').textContent = `step ${n} of ${steps.length}`;
  const { text, group } = explanation(n);
  $('lesson-explain').textContent = text;
  $('lesson-group').textContent = group;
  $('lesson-group').hidden = !group;
  const want = opsBefore(n);
  const extra = journal.version - want;
  const off = sharedPrefix(journal.ops) < want || extra !== 0;
  const note = $('lesson-note');
  note.hidden = !off;
  note.textContent = !off ? ''
    : extra > 0 && sharedPrefix(journal.ops) >= want
      ? `The session has ${extra === 1 ? 'an op' : `${extra} ops`} after this lesson step (from the walk panel or the form), so the graph is not the lesson's step ${n} any more. Next or Back rewinds ${extra === 1 ? 'it' : 'them'} and goes on with the lesson.`
      : `The session is off the lesson's path. Next or Back rewinds it to the lesson's ops.`;
}

// Presses add up: each queues a move, and the first to run takes all the
// presses made so far (app.moves), the others find nothing left to do.
function lessonMove(delta) {
  if (!app.lesson) return;
  app.moves += delta;
  run(async () => {
    const moves = app.moves;
    app.moves = 0;
    if (!app.lesson) return;
    const target = Math.max(0, Math.min(app.step + moves, app.lesson.steps.length));
    const journal = await api.journal(app.id);
    if (target === app.step && journal.version === opsBefore(target) && sharedPrefix(journal.ops) >= opsBefore(target)) return;
    const forward = target > app.step;
    player.clear();
    await gotoStep(target);
    await refresh();
    const hint = $('walk-pfn').dataset.hint;
    if (hint && forward && app.step > 0 && app.lesson.steps[app.step - 1].walk !== undefined) {
      $('walk-pfn').value = hint;
    }
  });
}

async function loadLesson(name) {
  const l = await api.lesson(name);
  const s = await api.create({ name: l.name, mode: l.config.mode || 'normal', zero_page: l.config.zero_page !== false });
  await openSession(s.id, name, 0);
}

// ---- walks ----

function startWalk() {
  const pfn = $('walk-pfn').value;
  if (!pfn) return;
  const kind = $('walk-kind').value;
  run(async () => {
    if (kind === 'walk') {
      player.load(await api.walk(app.id, pfn), 'rmap_walk');
    } else {
      const r = await applyOps([{ op: kind, pfn: Number(pfn) }]);
      await refresh();
      const res = r.results[0];
      if (res.walk) player.load(res.walk, kind + (kind === 'folio_referenced' ? ` (referenced ${res.referenced})` : ''));
    }
  });
}

// ---- wiring ----

$('op-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const op = form.read();
  run(async () => { app.redo = []; await applyOps([op]); await refresh(); });
});
$('new-session').addEventListener('click', () => run(async () => {
  const s = await api.create({ name: 'playground', mode: $('new-legacy').checked ? 'legacy' : 'normal' });
  await openSession(s.id);
}));
$('session-picker').addEventListener('change', (e) => { const id = Number(e.target.value); run(() => openSession(id)); });
$('load-lesson').addEventListener('click', () => {
  const name = $('lesson-picker').value;
  if (name) run(() => loadLesson(name));
});
$('lesson-next').addEventListener('click', () => lessonMove(1));
$('lesson-back').addEventListener('click', () => lessonMove(-1));
$('walk-start').addEventListener('click', startWalk);
$('walk-step').addEventListener('click', () => player.step());
$('walk-back').addEventListener('click', () => player.back());
$('walk-play').addEventListener('click', () => player.toggle());
$('large-type').addEventListener('click', () => document.body.classList.toggle('large'));
$('step-back').addEventListener('click', () => run(async () => {
  if (!app.state || app.state.version === 0) return;
  const j = await api.journal(app.id, app.state.version - 1);
  app.redo.push(j.ops[0].op);
  await api.rewind(app.id, app.state.version - 1);
  await refresh();
}));
$('step-forward').addEventListener('click', () => run(async () => {
  const op = app.redo.pop();
  if (op) { await applyOps([op]); await refresh(); }
}));
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.altKey || e.metaKey) return;
  const t = e.target;
  // typing goes to the field; space and enter press a focused button or link
  if (['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName) || t.isContentEditable) return;
  if ((e.key === ' ' || e.key === 'Enter') && t !== document.body && t !== document.documentElement
      && (['BUTTON', 'A', 'SUMMARY'].includes(t.tagName) || t.getAttribute?.('role') === 'button')) return;
  if (e.key === 'ArrowRight' || e.key === ' ') { e.preventDefault(); if (app.lesson) lessonMove(1); else player.step(); }
  else if (e.key === 'ArrowLeft') { e.preventDefault(); if (app.lesson) lessonMove(-1); else player.back(); }
  else if (e.key === 'p' || e.key === 'P') player.toggle();
  else if (e.key === 'l' || e.key === 'L') document.body.classList.toggle('large');
});

// #/s/ID or #/s/ID/lesson/NAME/step/N, from a reload, a shared link or one
// pasted into this tab (hashchange)
async function openFromHash() {
  const m = location.hash.match(/^#\/s\/(\d+)(?:\/lesson\/([\w-]+)\/step\/(\d+))?/);
  if (!m) return false;
  await openSession(Number(m[1]), m[2] || null, Number(m[3] || 0));
  return true;
}

window.addEventListener('hashchange', () => run(openFromHash));

async function boot() {
  const lessons = await api.lessons();
  for (const l of lessons) {
    const o = document.createElement('option');
    o.value = l.name;
    o.textContent = l.title;
    $('lesson-picker').appendChild(o);
  }
  if (await openFromHash()) return;
  const sessions = await api.sessions();
  if (sessions.length) await openSession(sessions[sessions.length - 1].id);
  else await loadLesson('fork-cow');
}

run(boot);
