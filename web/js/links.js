// links.js - what an object is linked to, for highlighting.  Objects are
// named as in the graph: proc1, vma3, av2, avc5 (an anon_vma_chain), file1,
// pfn4, pte1:0x7f0000000000 (pid 1's PTE at that address), op3 (the
// journal's op 3), and the edges ptr3 (vma #3's own ->anon_vma), parent2 /
// root2 (anon_vma #2's ->parent / ->root), imap3 (vma #3 in its file's
// i_mmap), map4 (pfn 4's page->mapping), mapc1 (file #1's unmapped pages).
// related() follows the reverse-mapping links from the object: a frame
// lights its PTEs, the VMAs holding them and their processes, its
// page->mapping (anon_vma or file) and the AVCs or i_mmap entries that tie
// those VMAs to it: exactly what an rmap walk of the frame goes through.

const big = (x) => BigInt(x);

export function index(st) {
  const vmas = new Map(), avs = new Map(), files = new Map(), frames = new Map(), avcs = new Map();
  const ptes = new Map();   // 'pte1:0x..' -> { pid, pte, vma }
  for (const p of st.processes) {
    for (const v of p.vmas) vmas.set(v.id, { ...v, pid: p.pid });
    for (const e of p.ptes) {
      const v = p.vmas.find((x) => big(x.start) <= big(e.addr) && big(e.addr) < big(x.end));
      ptes.set(`pte${p.pid}:${e.addr}`, { pid: p.pid, pte: e, vma: v?.id });
    }
  }
  for (const a of st.anon_vmas) {
    avs.set(a.id, a);
    for (const c of a.avcs) avcs.set(c.id, { ...c, anon_vma: a.id });
  }
  for (const f of st.files) files.set(f.id, f);
  for (const f of st.frames) frames.set(f.pfn, f);
  return { st, vmas, avs, files, frames, avcs, ptes };
}

// the VMA of a process that holds addr, if any
export function vmaAt(ix, pid, addr) {
  for (const v of ix.vmas.values()) {
    if (v.pid === pid && big(v.start) <= big(addr) && big(addr) < big(v.end)) return v;
  }
  return null;
}

export function related(ix, id, journal = []) {
  const out = new Set([id]);
  const m = /^([a-z]+?)(\d+)(?::(.*))?$/.exec(id);
  if (!m) return out;
  const [, kind, numS, rest] = m;
  const n = Number(numS);
  const ptesOf = (pred) => [...ix.ptes].filter(([, x]) => pred(x));
  const vmaLinks = (vid) => {   // a VMA with its own ->anon_vma, its chain, its file
    const v = ix.vmas.get(vid);
    if (!v) return;
    out.add(`vma${vid}`);
    out.add(`proc${v.pid}`);
    if (v.anon_vma !== null) { out.add(`ptr${vid}`); out.add(`av${v.anon_vma}`); }
    for (const c of v.chain || []) { out.add(`avc${c.avc}`); out.add(`av${c.anon_vma}`); }
    if (v.file !== null && v.file !== undefined) { out.add(`file${v.file}`); out.add(`imap${vid}`); }
  };
  // a frame: its PTEs, their VMAs, its mapping and what ties the two
  const frameLinks = (pfn) => {
    const f = ix.frames.get(pfn);
    if (!f) return;
    out.add(`pfn${pfn}`);
    const vids = new Set();
    for (const [pid, x] of ptesOf((x) => x.pte.present && x.pte.pfn === pfn && !x.pte.zero)) {
      out.add(pid);
      out.add(`pte${x.pid}:${x.pte.addr}`);
      out.add(`proc${x.pid}`);
      if (x.vma !== undefined) { out.add(`vma${x.vma}`); vids.add(x.vma); }
    }
    if (f.mapping.kind === 'anon_vma') {
      out.add(`av${f.mapping.id}`);
      out.add(`map${pfn}`);
      const a = ix.avs.get(f.mapping.id);
      for (const c of a?.avcs || []) if (vids.has(c.vma)) out.add(`avc${c.id}`);
    } else if (f.mapping.kind === 'file') {
      out.add(`file${f.mapping.id}`);
      out.add(`map${pfn}`);
      for (const vid of vids) out.add(`imap${vid}`);
    }
  };
  switch (kind) {
    case 'pfn': frameLinks(n); break;
    case 'cache': {   // a file's unmapped pages, drawn as one node
      out.add(`file${n}`); out.add(`mapc${n}`);
      for (const f of ix.frames.values()) if (f.mapping.kind === 'file' && f.mapping.id === n && f.mapcount === 0) out.add(`pfn${f.pfn}`);
      break;
    }
    case 'pte': {
      const x = ix.ptes.get(id);
      if (!x) break;
      out.add(`proc${x.pid}`);
      if (x.vma !== undefined) out.add(`vma${x.vma}`);
      if (x.pte.present && !x.pte.zero) {
        const f = ix.frames.get(x.pte.pfn);
        out.add(`pfn${x.pte.pfn}`);
        out.add(`pte${x.pid}:${x.pte.addr}`);
        if (f?.mapping.kind === 'anon_vma') {
          out.add(`av${f.mapping.id}`); out.add(`map${f.pfn}`);
          for (const c of ix.avs.get(f.mapping.id)?.avcs || []) if (c.vma === x.vma) out.add(`avc${c.id}`);
        } else if (f?.mapping.kind === 'file') {
          out.add(`file${f.mapping.id}`); out.add(`map${f.pfn}`);
          if (x.vma !== undefined) out.add(`imap${x.vma}`);
        }
      }
      break;
    }
    case 'vma': {
      vmaLinks(n);
      for (const [pid, x] of ptesOf((x) => x.vma === n)) {
        out.add(pid);
        if (x.pte.present && !x.pte.zero) { out.add(`pfn${x.pte.pfn}`); }
      }
      break;
    }
    case 'proc': {
      out.add(`proc${n}`);
      for (const v of ix.vmas.values()) if (v.pid === n) out.add(`vma${v.id}`);
      for (const [pid, x] of ptesOf((x) => x.pid === n)) out.add(pid);
      break;
    }
    case 'av': {
      const a = ix.avs.get(n);
      if (!a) break;
      for (const c of a.avcs) { out.add(`avc${c.id}`); out.add(`vma${c.vma}`); }
      for (const v of ix.vmas.values()) if (v.anon_vma === n) { out.add(`ptr${v.id}`); out.add(`vma${v.id}`); }
      for (const f of ix.frames.values()) if (f.mapping.kind === 'anon_vma' && f.mapping.id === n) { out.add(`pfn${f.pfn}`); out.add(`map${f.pfn}`); }
      if (a.parent !== a.id) { out.add(`parent${n}`); out.add(`av${a.parent}`); }
      if (a.root !== a.id && a.root !== a.parent) { out.add(`root${n}`); out.add(`av${a.root}`); }
      break;
    }
    case 'avc': {
      const c = ix.avcs.get(n);
      if (c) { out.add(`vma${c.vma}`); out.add(`av${c.anon_vma}`); }
      break;
    }
    case 'file': {
      const f = ix.files.get(n);
      if (!f) break;
      for (const x of f.i_mmap) { out.add(`vma${x.vma}`); out.add(`imap${x.vma}`); }
      for (const fr of ix.frames.values()) {
        if (fr.mapping.kind === 'file' && fr.mapping.id === n) { out.add(`pfn${fr.pfn}`); out.add(`map${fr.pfn}`); }
      }
      out.add(`cache${n}`); out.add(`mapc${n}`);
      break;
    }
    case 'ptr': { const v = ix.vmas.get(n); if (v) { out.add(`vma${n}`); out.add(`av${v.anon_vma}`); } break; }
    case 'imap': { const v = ix.vmas.get(n); if (v) { out.add(`vma${n}`); out.add(`file${v.file}`); } break; }
    case 'map': case 'mapc': {
      const f = ix.frames.get(n);
      if (kind === 'mapc') { out.add(`cache${n}`); out.add(`file${n}`); break; }
      if (f) { out.add(`pfn${n}`); out.add(f.mapping.kind === 'anon_vma' ? `av${f.mapping.id}` : `file${f.mapping.id}`); }
      break;
    }
    case 'parent': case 'root': {
      const a = ix.avs.get(n);
      if (a) { out.add(`av${n}`); out.add(`av${kind === 'parent' ? a.parent : a.root}`); }
      break;
    }
    case 'op': {   // what the op names, as the session is now
      const e = journal.find((x) => x.seq === n);
      if (!e) break;
      const op = e.op;
      if (op.pid !== undefined) out.add(`proc${op.pid}`);
      if (op.pid !== undefined && op.addr !== undefined) {
        const v = vmaAt(ix, op.pid, op.addr);
        if (v) out.add(`vma${v.id}`);
      }
      if (op.pfn !== undefined) out.add(`pfn${op.pfn}`);
      if (e.result?.pid !== undefined) out.add(`proc${e.result.pid}`);
      if (e.result?.child !== undefined) out.add(`proc${e.result.child}`);
      break;
    }
    default: break;
  }
  return out;
}
