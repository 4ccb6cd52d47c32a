// itree.js - the interval tree a walk searches, drawn as the red-black tree
// it is: anon_vma->rb_root (its anon_vma_chains) or the file's i_mmap (its
// VMAs).  Each node shows its page-offset interval [start..last] and its
// subtree's largest last, the value that lets the stabbing query skip a
// whole subtree.  The node the walk examines now is marked, and so are the
// ones it matched.

import { hex } from './api.js';
import { floorPx } from './graph.js';

const NS = 'http://www.w3.org/2000/svg';
// drawn as an indented tree, to fit a narrow column: one row per node in
// key order (the left subtree above its parent, the right below), indented
// by depth.  Its text is the picture's own floor in large type (18 px on a
// 1920-wide screen, 14 px at 1280): the class reads the tree as it reads
// the graph; 10 px in normal type (the graph's 8 px floor at 1024 is for a
// drawing that can be zoomed; the tree cannot).  Sizes are in ems of it.
const LINE = 1.2, PAD = 0.35, GAP = 0.35;
// the SVG's margin around the tree, in px: room for a marked node's thick outline
const MARGIN = 2;

function el(tag, attrs = {}, parent) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

// The tree's nodes for a walk: [{ key, label, start, last, subtree_last,
// color, tree_parent, side }], key being the avc id or the vma id the
// walk's probes name.
export function treeOf(state, walk) {
  if (!state || !walk || walk.dangling) return null;
  if (walk.start.kind === 'anon_vma') {
    const av = state.anon_vmas.find((a) => a.id === walk.start.id);
    return av && av.avcs.map((a) => ({ ...a, key: a.id, label: `avc ${a.id}→vma #${a.vma}` }));
  }
  const f = state.files.find((x) => x.id === walk.start.id);
  return f && f.i_mmap.map((v) => ({ ...v, key: v.vma, label: `vma #${v.vma} pid ${v.pid}` }));
}

// The ways a node can be worded and the tree indented, widest first: the
// interval on one line, or its two ends on lines of their own (an anon
// interval, 0x7f0000000..0x7f0000001, is too wide for a 1280 column in
// large type); then a shallower indent.
const SHAPES = [
  { lines: (n) => [n.label, `${hex(n.pgoff_start)}..${hex(n.pgoff_last)}`, `max ${hex(n.subtree_last)}`], indent: 1.1 },
  { lines: (n) => [n.label, `start ${hex(n.pgoff_start)}`, `last ${hex(n.pgoff_last)}`, `max ${hex(n.subtree_last)}`], indent: 1.1 },
  { lines: (n) => [n.label, `start ${hex(n.pgoff_start)}`, `last ${hex(n.pgoff_last)}`, `max ${hex(n.subtree_last)}`], indent: 0.6 },
];

// the nodes linked into their tree, each at its row (key order) and depth
function linked(nodes) {
  const byKey = new Map(nodes.map((n) => [n.key, { ...n, left: null, right: null }]));
  let root = null;
  for (const n of byKey.values()) {
    if (n.tree_parent === null || n.tree_parent === undefined) root = n;
    else {
      const p = byKey.get(n.tree_parent);
      if (p) p[n.side] = n;
    }
  }
  let rank = 0, depth = 0;
  const place = (n, d) => {
    if (!n) return;
    place(n.left, d + 1);
    n.depth = d;
    n.row = rank++;
    depth = Math.max(depth, d);
    place(n.right, d + 1);
  };
  place(root, 0);
  return root && { all: [...byKey.values()], rows: rank, depth };
}

// Each text's width and the font's ascent and descent, as this browser
// draws them at the tree's size (measured, not guessed from a font)
function measure(svg, texts) {
  const probe = el('g', {}, svg);
  const els = texts.map((s) => { const t = el('text', {}, probe); t.textContent = s; return t; });
  const width = new Map(texts.map((s, i) => [s, els[i].getComputedTextLength()]));
  const b = els[0].getBBox();
  probe.remove();
  return { width, ascent: -b.y, descent: b.height + b.y };
}

// Draw the tree into box; mark(key) says 'probe', 'match' or nothing.
// box.dataset says how it was drawn: scale (1 at the floor), px (the text
// on screen), pitch (a row's height on screen), gap, rows.
export function drawTree(box, nodes, mark) {
  // the same tree at the same size (a walk's next step): only its marks change
  const px = Math.max(10, floorPx()), room = box.clientWidth;
  if (nodes && box.drawnTree === nodes && box.drawnPx === px && box.drawnRoom === room) {
    for (const g of box.querySelectorAll('.tree-node')) {
      const cls = `tree-node ${g.dataset.color} ${mark(Number(g.dataset.key)) || ''}`;
      if (g.getAttribute('class') !== cls) g.setAttribute('class', cls);
    }
    return;
  }
  box.drawnTree = nodes;
  box.drawnPx = px;
  box.drawnRoom = room;
  box.replaceChildren();
  for (const k of ['scale', 'px', 'pitch', 'gap', 'rows']) delete box.dataset[k];
  const tree = nodes && nodes.length ? linked(nodes) : null;
  if (!tree) return;
  const svg = el('svg', { role: 'img', 'aria-label': 'the interval tree the walk searches' }, box);
  svg.style.fontSize = `${px}px`;
  const m = measure(svg, [...new Set(SHAPES.flatMap((s) => tree.all.flatMap((n) => s.lines(n))))]);
  const pad = PAD * px, line = LINE * px, gap = GAP * px;
  // the first shape that fits the column at the floor; else the last, shrunk
  // to the column (below the floor, but whole)
  const sized = SHAPES.map((s) => {
    const w = Math.ceil(2 * pad + Math.max(...tree.all.flatMap((n) => s.lines(n).map((t) => m.width.get(t)))));
    return { ...s, w, indent: s.indent * px, width: tree.depth * s.indent * px + w + 2 * MARGIN };
  });
  const shape = sized.find((s) => s.width <= room) || sized[sized.length - 1];
  const n = shape.lines(tree.all[0]).length;
  const H = 2 * pad + m.ascent + m.descent + (n - 1) * line;
  const width = shape.width, height = tree.rows * (H + gap) - gap + 2 * MARGIN;
  const k = Math.min(1, room / width);
  svg.setAttribute('viewBox', `${-MARGIN} ${-MARGIN} ${width} ${height}`);
  svg.style.width = `${width * k}px`;
  svg.style.height = `${height * k}px`;
  Object.assign(box.dataset, { scale: k.toFixed(3), px: (px * k).toFixed(2), pitch: ((H + gap) * k).toFixed(3),
    gap: (gap * k).toFixed(3), rows: String(tree.rows), margin: (MARGIN * k).toFixed(3) });
  const at = (x) => ({ x: x.depth * shape.indent, y: x.row * (H + gap) });
  // a child hangs from its parent's left edge: down (or up) the indent, then in
  for (const p of tree.all) {
    for (const c of [p.left, p.right]) {
      if (!c) continue;
      const a = at(p), b = at(c), x = b.x - shape.indent / 2;
      const y0 = c === p.left ? a.y : a.y + H, y1 = b.y + H / 2;
      el('path', { d: `M${x},${y0} L${x},${y1} L${b.x},${y1}`, class: 'tree-edge' }, svg);
    }
  }
  for (const x of tree.all) {
    const { x: tx, y: ty } = at(x);
    const g = el('g', { class: `tree-node ${x.color} ${mark(x.key) || ''}`, 'data-key': String(x.key), 'data-color': x.color,
      'data-row': String(x.row), transform: `translate(${tx},${ty})` }, svg);
    el('rect', { width: shape.w, height: H, rx: 4 }, g);
    shape.lines(x).forEach((text, i) => {
      const t = el('text', { x: pad, y: pad + m.ascent + i * line, ...(i === n - 1 ? { class: 'max' } : {}) }, g);
      t.textContent = text;
    });
  }
}
