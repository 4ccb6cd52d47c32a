// marks.js - what a step changed, from the state before and the state
// after (both already fetched by the page): each object gets a signature
// of what the picture says about it (counters, mapcount, flags, PTEs, its
// chain); an id new in the state is created, one whose signature differs
// is changed, one that is gone is removed (drawn as a fading ghost where it
// was).  And which objects a checker violation names.

function signatures(st) {
  const sig = new Map();
  if (!st) return sig;
  for (const p of st.processes) {
    sig.set(`proc${p.pid}`, JSON.stringify([p.ppid, p.vmas.map((v) => v.id), p.rss]));
    for (const v of p.vmas) {
      const ptes = p.ptes.filter((e) => BigInt(v.start) <= BigInt(e.addr) && BigInt(e.addr) < BigInt(v.end));
      sig.set(`vma${v.id}`, JSON.stringify([v.start, v.end, v.pgoff, v.prot, v.flags, v.anon_vma, v.chain, ptes]));
    }
  }
  for (const a of st.anon_vmas) {
    const { avcs, ...rest } = a;
    sig.set(`av${a.id}`, JSON.stringify([rest, avcs.map((c) => [c.id, c.vma])]));
  }
  for (const f of st.files) sig.set(`file${f.id}`, JSON.stringify([f.pages, f.i_mmap.map((m) => m.vma)]));
  const zero = st.processes.reduce((n, p) => n + p.ptes.filter((e) => e.present && e.zero).length, 0);
  if (zero) sig.set(`zero${st.zero_pfn ?? 0}`, String(zero));
  for (const f of st.frames) sig.set(`pfn${f.pfn}`, JSON.stringify([f.mapping, f.index, f.mapcount, f.refcount, f.flags]));
  // a file's pages that no PTE maps, drawn as one box
  for (const f of st.files) {
    const idle = st.frames.filter((x) => x.mapping.kind === 'file' && x.mapping.id === f.id && x.mapcount === 0).map((x) => x.pfn);
    if (idle.length) sig.set(`cache${f.id}`, idle.join(' '));
  }
  // a freed anon_vma that a page->mapping still names is drawn as such
  const avs = new Set(st.anon_vmas.map((x) => x.id));
  for (const f of st.frames) if (f.mapping.kind === 'anon_vma' && !avs.has(f.mapping.id)) sig.set(`freed${f.mapping.id}`, 'freed');
  return sig;
}

// Map id -> 'new' | 'changed' for the objects of now; removed: ids of before
// that now lacks.  No before (a first render) marks nothing.
export function diff(before, now) {
  const marks = new Map();
  const removed = [];
  if (!before || !now) return { marks, removed };
  const a = signatures(before), b = signatures(now);
  for (const [id, s] of b) {
    if (!a.has(id)) marks.set(id, 'new');
    else if (a.get(id) !== s) marks.set(id, 'changed');
  }
  for (const id of a.keys()) if (!b.has(id)) removed.push(id);
  return { marks, removed };
}

// The objects a violation's text names: "pid 9 vma #12 ... pfn 2 whose
// anon_vma #6 ...", as the checker (engine/check.c) words them.
export function violationTargets(violations) {
  const ids = new Set();
  for (const v of violations || []) {
    const t = `${v.detail || ''}`;
    for (const [re, pre] of [[/\bvma #(\d+)/g, 'vma'], [/\banon_vma #(\d+)/g, 'av'], [/\bpfn (\d+)/g, 'pfn'],
      [/\bavc #?(\d+)/g, 'avc'], [/\bfile #(\d+)/g, 'file']]) {
      for (const m of t.matchAll(re)) ids.add(`${pre}${m[1]}`);
    }
  }
  return ids;
}
