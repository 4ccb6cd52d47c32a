// details.js - the Selection panel: the object hovered or selected,
// described in words as a labelled panel, one layout per kind (process,
// VMA, anon_vma, anon_vma_chain, frame, file, PTE, a picture's edge or
// folded box), with the kernel's field names beside their meaning.  Pure
// DOM building from the index of links.js: no HTML strings, no styles.

import { hex } from './api.js';

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const MAX_LIST = 12;

function list(items, fmt) {
  const shown = items.slice(0, MAX_LIST).map(fmt);
  if (items.length > MAX_LIST) shown.push(`… and ${items.length - MAX_LIST} more`);
  return shown;
}

// rows: [label, value or [values]]; a value list is one line each
function panel(box, title, kind, rows) {
  box.replaceChildren();
  box.className = `details ${kind}`;
  const h = document.createElement('h3');
  h.textContent = title;
  box.appendChild(h);
  const dl = document.createElement('dl');
  for (const [label, value] of rows) {
    if (value === undefined || value === null || value === '') continue;
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    for (const v of Array.isArray(value) ? value : [value]) {
      const line = document.createElement('div');
      line.textContent = String(v);
      dd.appendChild(line);
    }
    dl.append(dt, dd);
  }
  box.appendChild(dl);
}

const size = (pages) => (pages * 4 >= 1024 ? `${(pages * 4) / 1024} MiB` : `${pages * 4} KiB`);

function ptesIn(ix, pid, v) {
  return [...ix.ptes.values()].filter((x) => x.pid === pid && x.vma === v.id);
}

function pteText(e) {
  if (!e.present) return `${e.addr} → swapped out${e.swap !== undefined ? ` (swap entry ${e.swap})` : ''}`;
  if (e.zero) return `${e.addr} → the zero page`;
  const bits = [e.write ? 'writable' : 'read-only', e.dirty && 'dirty', e.young && 'young'].filter(Boolean).join(', ');
  return `${e.addr} → pfn ${e.pfn} (${bits})`;
}

function vmaPanel(box, ix, v) {
  const ptes = ptesIn(ix, v.pid, v);
  const backing = v.file !== null && v.file !== undefined
    ? `${v.shmem ? 'shared memory' : `file ${v.file_name || ''}`} #${v.file}, from page ${hex(v.pgoff)}`
    : 'anonymous';
  panel(box, `VMA #${v.id} · pid ${v.pid}`, 'vma', [
    ['range', `${v.start}–${v.end}`],
    ['size', `${plural(v.pages, 'page')} (${size(v.pages)})`],
    ['protection', `${v.prot} ${v.flags.includes('shared') ? 'shared' : 'private'}`],
    ['vm_flags', v.flags.length ? v.flags.join(', ') : 'none besides the protection'],
    ['backing', backing],
    ['vm_pgoff', `${hex(v.pgoff)} (the page offset of vm_start)`],
    ['->anon_vma', v.anon_vma === null || v.anon_vma === undefined ? 'none yet (no anonymous page faulted)' : `anon_vma #${v.anon_vma}`],
    ['anon_vma_chain', v.chain?.length ? list(v.chain, (c) => `avc #${c.avc} → anon_vma #${c.anon_vma}`) : 'empty'],
    ['page table', ptes.length ? list(ptes, (x) => pteText(x.pte)) : 'no PTE in this range'],
  ]);
}

function avPanel(box, ix, a) {
  const frames = [...ix.frames.values()].filter((f) => f.mapping.kind === 'anon_vma' && f.mapping.id === a.id);
  const counters = 'degree' in a
    ? [['degree', `${a.degree} (legacy: VMAs and child anon_vmas that point here)`]]
    : [['num_children', `${a.num_children} (anon_vmas whose ->parent is this one)`],
        ['num_active_vmas', `${a.num_active_vmas} (VMAs whose ->anon_vma is this one)`]];
  panel(box, `anon_vma #${a.id}`, 'av', [
    ['->root', a.root === a.id ? 'itself: the root of its tree' : `anon_vma #${a.root}`],
    ['->parent', a.parent === a.id ? 'itself' : `anon_vma #${a.parent}`],
    ...counters,
    ['refcount', String(a.refcount)],
    ['rb_root', a.avcs.length ? [`${plural(a.avcs.length, 'anon_vma_chain')}:`,
      ...list(a.avcs, (c) => `avc #${c.id}: vma #${c.vma} (pid ${c.pid}) pgoff ${hex(c.pgoff_start)}..${hex(c.pgoff_last)}`)] : 'empty'],
    ['pages', frames.length ? list(frames, (f) => `pfn ${f.pfn} index ${hex(f.index)} mapcount ${f.mapcount}`) : 'no page->mapping names it'],
  ]);
}

function avcPanel(box, ix, c) {
  const v = ix.vmas.get(c.vma);
  panel(box, `anon_vma_chain #${c.id}`, 'avc', [
    ['links', `vma #${c.vma}${v ? ` (pid ${v.pid})` : ''} ↔ anon_vma #${c.anon_vma}`],
    ['same_vma', `on vma #${c.vma}'s chain list`],
    ['rb', `in anon_vma #${c.anon_vma}'s interval tree, ${c.color} node`],
    ['interval', `pgoff ${hex(c.pgoff_start)}..${hex(c.pgoff_last)} (the VMA's pages)`],
    ['subtree max', `${hex(c.subtree_last)} (the query skips a subtree below it)`],
  ]);
}

function framePanel(box, ix, f) {
  const by = [...ix.ptes.values()].filter((x) => x.pte.present && !x.pte.zero && x.pte.pfn === f.pfn);
  const file = f.mapping.kind === 'file' ? ix.files.get(f.mapping.id) : null;
  const mapping = f.mapping.kind === 'anon_vma'
    ? `anon_vma #${f.mapping.id}${ix.avs.has(f.mapping.id) ? '' : ' (FREED: a dangling pointer)'} (PAGE_MAPPING_ANON)`
    : f.mapping.kind === 'file' ? `${file?.shmem ? 'shared memory' : `file ${file?.name ?? ''}`} #${f.mapping.id}` : 'none';
  panel(box, `page frame pfn ${f.pfn}`, 'frame', [
    ['page->mapping', mapping],
    ['page->index', `${hex(f.index)}${f.mapping.kind === 'anon_vma' ? ' (its virtual page number in the VMA it was faulted in)' : ' (its page in the file)'}`],
    ['mapcount', `${f.mapcount} (PTEs that map it)`],
    ['refcount', String(f.refcount)],
    ['flags', f.flags.length ? f.flags.join(', ') : 'none'],
    ['mapped by', by.length ? list(by, (x) => `pid ${x.pid} at ${x.pte.addr}${x.vma !== undefined ? ` (vma #${x.vma})` : ''}`) : 'no PTE'],
  ]);
}

function filePanel(box, ix, f) {
  panel(box, `${f.shmem ? 'shared memory' : `file ${f.name}`} #${f.id}`, 'file', [
    ['size', `${plural(f.pages, 'page')} (${size(f.pages)})`],
    ['page cache', `${plural(f.cached?.length ?? 0, 'page')} cached`],
    ['i_mmap', f.i_mmap.length ? [`${plural(f.i_mmap.length, 'VMA')} map it:`,
      ...list(f.i_mmap, (m) => `vma #${m.vma} (pid ${m.pid}) pgoff ${hex(m.pgoff_start)}..${hex(m.pgoff_last)}`)] : 'no VMA maps it'],
  ]);
}

function procPanel(box, ix, p) {
  const vmas = p.vmas.length;
  panel(box, `process pid ${p.pid}`, 'proc', [
    ['parent', p.ppid ? `pid ${p.ppid}` : 'none (spawned)'],
    ['mm', `${plural(vmas, 'VMA')}, ${plural(p.ptes.length, 'PTE')}`],
    ['RSS', `anon ${p.rss.anon}, file ${p.rss.file}, shmem ${p.rss.shmem}, swap ${p.rss.swap} (pages)`],
    ['brk', p.brk && `${p.start_brk}–${p.brk}`],
    ['VMAs', list([...p.vmas], (v) => `vma #${v.id} ${v.start}–${v.end} ${v.prot}`)],
  ]);
}

function ptePanel(box, ix, x) {
  panel(box, `PTE of pid ${x.pid} at ${x.pte.addr}`, 'pte', [
    ['vma', x.vma !== undefined ? `vma #${x.vma}` : 'none'],
    ['maps', pteText(x.pte).replace(/^\S+ → /, '')],
  ]);
}

// the picture's own boxes and edges (graph.js describes them)
function otherPanel(box, id, info) {
  const lines = info?.box?.lines;
  if (!lines?.length) return false;
  panel(box, lines[0], 'other', [['', lines.slice(1)]]);
  return true;
}

const EDGE = {
  ptr: (n, ix) => [`vma #${n} → anon_vma #${ix.vmas.get(n)?.anon_vma}`, 'the VMA\'s own ->anon_vma: where its new anonymous pages go'],
  imap: (n, ix) => [`vma #${n} in file #${ix.vmas.get(n)?.file}'s i_mmap`, 'the file\'s interval tree of the VMAs that map it'],
  mapg: (n) => [`page->mapping → anon_vma #${n}`, 'the pages in the box name this anon_vma (with the PAGE_MAPPING_ANON bit)'],
  mapgfile: (n, ix) => [`page->mapping → file #${n}`, `the pages in the box are ${ix.files.get(n)?.name ?? 'the file'}'s page cache`],
  mapgfreed: (n) => [`page->mapping → freed anon_vma #${n}`, 'a dangling pointer: the anon_vma these pages name was freed'],
  parent: (n, ix) => [`anon_vma #${n} → anon_vma #${ix.avs.get(n)?.parent}`, 'anon_vma->parent: the anon_vma it was forked from'],
};

// Fill box with the description of id; false when there is nothing to say
export function renderDetails(box, id, ix, st, info) {
  const m = /^([a-z]+?)(\d+)(?::(.*))?$/.exec(id || '');
  if (!m || !ix) return false;
  const n = Number(m[2]);
  switch (m[1]) {
    case 'vma': { const v = ix.vmas.get(n); if (v) vmaPanel(box, ix, v); return !!v; }
    case 'av': { const a = ix.avs.get(n); if (a) avPanel(box, ix, a); return !!a; }
    case 'avc': { const c = ix.avcs.get(n); if (c) avcPanel(box, ix, c); return !!c; }
    case 'pfn': { const f = ix.frames.get(n); if (f) framePanel(box, ix, f); return !!f; }
    case 'file': { const f = ix.files.get(n); if (f) filePanel(box, ix, f); return !!f; }
    case 'proc': { const p = st.processes.find((x) => x.pid === n); if (p) procPanel(box, ix, p); return !!p; }
    case 'pte': { const x = ix.ptes.get(id); if (x) ptePanel(box, ix, x); return !!x; }
    default: {
      const e = EDGE[m[1]]?.(n, ix);
      if (e) { panel(box, e[0], 'edge', [['', e[1]]]); return true; }
      return otherPanel(box, id, info);
    }
  }
}
