// graph.js - the session as one graph, laid out by ELK (layered): processes
// as boxes holding their VMAs, anon_vmas with their parent edges and the
// anon_vma_chains that tie them to VMAs, each VMA's own ->anon_vma drawn
// bold, files with their i_mmap edges, frames with page->mapping.  Hovering
// or clicking any object highlights everything linked to it.

import { hex } from './api.js';

const NS = 'http://www.w3.org/2000/svg';
const elk = new ELK();

function el(tag, attrs = {}, parent) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}


const cut = (t, n = 44) => (t.length > n ? t.slice(0, n - 1) + '…' : t);

// 1 2 3 5 7 8 -> "1–3, 5, 7–8"
function ranges(nums) {
  const out = [];
  for (let i = 0; i < nums.length; i++) {
    let j = i;
    while (j + 1 < nums.length && nums[j + 1] === nums[j] + 1) j++;
    out.push(j > i ? `${nums[i]}–${nums[j]}` : `${nums[i]}`);
    i = j;
  }
  return out.join(', ');
}

// The ELK graph, plus what each node/edge means for highlighting.
export function buildGraph(st) {
  const children = [];
  const edges = [];
  const info = {};
  const add = (id, kind, labels, data, w = 150) => {
    info[id] = { kind, data, links: new Set() };
    const longest = Math.max(...labels.map((t) => t.length));
    return { id, width: Math.max(w, 12 + 6.7 * longest), height: 10 + 14 * labels.length,
      labels: labels.map((t) => ({ text: t })) };
  };
  // edges have ids that name what they are (avc7, ptr3 = vma #3's ->anon_vma,
  // parent2, root3, imap4 = vma #4 in its file's i_mmap, map5 = pfn 5's
  // page->mapping, pte1:0x7f.. = a PTE), so highlighting and walks can find them
  const link = (a, b, kind, label, id = `e${edges.length}`) => {
    edges.push({ id, sources: [a], targets: [b], kind,
      labels: label ? [{ text: label, width: 6.2 * label.length + 4, height: 12 }] : [] });
    info[a]?.links.add(b);
    info[b]?.links.add(a);
    info[id] = { kind: 'edge', ends: [a, b] };
  };
  for (const p of st.processes) {
    const pid = `proc${p.pid}`;
    const box = add(pid, 'proc', [`pid ${p.pid}` + (p.ppid ? ` (parent ${p.ppid})` : '')], p);
    box.children = [];
    box.layoutOptions = { 'elk.padding': '[top=24,left=8,bottom=8,right=8]',
      'elk.direction': 'RIGHT' };
    for (const v of p.vmas) {
      const kind = v.file ? (v.shmem ? 'shmem' : v.file_name) : 'anon';
      const node = add(`vma${v.id}`, 'vma', [
        `vma #${v.id} ${v.prot}${v.flags.includes('shared') ? 's' : 'p'} ${kind}`,
        `${v.start}–${v.end}`,   // in full: a shortened address is ambiguous
        `pgoff ${hex(v.pgoff)} (${v.pages} pages)`,
      ], { ...v, pid: p.pid }, 190);
      info[`vma${v.id}`].links.add(pid);
      box.children.push(node);
    }
    children.push(box);
  }
  for (const a of st.anon_vmas) {
    const counters = 'degree' in a ? `degree ${a.degree}`
      : `children ${a.num_children} active ${a.num_active_vmas}`;
    const av = add(`av${a.id}`, 'av', [`anon_vma #${a.id}`, counters,
      `refcount ${a.refcount} root #${a.root}`], a, 170);
    av.width += 24;   // an ellipse holds less than its box: room for the lines' ends
    av.height += 6;
    children.push(av);
  }
  for (const f of st.files) {
    children.push(add(`file${f.id}`, 'file', [f.shmem ? `shmem #${f.id}` : `file ${f.name}`,
      `${f.pages} pages, i_mmap ${f.i_mmap.length}`], f, 160));
  }
  // A file's cached pages that no PTE maps (mapcount 0) are one node, not one
  // each: a 64-page file would otherwise be a row of 64 boxes.
  const unmapped = (fr) => fr.mapping.kind === 'file' && fr.mapcount === 0;
  const cached = new Map();   // file id -> its unmapped frames
  for (const fr of st.frames) {
    if (unmapped(fr)) cached.set(fr.mapping.id, [...(cached.get(fr.mapping.id) || []), fr]);
  }
  for (const [fid, frames] of [...cached]) {
    if (frames.length < 4) { cached.delete(fid); continue; }
    const node = add(`cache${fid}`, 'frame', [`file #${fid}: ${frames.length} cached pages`,
      'that no PTE maps (mapcount 0):', cut(`pfn ${ranges(frames.map((f) => f.pfn))}`),
      cut(`index ${ranges(frames.map((f) => f.index))}`)], { file: fid, pfns: frames.map((f) => f.pfn) }, 180);
    children.push(node);
  }
  const collapsed = (fr) => unmapped(fr) && cached.has(fr.mapping.id);
  for (const fr of st.frames) {
    if (collapsed(fr)) continue;
    const map = fr.mapping.kind === 'anon_vma' ? `anon_vma #${fr.mapping.id}`
      : fr.mapping.kind === 'file' ? `file #${fr.mapping.id}` : 'none';
    const freed = fr.mapping.kind === 'anon_vma' && !st.anon_vmas.some((a) => a.id === fr.mapping.id);
    children.push(add(`pfn${fr.pfn}`, 'frame', [`pfn ${fr.pfn} → ${map}${freed ? ' (FREED)' : ''}`,
      `index ${hex(fr.index)} mapcount ${fr.mapcount}` + (fr.flags.includes('anon_exclusive') ? ' excl' : '')], fr, 180));
  }
  const known = new Set(children.map((c) => c.id));
  for (const a of st.anon_vmas) {
    if (a.parent !== a.id) link(`av${a.id}`, `av${a.parent}`, 'parent', 'parent', `parent${a.id}`);
    if (a.root !== a.id && a.root !== a.parent) link(`av${a.id}`, `av${a.root}`, 'root', 'root', `root${a.id}`);
    for (const c of a.avcs) link(`vma${c.vma}`, `av${a.id}`, 'avc', `avc ${c.id}`, `avc${c.id}`);
  }
  for (const p of st.processes) {
    for (const v of p.vmas) {
      if (v.anon_vma !== null) link(`vma${v.id}`, `av${v.anon_vma}`, 'anon_vma', '->anon_vma', `ptr${v.id}`);
    }
    for (const pte of p.ptes) {
      if (!pte.present || pte.zero) continue;
      const v = p.vmas.find((x) => BigInt(x.start) <= BigInt(pte.addr) && BigInt(pte.addr) < BigInt(x.end));
      if (v && known.has(`pfn${pte.pfn}`)) link(`vma${v.id}`, `pfn${pte.pfn}`, 'pte', '', `pte${p.pid}:${pte.addr}`);
    }
  }
  for (const f of st.files) for (const m of f.i_mmap) link(`file${f.id}`, `vma${m.vma}`, 'i_mmap', 'i_mmap', `imap${m.vma}`);
  for (const fid of cached.keys()) if (known.has(`file${fid}`)) link(`cache${fid}`, `file${fid}`, 'mapping', 'mapping', `mapc${fid}`);
  for (const fr of st.frames) {
    if (collapsed(fr)) continue;
    const target = fr.mapping.kind === 'anon_vma' ? `av${fr.mapping.id}` : `file${fr.mapping.id}`;
    if (fr.mapping.kind !== 'none') {
      if (known.has(target)) link(`pfn${fr.pfn}`, target, 'mapping', 'mapping', `map${fr.pfn}`);
      else info[`pfn${fr.pfn}`].dangling = true;   // page->mapping names a freed anon_vma
    }
  }
  // Many VMAs of one process side by side would make one very wide row: invisible 'grid'
  // edges from each to the one a row further put them in rows of about
  // sqrt(n) instead (a row is a layer of the layered layout).
  const grid = (ids) => {
    if (ids.length <= 6) return;
    const cols = Math.ceil(Math.sqrt(ids.length));
    for (let i = 0; i + cols < ids.length; i++) {
      edges.push({ id: `e${edges.length}`, sources: [ids[i]], targets: [ids[i + cols]], kind: 'grid', labels: [] });
    }
  };
  for (const p of st.processes) grid(p.vmas.map((v) => `vma${v.id}`));
  return {
    graph: {
      id: 'root',
      layoutOptions: {
        'elk.algorithm': 'layered', 'elk.direction': 'DOWN',
        'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
        'elk.layered.spacing.nodeNodeBetweenLayers': '50', 'elk.spacing.nodeNode': '14',
        'elk.edgeLabels.inline': 'true',
        'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',   // VMAs in address order
      },
      children, edges,
    },
    info,
  };
}

export async function renderGraph(container, st, handlers) {
  const { graph, info } = buildGraph(st);
  const laid = await elk.layout(graph);
  const svg = el('svg', { viewBox: `0 0 ${laid.width + 10} ${laid.height + 10}`,
    width: laid.width + 10, height: laid.height + 10, role: 'img' });
  svg.style.setProperty('--w', `${laid.width + 10}px`);   // its natural width, for large type (style.css)
  const nodes = {};
  const drawNode = (n, ox, oy, parent) => {
    const meta = info[n.id];
    const g = el('g', { class: `node ${meta.kind}${meta.dangling ? ' dangling' : ''}`,
      'data-id': n.id, 'data-obj': n.id, tabindex: 0 }, parent);
    if (meta.data?.pfns) g.dataset.pfns = meta.data.pfns.join(' ');
    const x = ox + n.x, y = oy + n.y;
    if (meta.kind === 'av') {
      el('ellipse', { cx: x + n.width / 2, cy: y + n.height / 2, rx: n.width / 2, ry: n.height / 2 }, g);
    } else if (meta.kind === 'file') {
      el('polygon', { points: `${x},${y} ${x + n.width - 12},${y} ${x + n.width},${y + 12} ${x + n.width},${y + n.height} ${x},${y + n.height}` }, g);
    } else {
      el('rect', { x, y, width: n.width, height: n.height, rx: meta.kind === 'frame' ? 0 : 4 }, g);
    }
    (n.labels || []).forEach((l, i) => {
      // an ellipse's text is centred: its corners would cut the lines' ends
      const t = meta.kind === 'av' ? el('text', { x: x + n.width / 2, y: y + 14 + 14 * i, 'text-anchor': 'middle' }, g)
        : el('text', { x: x + 6, y: y + 14 + 14 * i }, g);
      t.textContent = l.text;
    });
    nodes[n.id] = g;
    for (const c of n.children || []) drawNode(c, x, y, g);
  };
  const edgeLayer = el('g', {}, svg);
  for (const n of laid.children) drawNode(n, 5, 5, svg);
  const labelLayer = el('g', { class: 'edge-labels' }, svg);   // above the nodes, so always readable
  const kinds = new Map(graph.edges.map((x) => [x.id, x.kind]));
  const drawEdges = (container, ox, oy) => {
    for (const e of container.edges || []) {
      const kind = kinds.get(e.id) || '';
      if (kind === 'grid') continue;   // layout only
      const g = el('g', { class: `edge ${kind}`, 'data-id': e.id, 'data-obj': e.id }, edgeLayer);
      for (const s of e.sections || []) {
        const pts = [s.startPoint, ...(s.bendPoints || []), s.endPoint];
        // a wide invisible stroke under the drawn one makes a thin edge easy to hover
        const d = 'M' + pts.map((p) => `${p.x + ox + 5},${p.y + oy + 5}`).join(' L');
        el('path', { d, class: 'hit' }, g);
        el('path', { d, class: 'line', 'marker-end': `url(#arrow-${kind})` }, g);
      }
      for (const l of e.labels || []) {
        if (l.x === undefined) continue;
        const lg = el('g', { class: `edge-label ${kind}`, 'data-obj': e.id }, labelLayer);
        el('rect', { x: l.x + ox + 5 - 1, y: l.y + oy + 5 - 1, width: l.width + 2, height: l.height + 2, rx: 2 }, lg);
        const t = el('text', { x: l.x + ox + 5 + 2, y: l.y + oy + 5 + l.height - 2 }, lg);
        t.textContent = l.text;
      }
      nodes[e.id] = g;
    }
    for (const c of container.children || []) drawEdges(c, ox + (c.x || 0), oy + (c.y || 0));
  };
  drawEdges(laid, 0, 0);
  const defs = el('defs', {}, svg);
  for (const kind of new Set(kinds.values())) {
    const m = el('marker', { id: `arrow-${kind}`, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6,
      orient: 'auto', class: `arrow ${kind}` }, defs);
    el('path', { d: 'M0,0 L10,5 L0,10 z' }, m);
  }
  container.replaceChildren(svg);
  for (const [id, g] of Object.entries(nodes)) {
    g.addEventListener('mouseenter', (ev) => { ev.stopPropagation(); handlers.hover?.(id, info[id]); });
    g.addEventListener('mouseleave', (ev) => { ev.stopPropagation(); handlers.leave?.(id); });
    g.addEventListener('click', (ev) => { ev.stopPropagation(); handlers.select?.(id, info[id]); });
  }
  // a page inside its file's page-cache node answers to its own pfn too (walks, the frames table)
  for (const [id, meta] of Object.entries(info)) {
    for (const pfn of meta.data?.pfns || []) {
      nodes[`pfn${pfn}`] = nodes[id];
      info[`pfn${pfn}`] ??= meta;
    }
  }
  return { nodes, info };
}
