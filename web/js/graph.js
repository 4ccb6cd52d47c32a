// graph.js - the picture: draws layout.js's boxes and edges as SVG, fits,
// zooms and pans it (zoom.js), marks what the last step created, changed
// and removed and what a checker violation names (marks.js), keeps a walk's
// subject in view with the address formula of each visit, and offers
// focus (collapse a lane or an anon_vma subtree, only what a frame's rmap
// reaches, search), the presenter view and export (export.js).
//
// The DOM it exposes (PIC-NOTES.md): every object is <g class="node KIND"
// data-id data-obj> holding a <rect> and its <text> lines; edges are <g
// class="edge KIND" data-id data-obj>; #graph[data-scale] is the zoom.

import { layout, COLS, FPR, FONT, LINE, PAD, MIN_LANE } from './layout.js';
import { Zoom } from './zoom.js';
import { diff, violationTargets } from './marks.js';
import { related, index } from './links.js';
import { downloadSvg, downloadPng } from './export.js';
import { hotSet, chooseFolds } from './fold.js';

const NS = 'http://www.w3.org/2000/svg';
const hex = (n) => `0x${n.toString(16)}`;

function el(tag, attrs = {}, parent) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function html(tag, attrs = {}, parent, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

// one picture per container, kept across renders: its zoom, the layout's
// memory of places, the state it showed last (for marks), focus settings
const pictures = new WeakMap();

function picture(container) {
  let p = pictures.get(container);
  if (p) return p;
  container.replaceChildren();
  container.classList.add('picture');
  const tools = html('div', { class: 'pic-tools', role: 'toolbar', 'aria-label': 'picture' });
  container.before(tools);
  const svg = el('svg', { role: 'img', tabindex: '0', 'aria-labelledby': 'pic-title pic-desc', class: 'pic' }, container);
  el('title', { id: 'pic-title' }, svg).textContent = 'The rmap structures of the session';
  el('desc', { id: 'pic-desc' }, svg);
  const layer = el('g', { class: 'viewport' }, svg);
  const note = html('div', { class: 'pic-note', id: 'pic-note', 'aria-live': 'polite', hidden: '' }, container);
  p = { container, tools, svg, layer, note, zoom: new Zoom(container, svg, layer), session: null,
    mem: { rx: 0 }, prev: null, prevLayout: null, collapsed: new Set(),
    reach: false, focus: null, lit: null, handlers: {}, st: null, lay: null, nodes: {}, info: {} };
  forget(p);
  buildTools(p);
  wireKeys(p);
  // another size may need other folds (the floor, the room): laid out again
  new ResizeObserver(([e]) => {
    const b = e.borderBoxSize?.[0];
    if (b) p.zoom.rect = { width: b.inlineSize, height: b.blockSize };
    const { w, h } = p.zoom.size();
    if (p.lay && (Math.abs(w - p.laidFor.w) > 1 || Math.abs(h - p.laidFor.h) > 1)) { relayout(p); p.zoom.refit(bounds(p)); }
  }).observe(container);
  pictures.set(container, p);
  return p;
}

// what the picture remembers of a session: folds the page chose (sticky),
// what the user opened, the walk and the search it keeps drawn
function forget(p) {
  p.sticky = { vmas: new Set(), collapsed: new Set() };
  p.open = new Set();
  p.walk = null; p.walkIds = []; p.stepIds = []; p.walkFollow = false; p.foundIds = [];
  p.foldSig = '';
}

// The smallest text the picture's fit may show, in px.  Large type (and
// the presenter view) is for a room: 18 px on a 1920 screen, and on a
// narrower one the same share of its width, but never under 14 px (a 1280
// projector's wall is no larger than a 1920 one's).  Otherwise a screen at
// arm's length: 10 px from 1280 wide, 8 px at 1024.  Below it the picture
// folds what is quiet, then draws its boxes compact, and past that it
// pans rather than shrinks.
export function floorPx() {
  const room = document.body.classList.contains('large') || document.body.classList.contains('presenter');
  const share = (px, at) => Math.min(px, (px * window.innerWidth) / at);
  return room ? Math.max(14, share(18, 1920)) : Math.max(8, share(10, 1280));
}

function button(parent, text, title, fn, id) {
  const b = html('button', { type: 'button', title, ...(id ? { id } : {}) }, parent, text);
  b.addEventListener('click', fn);
  return b;
}

function buildTools(p) {
  const t = p.tools;
  button(t, 'Fit', 'show all of the picture (0)', () => p.zoom.fit(), 'pic-fit');
  button(t, '+', 'zoom in (+)', () => p.zoom.zoomBy(1.25), 'pic-zoom-in');
  button(t, '−', 'zoom out (-)', () => p.zoom.zoomBy(0.8), 'pic-zoom-out');
  button(t, 'Collapse', 'collapse or expand the selected process or anon_vma subtree (C)', () => toggleCollapse(p), 'pic-collapse');
  const reach = html('label', { title: 'show only what the selected frame\'s rmap reaches' }, t);
  const box = html('input', { type: 'checkbox', id: 'pic-reach' }, reach);
  reach.append(' only its rmap');
  box.addEventListener('change', () => { p.reach = box.checked; redraw(p); });
  const search = html('input', { type: 'search', id: 'pic-search', placeholder: 'find: vma 3, pfn 2, 0x7f…', 'aria-label': 'find an object by id or address', size: '16' }, t);
  search.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); find(p, search.value); } });
  const found = html('span', { id: 'pic-found', class: 'muted', 'aria-live': 'polite' }, t);
  p.found = found;
  button(t, 'Present', 'presenter view: the explanation and the picture (Esc leaves)', () => presenter(!document.body.classList.contains('presenter')), 'pic-present');
  button(t, 'SVG', 'download the picture as SVG', () => downloadSvg(p.svg, fileName(p, 'svg')), 'pic-svg');
  button(t, 'PNG', 'download the picture as PNG', () => downloadPng(p.svg, fileName(p, 'png')), 'pic-png');
  // the URL is read when the link is used: the page sets its hash after drawing
  const link = html('a', { id: 'pic-link', href: '#', title: 'this step in the presenter view, for slides' }, t, 'link');
  const point = () => { link.href = `${location.pathname}?present${location.hash}`; };
  for (const ev of ['pointerenter', 'focus', 'click', 'contextmenu']) link.addEventListener(ev, point);
  p.link = link;
  const legend = document.getElementById('legend');
  if (legend) button(t, 'Legend', 'show or hide the legend', () => legend.classList.toggle('open'), 'pic-legend');
  // hidden in large type and on short windows (picture.css)
  const strips = document.getElementById('strips');
  if (strips) button(t, 'Lines', 'show or hide the address lines', () => strips.classList.toggle('open'), 'pic-strips');
}

function fileName(p, ext) {
  const m = location.hash.match(/#\/s\/(\d+)(?:\/lesson\/([\w-]+)\/step\/(\d+))?/);
  return m ? `rmapd-${m[2] ? `${m[2]}-step${m[3]}` : `session${m[1]}`}.${ext}` : `rmapd.${ext}`;
}

export function presenter(on) {
  document.body.classList.toggle('presenter', on);
  const url = new URL(location.href);
  if (on) url.searchParams.set('present', '');
  else url.searchParams.delete('present');
  history.replaceState(null, '', url.pathname + url.search.replace('present=', 'present') + url.hash);
  if (on && document.fullscreenEnabled && !document.fullscreenElement) document.documentElement.requestFullscreen?.().catch(() => {});
  if (!on && document.fullscreenElement) document.exitFullscreen?.().catch(() => {});
}

if (new URLSearchParams(location.search).has('present')) document.body.classList.add('presenter');

// the content's box for fit: what is reached when only a frame's rmap is shown
function bounds(p) {
  if (p.reach && p.lit) {
    const boxes = [...p.lit].map((id) => p.lay.byId.get(id)).filter((n) => n && n.kind !== 'proc');
    if (boxes.length) return union(boxes);
  }
  // what the step removed fades where it was: that is in view too
  return union([{ x: 0, y: 0, w: Math.max(1, p.lay.width), h: Math.max(1, p.lay.height) }, ...ghostBoxes(p)]);
}

function ghostBoxes(p) {
  if (!p.removed?.length || !p.prevLayout) return [];
  return p.removed.map((id) => p.prevLayout.byId.get(id)).filter((n) => n && n.kind !== 'fgroup');
}

function union(boxes) {
  const x0 = Math.min(...boxes.map((b) => b.x)), y0 = Math.min(...boxes.map((b) => b.y));
  const x1 = Math.max(...boxes.map((b) => b.x + b.w)), y1 = Math.max(...boxes.map((b) => b.y + b.h));
  return { x: x0, y: y0, w: Math.max(1, x1 - x0), h: Math.max(1, y1 - y0) };
}

// A box drawn in its own units, placed by a translate: a box that only
// moves (a lane below one that opened) keeps its element.
function drawBox(parent, n, cls) {
  const g = el('g', { class: cls, 'data-id': n.id }, parent);
  placeBox(g, n);
  const { w, h } = n;
  if (n.kind === 'file') el('polygon', { points: `0,0 ${w - 12},0 ${w},12 ${w},${h} 0,${h}` }, g);
  else el('rect', { x: 0, y: 0, width: w, height: h, rx: n.kind === 'av' ? 14 : n.kind === 'frame' ? 0 : 4 }, g);
  n.lines.forEach((t, i) => {
    const x = n.kind === 'av' ? w / 2 : PAD;
    const e = el('text', { x, y: PAD + FONT - 2 + LINE * i, ...(n.kind === 'av' ? { 'text-anchor': 'middle' } : {}) }, g);
    e.textContent = t;
  });
  return g;
}

function placeBox(g, n) {
  const at = `translate(${n.x},${n.y})`;
  if (g.getAttribute('transform') === at) return;
  g.setAttribute('transform', at);
  Object.assign(g.dataset, { x: n.x, y: n.y, w: n.w, h: n.h });
}

// the picture's layers, made once; the boxes and edges drawn last time, by id
function layers(p) {
  if (p.layers) return p.layers;
  const { layer } = p;
  const l = { ghosts: el('g', { class: 'ghosts' }, layer), lanes: el('g', { class: 'lanes' }, layer),
    edges: el('g', { class: 'edges' }, layer), nodes: el('g', { class: 'nodes' }, layer),
    labels: el('g', { class: 'edge-labels' }, layer) };
  const defs = el('defs', {}, layer);
  for (const kind of ['anon_vma', 'avc', 'parent', 'i_mmap', 'mapping', 'pte']) {
    const mk = el('marker', { id: `arrow-${kind}`, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6,
      orient: 'auto', class: `arrow ${kind}` }, defs);
    el('path', { d: 'M0,0 L10,5 L0,10 z' }, mk);
  }
  p.layers = l;
  p.drawn = new Map();
  return l;
}

// the element drawn last time for this key and signature, or a new one
function reuse(p, seen, key, sig, build) {
  const old = p.drawn.get(key);
  const g = old && old.sig === sig ? old.g : build();
  if (old && old.g !== g) old.g.remove();
  seen.set(key, { sig, g });
  return g;
}

// each object answers to the pointer with what it is now (p.info)
function wire(p, g, id) {
  g.addEventListener('mouseenter', (ev) => { ev.stopPropagation(); p.handlers.hover?.(id, p.info[id]); });
  g.addEventListener('mouseleave', (ev) => { ev.stopPropagation(); p.handlers.leave?.(id); });
  g.addEventListener('click', (ev) => {
    ev.stopPropagation();
    p.focus = id;
    // a folded box opens where it is clicked
    if (p.info[id]?.box?.kind === 'run' || p.info[id]?.box?.collapsed) { unfoldBox(p, id); return; }
    p.handlers.select?.(id, p.info[id]);
    paintFocus(p);
  });
}

function nodeClass(p, n, marks) {
  const cls = ['node', n.kind];
  if (n.zero) cls.push('zero');
  if (n.dangling || n.freed) cls.push('dangling');
  if (n.collapsed) cls.push('collapsed');
  const m = marks.get(n.id);
  if (m) cls.push(`mark-${m}`);
  if (p.bad.has(n.id)) cls.push('violation');
  return cls.join(' ');
}

function buildNode(p, parent, n, cls) {
  const g = drawBox(parent, n, cls);
  g.dataset.obj = n.id;
  if (n.pfns) g.dataset.pfns = n.pfns.join(' ');
  if (n.kind === 'run') g.dataset.members = n.members.join(' ');
  if (n.hidden) {
    // how much a collapsed anon_vma stands for, beside its text (the box keeps its size)
    const b = el('g', { class: 'badge fold', 'aria-hidden': 'true' }, g);
    el('rect', { x: n.w - 22, y: n.h - 9, width: 44, height: 18, rx: 9 }, b);
    el('text', { x: n.w, y: n.h + 5, 'text-anchor': 'middle' }, b).textContent = `+${n.hidden}`;
  }
  if (p.bad.has(n.id)) {
    const b = el('g', { class: 'badge', 'aria-hidden': 'true' }, g);
    el('circle', { cx: n.w, cy: 0, r: 11 }, b);
    el('text', { x: n.w, y: 5, 'text-anchor': 'middle' }, b).textContent = '!';
  }
  wire(p, g, n.id);
  return g;
}

// Draw the layout: a box or an edge that says what it said last time keeps
// its element (a box moved is moved), only new or changed ones are built:
// a walk step in a big session that opens one lane rebuilt the whole
// picture, style and layout of hundreds of elements.
function draw(p) {
  const { lay } = p;
  const L = layers(p);
  const seen = new Map();
  const nodes = {}, info = {};
  const marks = p.marks || new Map();
  for (const n of lay.nodes) {
    if (n.kind === 'fgroup') {
      const g = reuse(p, seen, n.id, `fg ${n.w} ${n.h} ${!!n.dangling}`, () => {
        const x = el('g', { class: `fgroup${n.dangling ? ' dangling' : ''}`, 'data-id': n.id }, L.lanes);
        el('rect', { x: 0, y: 0, width: n.w, height: n.h, rx: 6 }, x);
        return x;
      });
      placeBox(g, n);
      continue;
    }
    const cls = nodeClass(p, n, marks);
    const sig = JSON.stringify([cls, n.w, n.h, n.lines, n.hidden || 0, n.pfns || null, n.members || null]);
    const g = reuse(p, seen, n.id, sig, () => buildNode(p, n.kind === 'proc' ? L.lanes : L.nodes, n, cls));
    placeBox(g, n);
    // what was painted on it (a walk, a search, the focus) is painted again after
    if (g.getAttribute('class') !== cls) g.setAttribute('class', cls);
    nodes[n.id] = g;
    info[n.id] = { kind: n.kind, data: n.data || p.describe?.(n.id), box: n };
    // in a run, each VMA answers to the run's box
    if (n.kind === 'run') for (const m of n.members) { nodes[`vma${m}`] ??= g; info[`vma${m}`] ??= info[n.id]; }
    // and in a collapsed lane, to the lane's (a walk marks it as it passes)
    if (n.kind === 'proc' && n.collapsed) {
      for (const v of p.st.processes.find((x) => `proc${x.pid}` === n.id)?.vmas || []) nodes[`vma${v.id}`] ??= g;
    }
  }
  const prevEdges = p.prevLayout ? new Set(p.prevLayout.edges.map((e) => e.id)) : null;
  L.labels.replaceChildren();
  for (const e of lay.edges) {
    if (!e.d) continue;
    const cls = ['edge', e.kind];
    if (prevEdges && !prevEdges.has(e.id) && e.kind !== 'pte') cls.push('mark-new');
    const g = reuse(p, seen, `e ${e.id}`, `${cls.join(' ')} ${e.d} ${e.pfns || ''}`, () => {
      const x = el('g', { class: cls.join(' '), 'data-id': e.id, 'data-obj': e.id }, L.edges);
      if (e.pfns) x.dataset.pfns = e.pfns.join(' ');
      el('path', { d: e.d, class: 'hit' }, x);
      el('path', { d: e.d, class: 'line', 'marker-end': `url(#arrow-${e.kind})` }, x);
      wire(p, x, e.id);
      return x;
    });
    if (g.getAttribute('class') !== cls.join(' ')) g.setAttribute('class', cls.join(' '));
    nodes[e.id] = g;
    info[e.id] = { kind: 'edge', ends: [e.from, e.to] };
    if (e.label) {
      const lg = el('g', { class: `edge-label ${e.kind}`, 'data-obj': e.id }, L.labels);
      const w = e.label.length * 7 + 6;
      el('rect', { x: e.lx - w / 2, y: e.ly - 9, width: w, height: 16, rx: 3 }, lg);
      el('text', { x: e.lx, y: e.ly + 3, 'text-anchor': 'middle' }, lg).textContent = e.label;
    }
  }
  for (const [key, { g }] of p.drawn) if (!seen.has(key)) g.remove();
  p.drawn = seen;
  // what the step removed, where it was, fading
  L.ghosts.replaceChildren();
  for (const n of ghostBoxes(p)) drawBox(L.ghosts, n, `ghost ${n.kind}`);
  // a page inside its file's page-cache box answers to its own pfn too (walks, the frames table)
  for (const n of lay.nodes) for (const pfn of n.pfns || []) { nodes[`pfn${pfn}`] = nodes[n.id]; info[`pfn${pfn}`] ??= info[n.id]; }
  p.nodes = nodes;
  p.info = info;
  paintReach(p);
  paintFocus(p);
}

// only what the selected frame's rmap reaches: the rest faded, the view on it
function paintReach(p) {
  p.lit = null;
  const sel = p.selected?.();
  if (p.reach && sel && /^(pfn|cache|zero)\d+/.test(sel) && p.ix) p.lit = related(p.ix, sel);
  for (const g of p.layer.querySelectorAll('.node, .edge')) {
    g.classList.toggle('outside', !!p.lit && !p.lit.has(g.dataset.id)
      && !(g.dataset.pfns && g.dataset.pfns.split(' ').some((x) => p.lit.has(`pfn${x}`))));
  }
}

function redraw(p) {
  if (!p.st) return;
  paintReach(p);
  p.zoom.fit();
  if (p.lit) p.zoom.reveal(bounds(p));
}

function toggleCollapse(p) {
  const id = p.focus || p.selected?.();
  if (!id || !/^(proc|av|run)\d+$/.test(id)) { p.found.textContent = 'select a process or an anon_vma to collapse'; return; }
  if (id.startsWith('run') || p.collapsed.has(id) || p.sticky.collapsed.has(id)) { unfoldBox(p, id); return; }
  p.collapsed.add(id);
  p.open.delete(id);
  relayout(p);
  p.zoom.fit();
}

// open what a folded box stands for, and keep it open (the user asked)
function unfoldBox(p, id) {
  const n = p.lay.byId.get(id);
  if (n?.kind === 'run') {
    for (const m of n.members) { p.open.add(`vma${m}`); p.sticky.vmas.delete(m); }
  } else {
    p.collapsed.delete(id);
    p.sticky.collapsed.delete(id);
    p.open.add(id);
  }
  relayout(p);
  p.zoom.fit();
  if (p.lay.byId.has(id)) { p.focus = id; paintFocus(p); }
}

// make an object of the state drawn: open what folds it and what holds it
function unfold(p, id) {
  for (const x of hotSet(p.st, p.ix, [id])) {
    p.open.add(x);
    if (x.startsWith('vma')) p.sticky.vmas.delete(Number(x.slice(3)));
    if (x.startsWith('proc') && x !== id) { p.collapsed.delete(x); p.sticky.collapsed.delete(x); }
    if (x.startsWith('av') && x !== id) { p.collapsed.delete(x); p.sticky.collapsed.delete(x); }
  }
}

// find: "vma 12", "#12", "pfn 2", "anon_vma 6", "av 6", "pid 3", "file 1", "avc 5", or an address
function find(p, q) {
  q = q.trim().toLowerCase();
  const ids = [];
  let m;
  if ((m = /^(vma|anon_vma|av|pfn|page|frame|pid|proc|process|file|avc)?\s*#?\s*(\d+)$/.exec(q))) {
    const pre = { vma: 'vma', anon_vma: 'av', av: 'av', pfn: 'pfn', page: 'pfn', frame: 'pfn', pid: 'proc', proc: 'proc',
      process: 'proc', file: 'file', avc: 'avc' }[m[1] || 'vma'];
    ids.push(`${pre}${m[2]}`);
    if (!m[1]) ids.push(`pfn${m[2]}`, `av${m[2]}`);
  } else if ((m = /^(0x[0-9a-f]+)$/.exec(q))) {
    const a = BigInt(m[1]);
    for (const pr of p.st.processes) for (const v of pr.vmas) if (BigInt(v.start) <= a && a < BigInt(v.end)) ids.push(`vma${v.id}`);
    for (const f of p.st.frames) if (f.mapping.kind === 'anon_vma' && BigInt(f.index) === a >> 12n) ids.push(`pfn${f.pfn}`);
  }
  // what the state holds but the picture folds is opened first
  const held = ids.filter((id) => p.nodes[id] || holds(p, id));
  if (held.some((id) => !p.lay.byId.has(id))) {
    for (const id of held) unfold(p, id);
    p.foundIds = held;
    relayout(p);
    p.zoom.refit(bounds(p));
  }
  p.foundIds = held;
  const hits = held.filter((id) => p.nodes[id]);
  if (!hits.length) { p.found.textContent = q ? `no ${q}` : ''; return; }
  p.found.textContent = `${hits.length} found`;
  p.focus = hits[0];
  p.handlers.select?.(hits[0], p.info[hits[0]]);
  for (const id of hits) p.nodes[id]?.classList.add('found');
  const boxes = hits.map((id) => p.lay.byId.get(id) || boxOfEdge(p, id)).filter(Boolean);
  if (boxes.length) p.zoom.reveal(union(boxes));
  paintFocus(p);
}

// an object of the state, drawn or not
function holds(p, id) {
  const m = /^([a-z]+?)(\d+)$/.exec(id);
  if (!m) return false;
  const n = Number(m[2]);
  return { vma: p.ix.vmas, av: p.ix.avs, pfn: p.ix.frames, file: p.ix.files, avc: p.ix.avcs }[m[1]]?.has(n)
    || (m[1] === 'proc' && p.st.processes.some((x) => x.pid === n));
}

function boxOfEdge(p, id) {
  const g = p.nodes[id];
  if (!g || !g.getBBox) return null;
  const b = g.getBBox();
  return { x: b.x, y: b.y, w: b.width, h: b.height };
}

// ---- the keyboard on the picture: one tab stop; arrows move between its
// objects (to the nearest one that way), Enter selects, C collapses, + - 0
// zoom; the focused object is outlined and described in the SVG's <desc>

function nearest(p, from, dx, dy) {
  const a = p.lay.byId.get(from);
  if (!a) return null;
  const ax = a.x + a.w / 2, ay = a.y + a.h / 2;
  let best = null, bestScore = Infinity;
  for (const n of p.lay.nodes) {
    if (n.id === from || n.kind === 'fgroup' || !p.nodes[n.id]) continue;
    const bx = n.x + n.w / 2, by = n.y + n.h / 2;
    const along = (bx - ax) * dx + (by - ay) * dy;
    if (along <= 1) continue;
    const across = Math.abs((bx - ax) * dy) + Math.abs((by - ay) * dx);
    const score = along + 2 * across;
    if (score < bestScore) { bestScore = score; best = n.id; }
  }
  return best;
}

function first(p) {
  return p.lay.nodes.find((n) => n.kind === 'vma')?.id || p.lay.nodes.find((n) => n.kind !== 'fgroup')?.id || null;
}

function paintFocus(p) {
  for (const g of p.layer.querySelectorAll('.kfocus')) g.classList.remove('kfocus');
  const id = p.focus && p.nodes[p.focus] ? p.focus : null;
  if (id) p.nodes[id].classList.add('kfocus');
  const desc = p.svg.querySelector('desc');
  const sel = p.selected?.() || id;
  desc.textContent = sel ? describe(p, sel) : 'Nothing selected: Tab to the picture, arrow keys move between objects, Enter selects.';
  p.container.dataset.focus = id || '';
}

function describe(p, id) {
  const n = p.lay?.byId.get(id);
  if (n) return n.lines.join(', ') + (n.hidden ? `, collapsed: ${n.hidden} anon_vmas below` : '');
  return id;
}

function wireKeys(p) {
  p.svg.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.altKey || e.metaKey || !p.lay) return;
    const dirs = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] };
    let done = true;
    if (dirs[e.key]) {
      const next = p.focus && p.lay.byId.has(p.focus) ? nearest(p, p.focus, ...dirs[e.key]) : first(p);
      if (next) {
        p.focus = next;
        p.zoom.reveal(p.lay.byId.get(next));
        paintFocus(p);
      }
    } else if (e.key === 'Enter' || e.key === ' ') {
      if (p.focus) p.handlers.select?.(p.focus, p.info[p.focus]);
      paintFocus(p);
    } else if (e.key === 'c' || e.key === 'C') toggleCollapse(p);
    else done = false;
    if (done) { e.preventDefault(); e.stopPropagation(); }
  });
  p.svg.addEventListener('focus', () => { if (!p.focus && p.lay) { p.focus = first(p); paintFocus(p); } });
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    const t = e.target;
    if (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable) return;
    if (e.key === '+' || e.key === '=') p.zoom.zoomBy(1.25);
    else if (e.key === '-' || e.key === '_') p.zoom.zoomBy(0.8);
    else if (e.key === '0') p.zoom.fit();
    else if (e.key === 'Escape' && document.body.classList.contains('presenter')) presenter(false);
    else return;
    e.preventDefault();
  });
}

// How many VMAs to a lane's row: the count whose layout fits the box
// largest.  The count in use stays unless another makes the picture at
// least 15% larger, so lanes do not reflow back and forth from step to step.
function layoutOpts(p, folds, shape, trial = false) {
  return { collapsed: new Set([...p.collapsed, ...folds.collapsed]), folded: folds.vmas, cols: shape.cols, fpr: shape.fpr,
    under: shape.under, compact: shape.compact, trial };
}

// the scale at which a layout fits the picture's box
function scaleOf(p, l) {
  const { w, h } = p.zoom.size();
  return Math.min((w - 24) / Math.max(1, l.width), (h - 24) / Math.max(1, l.height));
}

// How many VMAs to a lane's row, frames to a frame group's row, the
// frames beside their mapping or under it, and compact boxes or not: the
// shape whose layout fits the box largest.  Compact boxes only where no
// other shape holds the text floor.  The shape in use stays unless another
// makes the picture at least 15% larger, so lanes do not reflow back and
// forth from step to step (or it no longer holds the text floor).
function bestShape(p, folds) {
  const seen = new Map();
  const at = (shape) => {
    const k = JSON.stringify(shape);
    if (!seen.has(k)) seen.set(k, scaleOf(p, layout(p.st, {}, layoutOpts(p, folds, shape, true))));
    return seen.get(k);
  };
  const most = Math.max(1, ...p.st.processes.map((x) => x.vmas.length));
  const plain = COLS.filter((c, i) => i === 0 || COLS[i - 1] < most)
    .flatMap((cols) => FPR.flatMap((fpr) => [false, true].map((under) => ({ cols, fpr, under, compact: false }))));
  const floorK = floorPx() / FONT;
  const roomy = plain.some((t) => at(t) >= floorK);
  const tries = roomy ? plain : [...plain, ...plain.map((t) => ({ ...t, compact: true }))];
  return pickShape(p, tries, at, floorK);
}

function pickShape(p, tries, at, floorK) {
  const same = (a, b) => a && b && a.cols === b.cols && a.fpr === b.fpr && a.under === b.under && a.compact === b.compact;
  const kept = tries.find((t) => same(t, p.shape));
  // frames under their mapping only where that holds the text at the
  // floor: below it, the folds (chosen for frames beside) do the work
  const ok = (t, s) => !t.under || s >= floorK;
  let best = kept || tries[0], bestScale = at(best);
  if (!ok(best, bestScale)) { best = tries[0]; bestScale = at(best); }
  // a shape that no longer holds the text at the floor is not kept
  const stay = kept && best === kept && bestScale >= floorK ? 1.15 : 1;
  for (const t of tries) {
    if (same(t, best)) continue;
    const s = at(t);
    if (s > bestScale * stay && ok(t, s)) { best = t; bestScale = s; }
  }
  return best;
}

// What must stay drawn: what the step marked, a violation names, the walk,
// the selection, the focus and the search's finds
function hotOf(p) {
  const seeds = [...p.badIds, ...p.walkIds, ...p.stepIds];
  // a walk keeps what it goes through drawn: the step's marks fold like the
  // rest (a box still shows them); in a big session what a search found,
  // the user opened or selected too
  if (!p.walk) seeds.push(...(p.marks?.keys() || []));
  if (!p.walkFollow) seeds.push(p.selected?.(), p.focus, ...p.foundIds);
  return hotSet(p.st, p.ix, seeds);
}

// keep: the lanes keep their shape (a walk or a search opens what it needs
// in the picture the class is looking at, rather than reflow it)
function relayout(p, keep = false) {
  const t0 = performance.now();
  const hot = hotOf(p);
  const floorK = floorPx() / FONT;
  p.laidFor = p.zoom.size();
  // trials place the right column afresh (no memory of wider lanes)
  const scale = (shape) => (folds) => scaleOf(p, layout(p.st, {}, layoutOpts(p, folds, shape, true)));
  // folds first in the shape of last time (folded, a shape costs little to try), then the best shape for them
  const most = Math.max(1, ...p.st.processes.map((x) => x.vmas.length));
  const was = p.shape || { cols: Math.min(2, most), fpr: FPR[0], under: false, compact: false };
  const open = p.walkFollow ? new Set() : p.open;
  let folds = chooseFolds(p.st, p.sticky, hot, open, scale(was), floorK);
  if (!keep || !p.shape) p.shape = bestShape(p, folds);
  if (p.shape.cols !== was.cols || p.shape.fpr !== was.fpr || p.shape.under !== was.under || p.shape.compact !== was.compact) folds = chooseFolds(p.st, folds, hot, open, scale(p.shape), floorK);
  p.sticky = folds;
  p.container.dataset.foldMs = (performance.now() - t0).toFixed(1);
  place(p, folds, t0);
}

// the picture laid out with these folds in the shape chosen, and drawn
function place(p, folds, t0 = performance.now()) {
  const floorK = floorPx() / FONT;
  p.laidFor = p.zoom.size();
  // other folds draw other lanes: the right column finds its place again
  const sig = `${[...folds.vmas].sort()}|${[...folds.collapsed].sort()}|${[...p.collapsed].sort()}`;
  if (sig !== p.foldSig) { p.foldSig = sig; p.mem.rx = 0; }
  p.lay = layout(p.st, p.mem, layoutOpts(p, folds, p.shape));
  // the right column kept its place for wider lanes gone by: not at the price of the text
  if (scaleOf(p, p.lay) < floorK && p.mem.rx > 0) {
    p.mem.rx = 0;
    p.lay = layout(p.st, p.mem, layoutOpts(p, folds, p.shape));
  }
  p.zoom.floor = floorK;
  p.zoom.subject = subjectOf(p);
  p.container.dataset.cols = `${p.shape.cols}/${p.shape.fpr}${p.shape.under ? '/under' : ''}${p.shape.compact ? '/compact' : ''}`;
  p.bad = new Set();
  for (const id of p.badIds) {
    if (p.lay.byId.has(id)) p.bad.add(id);
    else if (id.startsWith('av') && p.lay.byId.has(`freed${id.slice(2)}`)) p.bad.add(`freed${id.slice(2)}`);
  }
  draw(p);
  p.container.dataset.layoutMs = (performance.now() - t0).toFixed(1);
}

// where the view goes when the picture is larger than its box at the
// floor: what the step created, or else what it changed, a violation
// names, the walk's objects
function subjectOf(p) {
  // what the step created first: a changed counter far away must not push it out of view
  const made = [...(p.marks || [])].filter(([, m]) => m === 'new').map(([id]) => id);
  const ids = made.length ? made : [...(p.marks?.keys() || []), ...p.badIds, ...p.walkIds, ...p.foundIds];
  const boxes = ids.map((id) => p.lay.byId.get(id)).filter((n) => n && n.kind !== 'proc');
  return boxes.length ? union(boxes) : null;
}

// The walk's hook (walk.js calls it at each step): what the walk goes
// through opened, the step's objects brought into view, the note says it.
function walkStep(p, walk, step) {
  const note = p.note;
  if (!walk) {
    if (walk !== p.walk) { p.walk = null; p.walkIds = []; p.stepIds = []; p.walkFollow = false; }
    if (!note.hidden) { note.hidden = true; note.textContent = ''; p.zoom.reserve = 0; p.svg.style.height = ''; p.zoom.refit(bounds(p)); }
    return;
  }
  // the note first: its height is read before the picture is redrawn, so
  // the read does not make the browser lay out the new picture twice
  note.replaceChildren(...walkNote(p, walk, step).map((t) => html('div', {}, null, t)));
  note.hidden = false;
  // the note covers the picture's bottom: the picture fits above it
  const reserve = note.offsetHeight + 8;
  const refit = Math.abs(reserve - (p.zoom.reserve || 0)) > 1;
  p.zoom.reserve = reserve;
  // nothing is drawn under the note: the picture ends above it
  p.svg.style.height = `calc(100% - ${reserve}px)`;
  if (walk !== p.walk) {
    p.walk = walk;
    // drawn each on its own: where the walk starts, the frame, each VMA it
    // visits (a VMA the query only passes lights up the run that holds it);
    // the picture may take another shape for them, as a step's would
    const ends = [walk.start.kind === 'anon_vma' ? `av${walk.start.id}` : `file${walk.start.id}`, `pfn${walk.pfn}`];
    p.walkIds = [...ends, ...walk.visits.map((v) => `vma${v.vma}`)];
    p.stepIds = [];
    p.walkFollow = false;
    // A walk whose visits cannot all be drawn at the floor (a big session:
    // 20 lanes of visits, each at least a lane's heading and a row) opens
    // only where it is, the step's VMA, in a picture folded for the walk's
    // two ends: the anon_vma, the frame and the step's VMA then share the
    // view at every step, and a step costs one layout, no trials.
    const lanes = new Set(walk.visits.map((v) => v.pid)).size;
    const least = lanes * MIN_LANE * (floorPx() / FONT) > p.zoom.size().h;
    const small = () => scaleOf(p, p.lay) < floorPx() / FONT - 1e-6;
    // (what the step marked may fold now: a picture too large is laid out again too)
    if (!least && (small() || p.walkIds.some((id) => !p.lay.byId.has(id) && holds(p, id)))) { relayout(p); p.zoom.refit(bounds(p)); }
    if (least || small()) {
      p.walkFollow = true;
      p.walkIds = ends;
      relayout(p);
      p.walkBase = p.sticky;
      p.zoom.refit(bounds(p));
    }
  }
  const here = step?.probe?.vma ?? step?.visit?.vma;
  if (p.walkFollow && here !== undefined && p.stepIds[0] !== `vma${here}`) {
    p.stepIds = [`vma${here}`];
    const v = p.ix.vmas.get(here);
    const folds = { vmas: new Set(p.walkBase.vmas), collapsed: new Set(p.walkBase.collapsed) };
    folds.vmas.delete(here);
    if (v) folds.collapsed.delete(`proc${v.pid}`);
    p.sticky = folds;
    place(p, folds);
    p.zoom.refit(bounds(p));
  }
  if (refit) p.zoom.refit(bounds(p));
  // in view: the VMA the step is at, the anon_vma or file whose tree the
  // walk searches, the walked frame - all three where the floor lets them
  // share the view, else the first two, else the VMA (in a big session the
  // view follows the walk from lane to lane)
  const start = walk.start.kind === 'anon_vma' ? `av${walk.start.id}` : `file${walk.start.id}`;
  const vid = step?.probe?.vma ?? step?.visit?.vma;
  const sets = vid === undefined ? [[start, `pfn${walk.pfn}`], [start]] : [[`vma${vid}`, start, `pfn${walk.pfn}`], [`vma${vid}`, start], [`vma${vid}`]];
  // an object folded into a run or a collapsed lane: that box
  const shown = (id) => p.lay?.byId.get(p.nodes[id]?.dataset.id || id);
  const boxes = sets.map((ids) => ids.map(shown).filter(Boolean)).filter((b) => b.length).map(union);
  const b = boxes.find((x) => p.zoom.fits(x)) || boxes[boxes.length - 1];
  if (b) p.zoom.reveal(b);
}

// what the note over the picture says at a walk's step: where it starts,
// and a visit's address worked out as the kernel does (vma_address:
// vm_start + ((index - vm_pgoff) << PAGE_SHIFT))
function walkNote(p, walk, step) {
  const lines = [walk.dangling ? `pfn ${walk.pfn}: page->mapping names a freed anon_vma #${walk.start.id}`
    : `pfn ${walk.pfn}, index ${hex(walk.index)}: walk from ${walk.start.kind === 'anon_vma' ? 'anon_vma' : 'file'} #${walk.start.id}`];
  const v = step?.visit;
  if (v) {
    const vma = p.ix?.vmas.get(v.vma);
    if (vma) {
      lines.push(`vma #${v.vma} (pid ${v.pid}): vm_start + ((index − vm_pgoff) << PAGE_SHIFT)`);
      lines.push(`= ${vma.start} + ((${hex(walk.index)} − ${hex(vma.pgoff)}) << 12) = ${v.addr}  ${v.mapped ? '✓ its PTE maps the page' : '✗ not mapped there'}`);
    }
  } else if (step?.probe) {
    lines.push(`examining ${step.probe.avc !== undefined ? `avc #${step.probe.avc} (vma #${step.probe.vma})` : `vma #${step.probe.vma}`}: ${step.probe.step}`);
  }
  return lines;
}

export async function renderGraph(container, st, handlers = {}) {
  const p = picture(container);
  const t0 = performance.now();
  if (p.session !== handlers.session) {
    // another session: nothing to compare with, nowhere remembered
    p.session = handlers.session;
    p.mem = { rx: 0 };
    p.prev = null; p.prevLayout = null; p.collapsed.clear(); p.focus = null; p.shape = null;
    forget(p);
  }
  p.handlers = handlers;
  p.selected = handlers.selected || (() => null);
  p.st = st;
  p.ix = index(st);
  const same = p.prev && p.prev.version === st.version;
  if (!same) {
    const d = diff(p.prev, st);
    p.marks = d.marks;
    p.removed = d.removed;
  }
  p.badIds = violationTargets(handlers.violations);
  if (!same) p.prevLayout = p.lay;
  relayout(p);
  p.prev = st;
  // a walk's note (and the room it takes) comes back when walk.js paints the walk
  p.note.hidden = true;
  p.zoom.reserve = 0;
  p.svg.style.height = '';
  p.zoom.refit(bounds(p));
  container.dataset.renderMs = (performance.now() - t0).toFixed(1);
  container.dataset.version = String(st.version);
  return {
    // a walk may open what was folded: always the picture's current objects
    get nodes() { return p.nodes; }, get info() { return p.info; }, get layout() { return p.lay; }, root: p.layer,
    walkStep: (walk, step) => walkStep(p, walk, step),
    fit: () => p.zoom.fit(),
  };
}

export function pictureOf(container) { return pictures.get(container); }
