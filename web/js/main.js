// main.js - the page: the session and what is drawn of it, lessons, the
// timeline, the URL (#/s/ID or #/s/ID/lesson/NAME/step/N, so a reload or a
// shared link shows the same thing), keyboard shortcuts, large type.
import { api, ApiError } from './api.js';
import { renderGraph } from './graph.js';
import { WalkPlayer } from './walk.js';
import { setupForm } from './forms.js';

const $ = (id) => document.getElementById(id);
const app = { id: null, state: null, graph: null, lesson: null, step: 0, redo: [] };
const player = new WalkPlayer({
  list: $('walk-steps'), tally: $('walk-tally'), graph: () => app.graph, playButton: $('walk-play'),
});
const form = setupForm($('op-form'), $('op-kind'), $('op-fields'), () => app.state);

function say(text, cls = '') {
  const m = $('op-message');
  m.textContent = text;
  m.className = 'message ' + cls;
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

async function guarded(fn) {
  try {
    await fn();
  } catch (e) {
    if (e instanceof ApiError) say(`refused: ${e.message}` + (e.problem.field ? ` (field ${e.problem.field})` : ''), 'error');
    else throw e;
  }
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
  $('lesson-panel').hidden = !app.lesson;
  if (app.lesson) await gotoStep(step);
  await fillSessions();
  await refresh();
}

// ---- lessons ----

const opsBefore = (n) => app.lesson.steps.slice(0, n).filter((s) => s.op).length;

async function gotoStep(n) {
  const steps = app.lesson.steps;
  n = Math.max(0, Math.min(n, steps.length));
  const want = opsBefore(n);
  const st = await api.state(app.id);
  if (st.version > want) await api.rewind(app.id, want);
  const missing = steps.slice(0, n).filter((s) => s.op).slice(Math.min(st.version, want)).map((s) => s.op);
  if (missing.length) await applyOps(missing);
  app.step = n;
  $('lesson-title').textContent = app.lesson.title;
  $('lesson-pos').textContent = `step ${n} of ${steps.length}`;
  $('lesson-explain').textContent = n === 0 ? app.lesson.summary : (steps[n - 1].explain || '');
  const hint = n > 0 ? steps[n - 1].walk : undefined;
  if (hint !== undefined) $('walk-pfn').dataset.hint = hint;
}

async function lessonMove(delta) {
  if (!app.lesson) return;
  await guarded(async () => {
    await gotoStep(app.step + delta);
    await refresh();
    const hint = $('walk-pfn').dataset.hint;
    if (hint && delta > 0 && app.step > 0 && app.lesson.steps[app.step - 1].walk !== undefined) {
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

async function startWalk() {
  const pfn = $('walk-pfn').value;
  if (!pfn) return;
  await guarded(async () => {
    const kind = $('walk-kind').value;
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
  guarded(async () => { app.redo = []; await applyOps([form.read()]); await refresh(); });
});
$('new-session').addEventListener('click', () => guarded(async () => {
  const s = await api.create({ name: 'playground', mode: $('new-legacy').checked ? 'legacy' : 'normal' });
  await openSession(s.id);
}));
$('session-picker').addEventListener('change', (e) => openSession(Number(e.target.value)));
$('load-lesson').addEventListener('click', () => $('lesson-picker').value && guarded(() => loadLesson($('lesson-picker').value)));
$('lesson-next').addEventListener('click', () => lessonMove(1));
$('lesson-back').addEventListener('click', () => lessonMove(-1));
$('walk-start').addEventListener('click', startWalk);
$('walk-step').addEventListener('click', () => player.step());
$('walk-back').addEventListener('click', () => player.back());
$('walk-play').addEventListener('click', () => player.toggle());
$('large-type').addEventListener('click', () => document.body.classList.toggle('large'));
$('step-back').addEventListener('click', () => guarded(async () => {
  if (!app.state || app.state.version === 0) return;
  const j = await api.journal(app.id, app.state.version - 1);
  app.redo.push(j.ops[0].op);
  await api.rewind(app.id, app.state.version - 1);
  await refresh();
}));
$('step-forward').addEventListener('click', () => guarded(async () => {
  const op = app.redo.pop();
  if (op) { await applyOps([op]); await refresh(); }
}));
document.addEventListener('keydown', (e) => {
  if (['INPUT', 'SELECT', 'TEXTAREA'].includes(e.target.tagName)) return;
  if (e.key === 'ArrowRight' || e.key === ' ') { e.preventDefault(); if (app.lesson) lessonMove(1); else player.step(); }
  else if (e.key === 'ArrowLeft') { if (app.lesson) lessonMove(-1); else player.back(); }
  else if (e.key === 'p' || e.key === 'P') player.toggle();
  else if (e.key === 'l' || e.key === 'L') document.body.classList.toggle('large');
});

async function boot() {
  const lessons = await api.lessons();
  for (const l of lessons) {
    const o = document.createElement('option');
    o.value = l.name;
    o.textContent = l.title;
    $('lesson-picker').appendChild(o);
  }
  const m = location.hash.match(/^#\/s\/(\d+)(?:\/lesson\/([\w-]+)\/step\/(\d+))?/);
  if (m) {
    await openSession(Number(m[1]), m[2] || null, Number(m[3] || 0));
    return;
  }
  const sessions = await api.sessions();
  if (sessions.length) await openSession(sessions[sessions.length - 1].id);
  else await loadLesson('fork-cow');
}

boot().catch((e) => say(String(e), 'error'));
