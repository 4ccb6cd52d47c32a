// itree.js - the interval tree a walk searches, drawn as the red-black tree
// it is: anon_vma->rb_root (its anon_vma_chains) or the file's i_mmap (its
// VMAs).  Each node shows its page-offset interval [start..last] and its
// subtree's largest last, the value that lets the stabbing query skip a
// whole subtree.  The node the walk examines now is marked, and so are the
// ones it matched.

import { hex } from './api.js';

const NS = 'http://www.w3.org/2000/svg';
// drawn as an indented tree, to fit a narrow column: one row per node in
// key order (the left subtree above its parent, the right below), indented
// by depth; the column's width bounds the drawing, never its labels
const FONT = 9.5, CH = 5.8, LINE = 11, PAD = 5, INDENT = 14, GAP_Y = 5;
// large type draws it this much larger, as far as the column allows
const LARGE = 1.3;

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

// Draw the tree into box; mark(key) says 'probe', 'match' or nothing.
export function drawTree(box, nodes, mark) {
  // the same tree at the same size (a walk's next step): only its marks change
  const large = document.body.classList.contains('large');
  if (nodes && box.drawnTree === nodes && box.drawnLarge === large) {
    for (const g of box.querySelectorAll('.tree-node')) {
      const cls = `tree-node ${g.dataset.color} ${mark(Number(g.dataset.key)) || ''}`;
      if (g.getAttribute('class') !== cls) g.setAttribute('class', cls);
    }
    return;
  }
  box.drawnTree = nodes;
  box.drawnLarge = large;
  box.replaceChildren();
  if (!nodes || !nodes.length) return;
  const byKey = new Map(nodes.map((n) => [n.key, { ...n, left: null, right: null }]));
  let root = null;
  for (const n of byKey.values()) {
    if (n.tree_parent === null || n.tree_parent === undefined) root = n;
    else {
      const p = byKey.get(n.tree_parent);
      if (p) p[n.side] = n;
    }
  }
  if (!root) return;
  const lines = (n) => [n.label, `${hex(n.pgoff_start)}..${hex(n.pgoff_last)}`, `max ${hex(n.subtree_last)}`];
  const W = Math.ceil(PAD * 2 + CH * Math.max(...[...byKey.values()].flatMap((n) => lines(n).map((t) => t.length))));
  const H = PAD * 2 + LINE * 3 - 2;
  let rank = 0, depth = 0;
  const place = (n, d) => {
    if (!n) return;
    place(n.left, d + 1);
    n.x = d * INDENT;
    n.y = rank++ * (H + GAP_Y);
    depth = Math.max(depth, d);
    place(n.right, d + 1);
  };
  place(root, 0);
  const width = depth * INDENT + W, height = rank * (H + GAP_Y) - GAP_Y;
  const svg = el('svg', { viewBox: `-1 -1 ${width + 2} ${height + 2}`, role: 'img',
    'aria-label': 'the interval tree the walk searches' }, box);
  // as large as large type asks, no wider than the column: nothing is cut
  const grow = large ? LARGE : 1;
  const room = box.clientWidth || width + 2;
  const k = Math.min(grow, room / (width + 2));
  svg.style.width = `${(width + 2) * k}px`;
  svg.style.height = `${(height + 2) * k}px`;
  box.dataset.scale = k.toFixed(3);
  // a child hangs from its parent's left edge: down (or up) the indent, then in
  for (const n of byKey.values()) {
    for (const c of [n.left, n.right]) {
      if (!c) continue;
      const x = c.x - INDENT / 2;
      const y0 = c === n.left ? n.y : n.y + H, y1 = c.y + H / 2;
      el('path', { d: `M${x},${y0} L${x},${y1} L${c.x},${y1}`, class: 'tree-edge' }, svg);
    }
  }
  for (const n of byKey.values()) {
    const m = mark(n.key) || '';
    const g = el('g', { class: `tree-node ${n.color} ${m}`, 'data-key': String(n.key), 'data-color': n.color,
      transform: `translate(${n.x},${n.y})` }, svg);
    el('rect', { width: W, height: H, rx: 4 }, g);
    lines(n).forEach((text, i) => {
      const t = el('text', { x: PAD, y: PAD + FONT - 1 + i * LINE, ...(i === 2 ? { class: 'max' } : {}) }, g);
      t.textContent = text;
    });
  }
}
