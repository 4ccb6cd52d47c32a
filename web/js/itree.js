// itree.js - the interval tree a walk searches, drawn as the red-black tree
// it is: anon_vma->rb_root (its anon_vma_chains) or the file's i_mmap (its
// VMAs).  Each node shows its page-offset interval [start..last] and its
// subtree's largest last, the value that lets the stabbing query skip a
// whole subtree.  The node the walk examines now is marked, and so are the
// ones it matched.

import { hex } from './api.js';

const NS = 'http://www.w3.org/2000/svg';
// drawn sideways, to fit a narrow column: depth to the right, key order down
const W = 100, H = 50, GAP_X = 10, GAP_Y = 5;

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
  // x by depth, y by in-order rank (the left child above, the right below)
  let rank = 0, depth = 0;
  const place = (n, d) => {
    if (!n) return;
    place(n.left, d + 1);
    n.x = d * (W + GAP_X);
    n.y = rank++ * (H + GAP_Y);
    depth = Math.max(depth, d);
    place(n.right, d + 1);
  };
  place(root, 0);
  const width = (depth + 1) * (W + GAP_X), height = rank * (H + GAP_Y);
  const svg = el('svg', { viewBox: `-2 -2 ${width + 4} ${height + 4}`, width: width + 4, height: height + 4,
    role: 'img', 'aria-label': 'the interval tree the walk searches' }, box);
  svg.style.setProperty('--tw', `${width + 4}px`);   // its natural width, for large type (style.css)
  for (const n of byKey.values()) {
    for (const c of [n.left, n.right]) {
      if (c) el('line', { x1: n.x + W, y1: n.y + H / 2, x2: c.x, y2: c.y + H / 2, class: 'tree-edge' }, svg);
    }
  }
  for (const n of byKey.values()) {
    const m = mark(n.key) || '';
    const g = el('g', { class: `tree-node ${n.color} ${m}`, 'data-key': String(n.key), transform: `translate(${n.x},${n.y})` }, svg);
    el('rect', { width: W, height: H, rx: 4 }, g);
    const lines = [[n.label], [`${hex(n.pgoff_start)}..`], [hex(n.pgoff_last)], [`max ${hex(n.subtree_last)}`, 'max']];
    lines.forEach(([text, cls], i) => {
      const t = el('text', { x: 5, y: 12 + i * 11, ...(cls ? { class: cls } : {}) }, g);
      t.textContent = text;
    });
  }
}
