// main.js - the page: the session and what is drawn of it, lessons, the
// timeline, the URL (#/s/ID, #/s/ID/op/N when looking back, or
// #/s/ID/lesson/NAME/step/N, so a reload or a shared link shows the same
// thing), keyboard shortcuts, large type.
import { api, ApiError, hex, withShare } from './api.js';
import { renderGraph, floorPx } from './graph.js';
import { renderDetails } from './details.js';
import { WalkPlayer } from './walk.js';
import { setupForm, replacedByMmap } from './forms.js';
import { index, related } from './links.js';
import { Timeline, describe, describeEntry, stepCount } from './timeline.js';
import { rove, onEnter } from './keys.js';
import { startAccount, pause } from './account.js';
import { patch } from './patch.js';

const $ = (id) => document.getElementById(id);
// view: the op whose state is shown when looking back (null: the latest);
// latest: the session's version
const app = { id: null, state: null, graph: null, lesson: null, step: 0, moves: 0, view: null, latest: 0,
  ix: null, journal: [], selected: null, hovered: null };
const player = new WalkPlayer({
  list: $('walk-steps'), tally: $('walk-tally'), graph: () => app.graph, playButton: $('walk-play'),
  tree: $('walk-tree'), state: () => app.state, heading: $('walk-heading'), changed: () => page.walked?.(),
});
const form = setupForm($('op-form'), $('op-kind'), $('op-fields'), () => app.state);
const timeline = new Timeline({
  list: $('timeline'), slider: $('step-slider'), sliderLabel: $('step-slider-label'), back: $('step-back'),
  forward: $('step-forward'), latest: $('step-latest'), rewind: $('step-rewind'), where: $('step-where'),
}, { go: (v) => run(() => showVersion(v)), rewind: (v) => run(() => rewindTo(v)),
  hover: { enter: (id) => hoverObject(id), leave: (id) => unhoverObject(id) } });

// what account.js (--auth on: login, sessions, class page, share links)
// sees of the page and the hooks it sets: readonly (a session the caller
// may only read), following (the class whose live lesson is shown),
// opening(id) before a session is shown, stepped() after a lesson step,
// walked() after the walk shown starts, steps or ends; walk() is that walk
// as a live lesson shows it, showWalk(w) plays a live lesson's walk
const page = { app, run: (fn) => run(fn), say: (t, c) => say(t, c), openSession: (...a) => openSession(...a),
  readonly: false, following: null, share: false, opening: null, stepped: null, walked: null,
  walk: () => player.live(), showWalk: (w) => showWalk(w) };

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
    if (e instanceof ApiError) {
      say(`The daemon refused this (HTTP ${e.status}${e.problem.field ? `, field '${e.problem.field}'` : ''}): ${e.message}`, 'error');
    }
    else { say(String(e), 'error'); console.error(e); }
  }).finally(() => { if (--pending === 0) setBusy(false); });
  queue = p;
  return p;
}

function setHash() {
  let h = `#/s/${app.id}`;
  if (page.following) h = `#/class/${page.following}`;
  else if (app.lesson) h += `/lesson/${app.lesson.name}/step/${app.step}`;
  else if (app.view !== null) h += `/op/${app.view}`;   // looking back: a link shows that op
  if (location.hash !== h) history.replaceState(null, '', h);
}

async function refresh() {
  if (!app.id) return;
  const journal = await api.journal(app.id);
  // looking back at the latest op is just showing it
  if (app.view !== null && app.view >= journal.version) app.view = null;
  const [st, chk] = await Promise.all([api.state(app.id, app.view), api.check(app.id, app.view)]);
  app.state = st;
  app.latest = journal.version;
  app.ix = index(st);
  app.journal = journal.ops;
  const past = app.view !== null;
  document.body.dataset.view = past ? 'past' : '';
  $('version').textContent = `session ${app.id} · op ${st.version}${past ? ` of ${journal.version} (looking back)` : ''} · `
    + `${st.config.mode}${st.config.zero_page ? '' : ' · no zero page'}`;
  $('op-form').querySelector('button[type=submit]').title = past
    ? `applies at op ${st.version}: the session is rewound to it first (asks before)` : '';
  const c = $('check-status');
  c.className = 'check ' + (chk.ok ? 'ok' : 'bad');
  c.textContent = chk.ok ? 'invariants hold' : `${chk.violations.length} violation(s)`;
  c.title = chk.violations.map((v) => `${v.what}: ${v.detail}`).join('\n');
  c.dataset.violations = chk.violations.map((v) => v.what).join(' ');
  // the violations have their own box in the (sticky) header: always in view
  const box = $('violations');
  box.hidden = chk.ok;
  box.replaceChildren(...chk.violations.map((v) => {
    const li = document.createElement('li');
    li.dataset.what = v.what;
    const b = document.createElement('b');
    b.textContent = v.what;
    li.append(b, `: ${v.detail}`);
    return li;
  }));
  renderTables(st);
  renderStrips(st);
  timeline.render(journal.ops, st.version, journal.version);
  await fillSessions();
  fillPfnPicker(st);
  form.render();
  app.graph = await renderGraph($('graph'), st, { hover: hoverObject, leave: unhoverObject, select: selectObject,
    session: app.id, violations: chk.violations, selected: () => app.selected });
  player.paint();
  // an object this state no longer holds is no longer selected
  const held = (id) => id.startsWith('op') ? app.journal.some((x) => `op${x.seq}` === id)
    : renderDetails(document.createElement('div'), id, app.ix, app.state, app.graph?.info[id]);
  if (app.selected && !held(app.selected)) app.selected = null;
  if (app.hovered && !held(app.hovered)) app.hovered = null;
  paintHighlight();
  renderLesson(journal);
  // the lesson's text sizes the timeline's box: its current row is brought
  // into view when the frame is laid out (read now, it would lay out twice);
  // the page is busy until then (a hidden tab has no frames: at most 100 ms)
  await new Promise((res) => {
    let done = false;
    const reveal = () => { if (done) return; done = true; placeColumns(); fitExplanation(); timeline.reveal(); res(); };
    requestAnimationFrame(reveal);
    setTimeout(reveal, 100);
  });
  setHash();
  watch();
}

function renderTables(st) {
  const tb = $('frames').querySelector('tbody');
  rove(tb, 'tr[data-obj]', () => frameRows(tb, st));
  const pt = $('pagetables');
  rove(pt, 'tr[data-obj]', () => pteTables(pt, st));
}

function frameRows(tb, st) {
  patch(tb, st.frames, (f) => String(f.pfn), (f) => JSON.stringify(f), frameRow);
}

function frameRow(f) {
  const tr = document.createElement('tr');
  tr.dataset.pfn = f.pfn;
  tr.dataset.obj = `pfn${f.pfn}`;
  hoverable(tr, `pfn${f.pfn}`);
  const map = f.mapping.kind === 'anon_vma' ? `anon_vma #${f.mapping.id}` : f.mapping.kind === 'file' ? `file #${f.mapping.id}` : '—';
  for (const t of [f.pfn, map, hex(f.index), f.mapcount, f.refcount, f.flags.join(' ')]) {
    const td = document.createElement('td');
    td.textContent = t;
    tr.appendChild(td);
  }
  return tr;
}

function pteTables(pt, st) {
  patch(pt, st.processes, (p) => String(p.pid), (p) => JSON.stringify([p.ptes, p.rss]), pteTable);
}

// one process's page table: its heading and its rows
function pteTable(p) {
  const box = document.createElement('div');
  box.className = 'pt';
  const h = document.createElement('h3');
  h.textContent = `pid ${p.pid}: ${p.ptes.length} PTEs, rss anon ${p.rss.anon} file ${p.rss.file} shmem ${p.rss.shmem} swap ${p.rss.swap}`;
  box.appendChild(h);
  const t = document.createElement('table');
  t.className = 'ptes';
  t.dataset.pid = p.pid;
  t.innerHTML = '<thead><tr><th>address</th><th>maps</th><th>bits</th></tr></thead>';
  const body = document.createElement('tbody');
  for (const e of p.ptes) {
    const tr = document.createElement('tr');
    tr.dataset.obj = `pte${p.pid}:${e.addr}`;
    hoverable(tr, tr.dataset.obj);
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
  box.appendChild(t);
  return box;
}

// Each process's VMAs along its address line, in address order: a VMA's
// width grows with the log of its size, a hole between two VMAs is a break
// of fixed width that says how big it is.
function renderStrips(st) {
  const box = $('strips');
  rove(box, '.seg', () => stripRows(box, st));
}

function stripRows(box, st) {
  patch(box, st.processes, (p) => String(p.pid), (p) => JSON.stringify(p.vmas), stripRow);
}

const size = (n) => (n >= 1n << 30n ? `${n >> 30n} GiB` : n >= 1n << 20n ? `${n >> 20n} MiB` : `${n >> 10n} KiB`);

function stripRow(p) {
  const row = document.createElement('div');
  row.className = 'strip';
  row.dataset.pid = p.pid;
  row.dataset.obj = `proc${p.pid}`;
  const name = document.createElement('span');
  name.className = 'strip-pid';
  name.textContent = `pid ${p.pid}`;
  hoverable(name, `proc${p.pid}`);
  row.appendChild(name);
  const line = document.createElement('div');
  line.className = 'line';
  const vmas = [...p.vmas].sort((a, b) => (BigInt(a.start) < BigInt(b.start) ? -1 : 1));
  if (!vmas.length) line.textContent = 'no VMAs';
  vmas.forEach((v, i) => {
    if (i > 0 && BigInt(vmas[i - 1].end) !== BigInt(v.start)) {
      const gap = document.createElement('span');
      gap.className = 'gap';
      gap.textContent = `⋯ ${size(BigInt(v.start) - BigInt(vmas[i - 1].end))} ⋯`;
      gap.title = `unmapped ${vmas[i - 1].end}–${v.start}`;
      line.appendChild(gap);
    }
    const seg = document.createElement('div');
    const shared = v.flags.includes('shared');
    const kind = v.file !== null ? (v.shmem ? 'shmem' : v.file_name) : 'anon';
    seg.className = `seg ${v.file !== null ? 'file' : 'anon'} ${shared ? 'shared' : 'private'}`;
    seg.dataset.obj = `vma${v.id}`;
    seg.dataset.start = v.start;
    seg.dataset.end = v.end;
    seg.dataset.prot = v.prot;
    seg.style.flexGrow = String(1 + Math.log2(v.pages));
    const range = document.createElement('div');
    range.className = 'range';
    range.textContent = `${v.start}–${v.end}`;
    const what = document.createElement('div');
    what.className = 'what';
    what.textContent = `#${v.id} ${v.prot} ${shared ? 'shared' : 'private'} ${kind} · ${v.pages} page${v.pages === 1 ? '' : 's'}`;
    seg.append(range, what);
    hoverable(seg, seg.dataset.obj);
    line.appendChild(seg);
  });
  row.appendChild(line);
  return row;
}

// The frame chosen stays chosen; when it is gone the picker says so and
// which frame it shows instead, never moving silently.
function fillPfnPicker(st) {
  const sel = $('walk-pfn');
  // an empty picker still remembers the frame it had (the note names it)
  const keep = sel.value || $('walk-pfn-note').dataset.missing || '';
  sel.replaceChildren();
  for (const f of st.frames) {
    const o = document.createElement('option');
    o.value = o.textContent = f.pfn;
    sel.appendChild(o);
  }
  if ([...sel.options].some((o) => o.value === keep)) {
    sel.value = keep;
    // a frame said missing from an earlier state is back (or was never gone
    // from this one): the note no longer describes what is shown
    if ($('walk-pfn-note').dataset.missing === keep) pfnNote('');
  } else if (keep !== '') {
    const now = sel.value ? `pfn ${sel.value} is chosen instead` : 'no frame is left to walk';
    pfnNote(`pfn ${keep} is not in this state (${app.view !== null ? `not yet allocated or already freed at op ${st.version}` : 'freed'}): ${now}.`);
    $('walk-pfn-note').dataset.missing = keep;
  }
}

function pfnNote(text) {
  const n = $('walk-pfn-note');
  n.textContent = text;
  n.hidden = !text;
  delete n.dataset.missing;
}

// the walk's frame set by the page (a lesson's step, a click on a frame),
// with the reason in words when it changes the choice
function choosePfn(pfn, why) {
  const sel = $('walk-pfn');
  if (sel.value === String(pfn) || ![...sel.options].some((o) => o.value === String(pfn))) return;
  sel.value = String(pfn);
  pfnNote(`pfn ${pfn} chosen: ${why}.`);
}

// ---- highlighting ----
// Any object (graph node or edge, frame row, PTE row, VMA on the address
// line, timeline row) answers to hover and click: it and everything linked
// to it (links.js) light up everywhere they are shown.  A click selects: the
// selection stays lit when the pointer leaves.

function hoverable(elem, id) {
  elem.addEventListener('mouseenter', () => hoverObject(id));
  elem.addEventListener('mouseleave', () => unhoverObject(id));
  elem.addEventListener('focus', () => hoverObject(id));
  elem.addEventListener('blur', () => unhoverObject(id));
  elem.addEventListener('click', (ev) => { ev.stopPropagation(); selectObject(id); });
  onEnter(elem, () => selectObject(id));
}

function paintHighlight() {
  const id = app.hovered || app.selected;
  const lit = id && app.ix ? related(app.ix, id, app.journal) : new Set();
  for (const e of document.querySelectorAll('[data-obj]')) {
    let on = lit.has(e.dataset.obj);
    if (!on && e.dataset.pfns) on = e.dataset.pfns.split(' ').some((p) => lit.has(`pfn${p}`));
    e.classList.toggle('hl', on);
  }
  document.body.dataset.highlight = id || '';
  showDetails(id);
}

function showDetails(id) {
  const d = $('details');
  if (id?.startsWith('op')) {
    const e = app.journal.find((x) => x.seq === Number(id.slice(2)));
    if (e) { d.className = 'details op'; d.textContent = describeEntry(e); return; }
  }
  if (!id || !renderDetails(d, id, app.ix, app.state, app.graph?.info[id])) {
    d.className = 'muted';
    d.textContent = 'Hover or click any object.';
  }
}

function hoverObject(id) { app.hovered = id; paintHighlight(); }
function unhoverObject(id) { if (app.hovered === id) { app.hovered = null; paintHighlight(); } }

function selectObject(id) {
  app.selected = app.selected === id ? null : id;
  if (id.startsWith('pfn')) choosePfn(id.slice(3), 'the frame clicked');
  paintHighlight();
}

async function applyOps(ops) {
  const r = await api.ops(app.id, ops);
  const last = r.results[r.results.length - 1];
  if (last && !last.ok) say(`the simulated kernel answered ${last.error}: ${last.reason}`, 'kernel');
  else if (last) say(`${describe(last.op)}: ${last.fault || 'ok'} (${stepCount(last.events)} kernel steps)`);
  return r;
}

// ---- live updates ----
// The daemon's event stream for the session says when its version changes
// (an op from another page, curl, a second teacher's laptop).  Each answer
// is one event and then the end of the stream, so we ask again with the
// version we know (?since=); a change is shown through run() like any
// action, after checking that it is not our own op, already shown.  Leaving
// the session aborts the stream.

const live = { id: null, ctl: null };

function watch() {
  if (!app.id || (live.id === app.id && live.ctl)) return;
  if (page.following) return;              // classpage.js follows the lesson itself
  unwatch();
  const ctl = new AbortController();
  live.id = app.id;
  live.ctl = ctl;
  document.body.dataset.live = String(app.id);
  listen(app.id, app.state ? app.state.version : 0, ctl.signal);
}

function unwatch() {
  live.ctl?.abort();
  live.ctl = null;
  live.id = null;
  document.body.dataset.live = '';
}

async function listen(id, since, signal) {
  let cuts = null;          // the history since is in, from the events' ids
  let pending = false;      // one look at the state for a run of events
  while (!signal.aborted) {
    try {
      const from = cuts === null ? `since=${since}` : `since=${since}&cuts=${cuts}`;
      const r = await fetch(withShare(`/api/v1/sessions/${id}/events?${from}`), { signal, headers: { Accept: 'text/event-stream' } });
      if (r.status === 404) return;                              // the session is gone
      if (!r.ok) { await pause(5000, signal); continue; }        // too many streams: try later
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (type === 'deleted') return;
          if (type === 'version' && data) {
            since = JSON.parse(data).version;
            const at = /^id: (\d+)\.\d+$/m.exec(block)?.[1];
            if (at !== undefined) cuts = Number(at);
            if (pending) continue;
            pending = true;
            run(async () => {
              pending = false;
              if (signal.aborted || app.id !== id) return;
              const st = await api.state(id);
              if (st.version === app.latest) return;   // our own op, or already shown
              if (app.view === null) player.clear(STALE);
              say(`the session changed elsewhere: now at op ${st.version}`);
              await refresh();
            });
          }
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      await pause(2000, signal);                                 // the daemon restarts: try again
    }
  }
}

window.addEventListener('pagehide', unwatch);

// ---- sessions ----

async function fillSessions() {
  const list = page.share ? [] : await api.sessions();   // a share link reads its session alone
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

async function openSession(id, lessonName = null, step = 0, view = null) {
  // the form folds while a lesson runs (the lesson and its timeline keep
  // the column); a click on its heading opens it, until another is opened
  if (app.id !== id || (app.lesson?.name ?? null) !== lessonName) $('op-box').open = !lessonName;
  if (app.id !== id) {
    unwatch();
    app.selected = app.hovered = null;
    // the frame chosen in another session means nothing in this one
    $('walk-pfn').replaceChildren();
    pfnNote('');
  }
  app.id = id;
  app.view = view;
  app.lesson = lessonName ? await api.lesson(lessonName) : null;
  app.step = 0;
  if (page.opening) await page.opening(id);
  player.clear();
  $('lesson-panel').hidden = !app.lesson;
  $('lesson-picker').value = app.lesson ? app.lesson.name : '';
  // a URL's step is shown as the session has it: ops made after that step
  // (a walk panel's try_to_unmap, the form) stay until Next or Back.
  if (app.lesson) await gotoStep(step, { keepExtra: true });
  await refresh();
  // a step that names a frame to walk preselects it (after a reload too)
  const hint = app.lesson && app.step > 0 ? app.lesson.steps[app.step - 1].walk : undefined;
  if (hint !== undefined) choosePfn(hint, `the frame step ${app.step} of the lesson walks`);
}

// ---- lessons ----
// The lesson's position is always checked against the session's journal:
// the session is on the lesson's path at step n when its first opsBefore(n)
// ops are the lesson's.  Any other op (from the walk panel or the form) is
// off the path.  A step the journal already holds, with more after it, is
// only looked at (?version=N): Back never cuts the journal, so a student
// stepping back through a teacher's session takes nothing away.  Moving to
// a step the journal does not hold rewinds to the last op it shares with
// the lesson (dropping off-path ops only) and applies the lesson's ops.

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
  app.view = null;
  if (!onPath && shared >= want) app.view = want;
  else if (!onPath && page.readonly) app.view = null;   // not ours to put on the path: shown as it is
  else if (!onPath) {
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
  const shown = app.view ?? journal.version;
  const extra = shown - want;
  const off = sharedPrefix(journal.ops) < want || extra !== 0;
  const note = $('lesson-note');
  note.hidden = !off;
  note.textContent = !off ? ''
    : app.view !== null ? `Looking back at op ${shown}, not at this lesson step: Next or Back returns to the lesson.`
    : extra > 0 && sharedPrefix(journal.ops) >= want
      ? `${extra === 1 ? '1 operation' : `${extra} operations`} after this lesson step: the graph is not the lesson's step ${n} any more. Next or Back rewinds ${extra === 1 ? 'it' : 'them'} and goes on with the lesson.`
      : `The session is off the lesson's path. Next or Back rewinds it to the lesson's ops.`;
}

// In large type a long explanation can take all its column's room from the
// timeline below it: its type steps down, to the picture's own floor at
// that size, until the timeline's current row has room.
function fitExplanation() {
  const ex = $('lesson-explain'), list = $('timeline'), col = $('left');
  ex.style.fontSize = '';
  if (!document.body.classList.contains('large') || !app.lesson) return;
  const floor = Math.min(floorPx(), parseFloat(getComputedStyle(ex).fontSize));
  const short = () => list.clientHeight < (list.querySelector('li.current')?.offsetHeight || 0) + 2
    || col.scrollHeight > col.clientHeight + 1;
  for (let px = parseFloat(getComputedStyle(ex).fontSize); px > floor && short();) {
    px = Math.max(floor, px - 1);
    ex.style.fontSize = `${px}px`;
  }
}

function toggleLarge() {
  document.body.classList.toggle('large');
  placeColumns();
  fitExplanation();
  timeline.reveal();
}

// Presses add up: each queues a move, and the first to run takes all the
// presses made so far (app.moves), the others find nothing left to do.
// What a press moves is decided when it runs, behind anything queued before
// it: a press made while a lesson loads moves that lesson; with no lesson,
// the keys (not the Back/Next buttons, walk=false) step the walk.
function lessonMove(delta, walk = false) {
  if (page.following) return;              // the instructor moves the lesson
  app.moves += delta;
  run(async () => {
    const moves = app.moves;
    app.moves = 0;
    if (!app.lesson) {
      if (walk) for (let i = 0; i < Math.abs(moves); i++) (moves > 0 ? player.step() : player.back());
      return;
    }
    const target = Math.max(0, Math.min(app.step + moves, app.lesson.steps.length));
    const journal = await api.journal(app.id);
    const shown = app.view ?? journal.version;
    if (target === app.step && shown === opsBefore(target) && sharedPrefix(journal.ops) >= opsBefore(target)) return;
    const forward = target > app.step;
    player.clear();
    await gotoStep(target);
    await refresh();
    if (page.stepped) await page.stepped();
    const hint = $('walk-pfn').dataset.hint;
    if (hint && forward && app.step > 0 && app.lesson.steps[app.step - 1].walk !== undefined) {
      choosePfn(hint, `the frame step ${app.step} of the lesson walks`);
    }
  });
}

async function loadLesson(name) {
  const l = await api.lesson(name);
  const s = await api.create({ name: l.name, mode: l.config.mode || 'normal', zero_page: l.config.zero_page !== false });
  await openSession(s.id, name, 0);
}

// ---- walks ----

// what the walk panel says when the session moved on from its walk
const STALE = 'The session changed since the last walk, so it was cleared: press Walk to walk the page as it is now.';

// what each walk kind that is an op changes, for the question before it acts
const CHANGES = {
  try_to_unmap: 'reclaims the page: every PTE that maps it becomes a swap entry (anonymous) or is cleared (file), and the frame is freed',
  folio_referenced: 'clears the young (accessed) bit of every PTE that maps the page',
};

// rmap_walk only reads; the other kinds are ops that change the session, so
// they ask first, and the kind goes back to rmap_walk after one use (taken
// or not): a second Walk never reclaims another page by surprise.
function startWalk() {
  const pfn = $('walk-pfn').value;
  if (!pfn) return;
  const kindSel = $('walk-kind');
  const kind = kindSel.value;
  if (kind !== 'walk') {
    kindSel.value = 'walk';
    if (!window.confirm(`${kind} on pfn ${pfn}? It ${CHANGES[kind]}, recorded in the session's journal.${rewindFirst()}`)) {
      say(`${kind} on pfn ${pfn} not done.`);
      return;
    }
  }
  run(async () => {
    if (kind === 'walk') {
      await player.load(await api.walk(app.id, pfn, app.view), walkTitle());
    } else {
      await leavePast();
      const r = await applyOps([{ op: kind, pfn: Number(pfn) }]);
      await refresh();
      const res = r.results[0];
      if (res?.walk) await player.load(res.walk, kind + (kind === 'folio_referenced' ? ` (referenced ${res.referenced})` : ''), kind);
      else {
        // no walk to show (an unmapped page, a refused op): say so, not the previous walk
        const f = app.state.frames.find((x) => x.pfn === Number(pfn));
        const why = !res ? 'no result'
          : !res.ok ? `refused (${res.error}${res.reason ? `: ${res.reason}` : ''})`
          : !f ? 'is gone' : f.mapcount === 0 ? 'is not mapped' : 'no rmap walk was needed';
        const tail = kind === 'folio_referenced' && res && 'referenced' in res ? `, referenced ${res.referenced}` : '';
        player.clear(`${kind}: pfn ${pfn} ${why}: no walk${tail}`);
      }
    }
  });
}

const walkTitle = () => (app.view !== null ? `rmap_walk at op ${app.view}` : 'rmap_walk');

// A live lesson's walk (null: none), on a follower's page: the frame walked
// in the state shown, at the instructor's step.
async function showWalk(w) {
  if (!w) {
    if (player.walk || $('walk-steps').children.length) player.clear();   // a walk, or the note of one missing
    return;
  }
  if (player.live()?.pfn !== w.pfn) {
    let walk;
    try {
      walk = await api.walk(app.id, w.pfn, app.view);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
      player.clear(`The instructor walks pfn ${w.pfn}, which is not in the state shown.`);
      return;
    }
    choosePfn(w.pfn, 'the instructor walks it');
    await player.load(walk, walkTitle());
  }
  player.seek(w.step);
}

// ---- the timeline: looking back, and rewinding for real ----

async function showVersion(v) {
  const want = v >= app.latest ? null : v;
  if (want === app.view) return;
  app.view = want;
  player.clear(want === null ? 'Back at the latest op: press Walk to walk the page as it is now.'
    : `Looking back at op ${v}: press Walk to walk the page as it was then.`);
  await refresh();
}

// An op made while looking back acts on the state shown, so the session is
// rewound to it first: the question before it says so, and what it deletes.
function rewindFirst() {
  if (app.view === null) return '';
  const gone = app.latest - app.view;
  return ` You are looking back at op ${app.view}: the session is first rewound to it, deleting `
    + `${gone === 1 ? `op ${app.latest}` : `ops ${app.view + 1}–${app.latest}`} for everyone who watches it.`;
}

async function leavePast() {
  if (app.view === null) return;
  await api.rewind(app.id, app.view);
  app.view = null;
}

async function rewindTo(v) {
  await api.rewind(app.id, v);
  app.view = null;
  player.clear(STALE);
  say(`rewound the session to op ${v}`);
  await refresh();
}

// ---- wiring ----

$('op-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const op = form.read();
  if (app.view !== null && !window.confirm(`Apply ${describe(op)} at op ${app.view}?${rewindFirst()}`)) {
    say(`${describe(op)}: not applied.`);
    return;
  }
  run(async () => {
    await leavePast();
    const before = app.state;
    const r = await applyOps([op]);
    player.clear(STALE);
    await refresh();
    const replaced = replacedByMmap(op, before, r.results[0]);
    if (replaced) {
      const p = document.createElement('span');
      p.className = 'replaced';
      p.textContent = replaced;
      $('op-message').appendChild(p);
    }
  });
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
$('walk-pfn').addEventListener('change', () => pfnNote(''));
$('walk-step').addEventListener('click', () => player.step());
$('walk-back').addEventListener('click', () => player.back());
$('walk-play').addEventListener('click', () => player.toggle());
$('walk-end').addEventListener('click', () => player.clear());
// In large type the columns reach the window's bottom: their height is
// the window's less what lies above them (the header, whose violations box
// comes and goes, a follower's bar), kept as --main-top.  A render sets it
// itself before it fits the explanation: the observer's callback comes
// after the frame's own callbacks, and a violations box that appeared in
// the render would shorten the columns after the fit (legacy step 18's
// timeline row cut at 1280x800 in large type, one run in six).
function placeColumns() {
  const top = `${document.querySelector('main').offsetTop}px`;
  if (document.documentElement.style.getPropertyValue('--main-top') === top) return false;
  document.documentElement.style.setProperty('--main-top', top);
  return true;
}
const above = new ResizeObserver(() => {
  if (placeColumns()) { fitExplanation(); timeline.reveal(); }
});
for (const e of ['header', '#follow-bar', '#panel']) above.observe(document.querySelector(e));
$('large-type').addEventListener('click', toggleLarge);
// A control clicked with the mouse (detail > 0; a key press on it has
// detail 0) or a value chosen in a select gives the focus back to the page,
// so that Space, the arrows and P act on the lesson and the walk and Space
// never presses the last clicked button again.  Controls reached with Tab
// keep their focus: Space presses a focused button.
document.addEventListener('click', (e) => {
  const c = e.target.closest?.('button, input[type=checkbox], input[type=radio], summary');
  if (c && e.detail > 0 && document.activeElement === c) c.blur();
}, { capture: true });
document.addEventListener('change', (e) => {
  const t = e.target;
  if ((t.tagName === 'SELECT' && !t.closest('#op-form')) || t.type === 'checkbox') t.blur();
}, { capture: true });

const typing = (t) => t.isContentEditable || t.tagName === 'TEXTAREA'
  || (t.tagName === 'INPUT' && !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file'].includes(t.type))
  || (t.tagName === 'SELECT' && t.closest('#op-form'))    // the form's pickers keep their keys
  || (t.tagName === 'INPUT' && t.type === 'range');         // the step slider keeps its arrows

document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.altKey || e.metaKey) return;
  const t = e.target;
  // typing goes to the field; space and enter press a button reached with Tab
  if (typing(t)) return;
  if ((e.key === ' ' || e.key === 'Enter') && t !== document.body && t !== document.documentElement
      && (['BUTTON', 'A', 'SUMMARY', 'INPUT'].includes(t.tagName) || t.getAttribute?.('role') === 'button')) return;
  if (e.key === 'ArrowRight' || e.key === ' ') { e.preventDefault(); lessonMove(1, true); }
  else if (e.key === 'ArrowLeft') { e.preventDefault(); lessonMove(-1, true); }
  else if ((e.key === 'p' || e.key === 'P') && !page.following) { e.preventDefault(); run(() => player.toggle()); }
  else if (e.key === 'l' || e.key === 'L') { e.preventDefault(); toggleLarge(); }
});

// #/s/ID, #/s/ID/op/N or #/s/ID/lesson/NAME/step/N, from a reload, a
// shared link or one pasted into this tab (hashchange)
async function openFromHash() {
  const m = location.hash.match(/^#\/s\/(\d+)(?:\/lesson\/([\w-]+)\/step\/(\d+)|\/op\/(\d+))?/);
  if (!m) return false;
  await openSession(Number(m[1]), m[2] || null, Number(m[3] || 0), m[4] === undefined ? null : Number(m[4]));
  return true;
}

window.addEventListener('hashchange', () => run(openFromHash));

async function boot() {
  const account = await startAccount(page);
  if (account.stop) return;                // the login form, or a share link shown
  const lessons = await api.lessons();
  for (const l of lessons) {
    const o = document.createElement('option');
    o.value = l.name;
    o.textContent = l.title;
    $('lesson-picker').appendChild(o);
  }
  if (account.begin && await account.begin()) return;   // a live lesson followed
  if (await openFromHash()) return;
  const sessions = (await api.sessions()).filter((s) => account.mine(s));
  if (sessions.length) await openSession(sessions[sessions.length - 1].id);
  else await loadLesson('fork-cow');
}

run(boot);
