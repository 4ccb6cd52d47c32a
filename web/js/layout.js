// layout.js - where each object of a session goes in the picture, by the
// domain's rules rather than a general graph layout (which took minutes on
// 200 VMAs).  Two columns, as in the kernel's own anon_vma diagrams:
//
//   left:  one lane per process, in pid order (a child's pid is always above
//          its parent's, so pid order puts parents first); each lane holds
//          the process's VMAs in address order, a few to a row;
//   right: the anon_vma forest in preorder (each root, then its subtree,
//          children by id, indented by depth: the root on top), each with
//          the frames whose page->mapping names it; then a freed anon_vma
//          that some page->mapping still names; then the files, each with
//          its page cache; then the zero page when a PTE maps it.
//
// Edges: each anon_vma_chain and each VMA's own ->anon_vma (VMA to
// anon_vma), each i_mmap entry (VMA to file), a frame group's page->mapping,
// an anon_vma's ->parent (an elbow along the indent) and PTEs (drawn only
// when lit).  Everything is O(objects).  Pure: no DOM, so a Worker could
// run it; text widths come from a monospace advance (CH per character).
//
// Folding (graph.js decides what, to keep text readable): opts.folded
// names VMAs drawn as part of a run, one box for consecutive VMAs alike in
// protection, sharing and backing ("vma #3 … #20: 18 VMAs"), edges drawn
// once per kind and target; opts.collapsed names lanes drawn as their
// heading and anon_vmas whose subtree (and its frames) is hidden, edges to
// a hidden anon_vma ending at the collapsed one that stands for it.
//
// Stability: new processes (the largest pid) and new anon_vmas mostly come
// last, a row of the right column is as tall as its box and frames, and
// the right column starts where the widest lane ever drawn ended (mem.rx,
// afresh when the folds change): so a step moves only what it changed and
// what lies below something it added, removed or resized in the same
// column.

export const FONT = 14, LINE = 18, CH = 8.7, PAD = 8;
const GAP = 12, COL_GAP = 56, INDENT = 14, ROW_GAP = 8, GROUP_GAP = 24, LANE_HEAD = LINE + 6;
// the least height of a lane that shows a VMA: its heading, one compact row
export const MIN_LANE = LANE_HEAD + PAD * 2 + LINE * 2 - 4 + PAD + ROW_GAP;
// VMAs to a row of a lane: the caller picks the count that lets the
// picture fit its box largest (graph.js tries a few)
export const COLS = [1, 2, 3, 4, 6];
// frames to a row of a frame group: likewise (opts.fpr)
export const FPR = [2, 1];

const hex = (n) => `0x${n.toString(16)}`;
const cut = (t, n) => (t.length > n ? t.slice(0, n - 1) + '…' : t);

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

export const textWidth = (t) => t.length * CH;

function box(id, kind, lines, minW = 0) {
  const w = Math.max(minW, PAD * 2 + Math.max(...lines.map(textWidth)));
  return { id, kind, lines, w: Math.ceil(w), h: PAD * 2 + LINE * lines.length - 4, x: 0, y: 0 };
}

// Compact boxes (opts.compact: a picture that would not fit its box at the
// text floor otherwise) say the same in two lines: an anonymous VMA whose
// vm_pgoff is its start >> PAGE_SHIFT (as a new anonymous mapping's is)
// leaves the pgoff out, a moved one keeps it; an anon_vma puts its id and
// counters on one line; a frame its pfn and mapcount.
const pagesOf = (n) => `${n} page${n === 1 ? '' : 's'}`;

export function vmaLines(v, compact = false) {
  const file = v.file !== null && v.file !== undefined;
  const kind = file ? (v.shmem ? 'shmem' : cut(v.file_name || 'file', 14)) : 'anon';
  const head = `vma #${v.id} ${v.prot}${v.flags.includes('shared') ? 's' : 'p'} ${kind}`;
  if (compact && !file && BigInt(v.pgoff) === BigInt(v.start) >> 12n) return [`${head} · ${pagesOf(v.pages)}`, `${v.start}–${v.end}`];
  return [head, `${v.start}–${v.end}`, `pgoff ${hex(v.pgoff)} (${pagesOf(v.pages)})`];
}

export function avLines(a, freed = false, compact = false) {
  if (freed) return compact ? [`anon_vma #${a.id} FREED,`, 'still named by page->mapping'] : [`anon_vma #${a.id}`, 'FREED, still named', 'by page->mapping'];
  const counters = 'degree' in a ? `degree ${a.degree}` : `children ${a.num_children} active ${a.num_active_vmas}`;
  const refs = `refcount ${a.refcount} root #${a.root}`;
  return compact ? [`anon_vma #${a.id} ${counters}`, refs] : [`anon_vma #${a.id}`, counters, refs];
}

// VMAs that may share a run box: the same protection, sharing and backing
export const alike = (v) => `${v.prot} ${v.flags.includes('shared') ? 's' : 'p'} ${v.file ?? 'anon'}`;

function runLines(vs) {
  const a = vs[0], z = vs[vs.length - 1];
  const pages = vs.reduce((n, v) => n + v.pages, 0);
  return [`vma #${a.id} … #${z.id}: ${vs.length} VMAs`, `${vmaLines(a)[0].split(' ').slice(2).join(' ')}, ${pages} pages`,
    `${a.start}–${z.end}`];
}

// a lane's boxes in address order: a VMA, or a run of folded alike VMAs
function laneItems(vmas, folded, compact) {
  const items = [];
  for (const v of vmas) {
    const last = items[items.length - 1];
    if (folded.has(v.id) && last?.run && alike(last.vs[0]) === alike(v)) last.vs.push(v);
    else items.push({ run: folded.has(v.id), vs: [v] });
  }
  return items.map((it) => (it.run && it.vs.length > 1
    ? { ...box(`run${it.vs[0].id}`, 'run', runLines(it.vs), 16 * CH), members: it.vs.map((v) => v.id) }
    : { ...box(`vma${it.vs[0].id}`, 'vma', vmaLines(it.vs[0], compact), 16 * CH), members: [it.vs[0].id] }));
}

export function frameLines(f, freed = false, compact = false) {
  const count = `mapcount ${f.mapcount}${f.flags.includes('anon_exclusive') ? ' excl' : ''}`;
  if (compact) return [`pfn ${f.pfn}${freed ? ' FREED' : ''} ${count}`, `index ${hex(f.index)}`];
  return [`pfn ${f.pfn}${freed ? ' (FREED)' : ''}`, `index ${hex(f.index)}`, count];
}

// The preorder of the anon_vma forest: [{ av, depth }]
function forest(avs) {
  const kids = new Map();
  const roots = [];
  const ids = new Set(avs.map((a) => a.id));
  for (const a of [...avs].sort((x, y) => x.id - y.id)) {
    if (a.parent === a.id || !ids.has(a.parent)) roots.push(a);
    else kids.set(a.parent, [...(kids.get(a.parent) || []), a]);
  }
  const out = [];
  const seen = new Set();
  const visit = (a, depth) => {
    if (seen.has(a.id)) return;   // a cycle would be a bug elsewhere: draw each once
    seen.add(a.id);
    out.push({ av: a, depth });
    for (const c of kids.get(a.id) || []) visit(c, depth + 1);
  };
  for (const r of roots) visit(r, 0);
  for (const a of avs) if (!seen.has(a.id)) visit(a, 0);
  return out;
}

// A frame group: the frames one page->mapping names, fpr to a row,
// inside a dashed box the mapping edge points from.
function frameGroup(id, frames, x, y, nodes, fpr) {
  if (!frames.length) return null;
  const g = { id, kind: 'fgroup', lines: [], x, y, w: 0, h: 0 };
  let cx = x + PAD, cy = y + PAD, rowH = 0, maxX = x;
  frames.forEach((f, i) => {
    if (i > 0 && i % fpr === 0) { cx = x + PAD; cy += rowH + GAP / 2; rowH = 0; }
    f.x = cx; f.y = cy;
    cx += f.w + GAP / 2;
    rowH = Math.max(rowH, f.h);
    maxX = Math.max(maxX, f.x + f.w);
    nodes.push(f);
  });
  g.w = maxX + PAD - x;
  g.h = cy + rowH + PAD - y;
  nodes.push(g);
  return g;
}

export function layout(st, mem = { rx: 0 }, opts = {}) {
  const collapsed = opts.collapsed || new Set();
  const folded = opts.folded || new Set();
  const fpr = opts.fpr || FPR[0];
  const compact = !!opts.compact;
  // a mapping's frames beside its box, or under it, indented (opts.under:
  // a narrower picture, for a narrow box such as large type at 1280 wide)
  const groupAt = (b, y) => (opts.under ? [b.x + INDENT, y + b.h + GAP / 2] : [b.x + b.w + GROUP_GAP, y]);
  const rowH = (b, g) => (!g ? b.h : opts.under ? b.h + GAP / 2 + g.h : Math.max(b.h, g.h));
  const nodes = [], edges = [];
  const byId = new Map();
  const put = (n) => { nodes.push(n); byId.set(n.id, n); return n; };

  // ---- left: the lanes ----
  let cursor = 0, leftW = 0;
  const procs = [...st.processes].sort((a, b) => a.pid - b.pid);
  const vmaOf = new Map();   // vma id -> { node, lane, last }
  for (const p of procs) {
    const id = `proc${p.pid}`;
    const y = cursor;
    const shut = collapsed.has(id);
    const head = `pid ${p.pid}` + (p.ppid ? ` (parent ${p.ppid})` : '') + ` · ${p.vmas.length} VMA${p.vmas.length === 1 ? '' : 's'}`
      + (shut ? ' · collapsed' : '');
    const lane = { id, kind: 'proc', lines: [head], x: 0, y, w: 0, h: 0, collapsed: shut };
    const vmas = [...p.vmas].sort((a, b) => (BigInt(a.start) < BigInt(b.start) ? -1 : 1));
    let maxX = PAD + textWidth(head) + PAD, bottom = y + LANE_HEAD;
    if (!shut) {
      const boxes = laneItems(vmas, folded, compact);
      const colW = Math.max(0, ...boxes.map((b) => b.w));
      const rowH = Math.max(0, ...boxes.map((b) => b.h));
      boxes.forEach((b, i) => {
        const cols = Math.min(opts.cols || 2, boxes.length) || 1;
        const col = i % cols, row = Math.floor(i / cols);
        b.x = PAD + col * (colW + GAP);
        b.y = y + LANE_HEAD + row * (rowH + GAP);
        b.w = colW;
        b.pid = p.pid;
        const last = col === cols - 1 || i === boxes.length - 1;
        for (const vid of b.members) vmaOf.set(vid, { node: b, lane, last, gutter: b.y + rowH + GAP / 2 });
        maxX = Math.max(maxX, b.x + b.w + PAD);
        bottom = Math.max(bottom, b.y + b.h + PAD);
        put(b);
      });
    }
    lane.w = maxX;
    lane.h = bottom - y + (shut ? PAD : 0);
    lane.vmaCount = vmas.length;
    put(lane);
    cursor = y + lane.h + ROW_GAP;
    leftW = Math.max(leftW, lane.w);
  }
  for (const n of nodes) if (n.kind === 'proc') n.w = leftW;   // lanes share a right edge: the edges leave from it

  // ---- right: the anon_vma forest with its frames, files, the zero page ----
  // the right column starts where the widest lane ever drawn (with this many
  // VMAs to a row) ended
  const shape = `${opts.cols}/${fpr}/${!!opts.under}/${compact}`;
  if (mem.shape !== shape) { mem.shape = shape; mem.rx = 0; }
  const rx = Math.max(mem.rx || 0, leftW + COL_GAP);
  if (!opts.trial) mem.rx = rx;
  let rcur = 0;
  const row = (id, build) => {
    const y = rcur;
    const h = build(y);
    rcur = y + h + ROW_GAP;
  };
  const avIds = new Set(st.anon_vmas.map((a) => a.id));
  const framesBy = new Map();   // 'av3' / 'file1' / 'none' -> frames
  for (const f of st.frames) {
    const k = f.mapping.kind === 'anon_vma' ? `av${f.mapping.id}` : f.mapping.kind === 'file' ? `file${f.mapping.id}` : 'none';
    if (!framesBy.has(k)) framesBy.set(k, []);
    framesBy.get(k).push(f);
  }
  const frameBox = (f, freed = false) => {
    const b = box(`pfn${f.pfn}`, 'frame', frameLines(f, freed, compact), 12 * CH);
    b.data = f;
    return b;
  };
  // a hidden anon_vma (inside a collapsed subtree) -> the collapsed one drawn for it
  const standIn = new Map();
  const tree = forest(st.anon_vmas);
  const below = new Map();   // collapsed anon_vma id -> how many it hides
  for (const { av } of tree) {
    const up = av.parent !== av.id ? (standIn.get(av.parent) ?? (collapsed.has(`av${av.parent}`) ? av.parent : null)) : null;
    if (up === null || up === undefined) continue;
    standIn.set(av.id, up);
    below.set(up, (below.get(up) || 0) + 1);
  }
  for (const { av, depth } of tree) {
    const id = `av${av.id}`;
    if (standIn.has(av.id)) continue;
    row(id, (y) => {
      const b = box(id, 'av', avLines(av, false, compact), 19 * CH);
      b.x = rx + depth * INDENT;
      b.y = y;
      b.depth = depth;
      b.collapsed = below.has(av.id);
      b.hidden = below.get(av.id) || 0;
      put(b);
      const frames = (framesBy.get(id) || []).map((f) => frameBox(f));
      const g = frameGroup(`fg${id}`, frames, ...groupAt(b, y), nodes, fpr);
      if (g) {
        frames.forEach((f) => byId.set(f.id, f));
        byId.set(g.id, g);
        edges.push({ id: `mapg${av.id}`, kind: 'mapping', from: g.id, to: id, pfns: frames.map((f) => f.data.pfn) });
      }
      return rowH(b, g);
    });
  }
  // pages whose page->mapping names an anon_vma that is gone (legacy mode's bug)
  for (const [k, frames] of framesBy) {
    if (!k.startsWith('av') || avIds.has(Number(k.slice(2)))) continue;
    row(`ghost${k}`, (y) => {
      const b = box(`freed${k.slice(2)}`, 'av', avLines({ id: Number(k.slice(2)) }, true, compact), 19 * CH);
      b.x = rx; b.y = y; b.freed = true;
      put(b);
      const g = frameGroup(`fg${b.id}`, frames.map((f) => frameBox(f, true)), ...groupAt(b, y), nodes, fpr);
      g.dangling = true;
      for (const n of nodes) if (n.kind === 'frame' && !byId.has(n.id)) { n.dangling = true; byId.set(n.id, n); }
      byId.set(g.id, g);
      edges.push({ id: `mapg${b.id}`, kind: 'mapping', from: g.id, to: b.id, dangling: true });
      return rowH(b, g);
    });
  }
  for (const f of [...st.files].sort((a, b) => a.id - b.id)) {
    const id = `file${f.id}`;
    row(id, (y) => {
      const b = box(id, 'file', [f.shmem ? `shmem #${f.id}` : `file ${cut(f.name, 20)}`, `${f.pages} pages, i_mmap ${f.i_mmap.length}`], 21 * CH);
      b.x = rx; b.y = y;
      put(b);
      // a file's cached pages that no PTE maps are one box, not one each
      const all = framesBy.get(id) || [];
      const idle = all.filter((x) => x.mapcount === 0);
      const shown = idle.length >= 4 ? all.filter((x) => x.mapcount > 0) : all;
      const boxes = shown.map((x) => frameBox(x));
      if (idle.length >= 4) {
        const c = box(`cache${f.id}`, 'frame', [`${idle.length} cached pages`, 'no PTE maps them:',
          cut(`pfn ${ranges(idle.map((x) => x.pfn))}`, 22), cut(`index ${ranges(idle.map((x) => x.index))}`, 22)]);
        c.pfns = idle.map((x) => x.pfn);
        boxes.push(c);
      }
      const g = frameGroup(`fg${id}`, boxes, ...groupAt(b, y), nodes, fpr);
      if (g) {
        boxes.forEach((x) => byId.set(x.id, x));
        byId.set(g.id, g);
        edges.push({ id: `mapg${id}`, kind: 'mapping', from: g.id, to: id });
      }
      return rowH(b, g);
    });
  }
  const zeroPtes = [];
  for (const p of st.processes) for (const e of p.ptes) if (e.present && e.zero) zeroPtes.push({ pid: p.pid, e });
  if (zeroPtes.length) {
    const zid = `zero${st.zero_pfn ?? 0}`;
    row(zid, (y) => {
      const b = box(zid, 'frame', ['the zero page', `pfn ${st.zero_pfn ?? 0}, shared, read-only`,
        `${zeroPtes.length} PTE${zeroPtes.length === 1 ? '' : 's'} map it`]);
      b.x = rx; b.y = y; b.zero = true;
      put(b);
      return b.h;
    });
  }
  for (const n of nodes) if (!byId.has(n.id)) byId.set(n.id, n);
  // a trial only asks how large the picture is: the boxes say it
  if (opts.trial) return { nodes, edges, byId, ...extent(nodes) };

  // ---- edges from VMAs: routed out of the lane, then across to the right ----
  const inPorts = new Map();   // target id -> edges arriving, for spreading ports
  const drawn = new Map();     // a run's edges: one per kind and target
  const fromVma = (vid, to0, kind, id, extra = {}) => {
    const src = vmaOf.get(vid);
    const hid = to0.startsWith('av') ? standIn.get(Number(to0.slice(2))) : undefined;
    const to = hid !== undefined ? `av${hid}` : to0;
    const dst = byId.get(to);
    if (!src || !dst) return;
    const from = src.node.id, key = `${from} ${kind} ${to}`;
    const seen = drawn.get(key);
    if (seen) {
      seen.count++;
      if (seen.label) seen.label = `${kind} ×${seen.count}`;
      return;
    }
    // an edge that stands for several keeps a name of its own
    const plain = from === `vma${vid}` && to === to0;
    const e = { id: plain ? id : `${kind}:${from}:${to}`, kind, from, to, count: 1, ...extra };
    if (!plain && e.label) e.label = kind;
    drawn.set(key, e);
    edges.push(e);
    if (!inPorts.has(to)) inPorts.set(to, []);
    inPorts.get(to).push(e);
  };
  for (const p of procs) {
    for (const v of p.vmas) {
      if (v.anon_vma !== null && v.anon_vma !== undefined) fromVma(v.id, `av${v.anon_vma}`, 'anon_vma', `ptr${v.id}`);
      for (const c of v.chain || []) fromVma(v.id, `av${c.anon_vma}`, 'avc', `avc${c.avc}`, { label: `avc ${c.avc}` });
      if (v.file !== null && v.file !== undefined) fromVma(v.id, `file${v.file}`, 'i_mmap', `imap${v.id}`);
    }
    for (const e of p.ptes) {
      if (!e.present) continue;
      const v = p.vmas.find((x) => BigInt(x.start) <= BigInt(e.addr) && BigInt(e.addr) < BigInt(x.end));
      if (!v) continue;
      const to = e.zero ? `zero${st.zero_pfn ?? 0}` : byId.has(`pfn${e.pfn}`) ? `pfn${e.pfn}` : null;
      if (to) fromVma(v.id, to, 'pte', `pte${p.pid}:${e.addr}`);
    }
  }
  // ports on each target's left side, in the order the sources come from
  for (const [to, list] of inPorts) {
    const t = byId.get(to);
    const ys = (e) => byId.get(e.from).y;
    list.sort((a, b) => ys(a) - ys(b) || a.id.localeCompare(b.id));
    list.forEach((e, i) => { e.ty = t.y + (t.h * (i + 1)) / (list.length + 1); });
  }
  const gutterUse = new Map();
  for (const e of edges) {
    if (e.d) continue;
    const t = byId.get(e.to);
    if (e.from.startsWith('vma') || e.from.startsWith('run')) {
      const src = vmaOf.get(Number(e.from.slice(3)));
      const s = src.node, tx = t.x, ty = e.ty;
      const laneR = src.lane.x + src.lane.w;
      let d;
      if (src.last) {
        const sy = s.y + s.h / 2;
        d = `M${s.x + s.w},${sy} L${laneR},${sy} C${laneR + COL_GAP},${sy} ${tx - COL_GAP},${ty} ${tx},${ty}`;
      } else {
        // down into the gutter under the row, along it out of the lane
        const k = gutterUse.get(src.gutter) || 0;
        gutterUse.set(src.gutter, k + 1);
        const gy = src.gutter - GAP / 2 + 2 + (k % 4) * 2.5;
        const sx = s.x + s.w - 10 - (k % 4) * 4;
        d = `M${sx},${s.y + s.h} L${sx},${gy} L${laneR},${gy} C${laneR + COL_GAP},${gy} ${tx - COL_GAP},${ty} ${tx},${ty}`;
      }
      e.d = d;
      e.lx = (laneR + tx) / 2;
      e.ly = (s.y + s.h / 2 + ty) / 2;
    } else if (e.kind === 'mapping') {
      const g = byId.get(e.from);
      const y = t.y + Math.min(t.h, g.h) / 2;
      e.d = g.y >= t.y + t.h ? `M${g.x + PAD},${g.y} L${g.x + PAD},${t.y + t.h}` : `M${g.x},${y} L${t.x + t.w},${y}`;
    }
  }
  // ->parent: an elbow from the child's left side up the parent's indent
  const avById = new Map(st.anon_vmas.map((a) => [`av${a.id}`, a]));
  for (const n of nodes) {
    if (n.kind !== 'av' || n.freed) continue;
    const a = avById.get(n.id);
    if (!a || a.parent === a.id) continue;
    const p = byId.get(`av${a.parent}`);
    if (!p) continue;
    const tx = p.x + INDENT / 2;
    edges.push({ id: `parent${a.id}`, kind: 'parent', from: n.id, to: p.id,
      d: `M${n.x},${n.y + n.h / 2} L${tx},${n.y + n.h / 2} L${tx},${p.y + p.h}` });
  }
  return { nodes, edges, byId, ...extent(nodes) };
}

function extent(nodes) {
  let width = 0, height = 0;
  for (const n of nodes) { width = Math.max(width, n.x + n.w); height = Math.max(height, n.y + n.h); }
  return { width, height };
}
