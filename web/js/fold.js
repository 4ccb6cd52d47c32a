// fold.js - what the picture folds so that its text stays readable: when
// the whole state drawn in full would need text below the floor, the
// quiet parts fold, in this order, until it fits: runs of alike VMAs in a
// lane (one box for them), anon_vma subtrees (the collapsed anon_vma stands
// for them), then whole lanes (their heading only), the largest first.
// What the step created or changed, a violation names, a walk goes
// through, the selection and a search's finds are hot: never folded, nor
// what holds them.  Folds stay from step to step (a class keeps its
// bearings) until something in them turns hot or the user opens them.
// Pure: no DOM.

import { alike } from './layout.js';

// The ids that must stay drawn, widened to what holds them: a VMA's lane,
// an anon_vma's ancestors, a frame's anon_vma, an AVC's VMA and anon_vma.
export function hotSet(st, ix, seeds) {
  const hot = new Set();
  const avUp = (id) => {
    for (let a = ix.avs.get(id), n = 0; a && n < 4096; a = a.parent !== a.id ? ix.avs.get(a.parent) : null, n++) hot.add(`av${a.id}`);
  };
  const vma = (id) => {
    const v = ix.vmas.get(id);
    if (!v) return;
    hot.add(`vma${id}`);
    hot.add(`proc${v.pid}`);
  };
  for (const id of seeds) {
    if (!id) continue;
    const m = /^([a-z]+?)(\d+)/.exec(id);
    if (!m) continue;
    const n = Number(m[2]);
    hot.add(id);
    if (m[1] === 'vma' || m[1] === 'ptr' || m[1] === 'imap') vma(n);
    else if (m[1] === 'av' || m[1] === 'freed') avUp(n);
    else if (m[1] === 'avc') { const c = ix.avcs.get(n); if (c) { vma(c.vma); avUp(c.anon_vma); } }
    else if (m[1] === 'pfn') { const f = ix.frames.get(n); if (f?.mapping.kind === 'anon_vma') avUp(f.mapping.id); }
    else if (m[1] === 'pte') {
      const x = ix.ptes.get(id);
      if (x?.vma !== undefined) vma(x.vma);
    } else if (m[1] === 'proc') hot.add(id);
  }
  return hot;
}

// The candidates of each kind, best first: [[fold, ...], ...] where a fold
// is { vmas: [ids] } or { collapse: 'procN' | 'avN' }
function candidates(st, hot, open, folds) {
  const runs = [], subtrees = [], lanes = [];
  const quiet = (v) => !hot.has(`vma${v.id}`) && !open.has(`vma${v.id}`);
  for (const p of [...st.processes].sort((a, b) => b.vmas.length - a.vmas.length)) {
    const vs = [...p.vmas].sort((a, b) => (BigInt(a.start) < BigInt(b.start) ? -1 : 1));
    const mine = [];
    for (let i = 0; i < vs.length; i++) {
      const alikeNext = (j) => j >= 0 && j < vs.length && quiet(vs[j]) && alike(vs[j]) === alike(vs[i]);
      if (quiet(vs[i]) && !folds.vmas.has(vs[i].id) && (alikeNext(i - 1) || alikeNext(i + 1))) mine.push(vs[i].id);
    }
    if (mine.length) runs.push({ vmas: mine });
    const id = `proc${p.pid}`;
    // two lanes fit any screen: folding one of them would hide, not declutter
    if (st.processes.length > 2 && p.vmas.length && !hot.has(id) && !open.has(id) && !folds.collapsed.has(id)) lanes.push({ collapse: id, size: p.vmas.length });
  }
  // the topmost quiet subtrees: an anon_vma with children, none of them hot
  const kids = new Map();
  for (const a of st.anon_vmas) {
    if (a.parent === a.id) continue;
    if (!kids.has(a.parent)) kids.set(a.parent, []);
    kids.get(a.parent).push(a.id);
  }
  const memo = new Map();   // id -> [descendants, any of it or them hot]
  const tally = (id) => {
    if (memo.has(id)) return memo.get(id);
    memo.set(id, [0, false]);   // a cycle (a bug elsewhere) ends here
    let n = 0, warm = hot.has(`av${id}`);
    for (const c of kids.get(id) || []) { const [cn, cw] = tally(c); n += cn + 1; warm = warm || cw; }
    memo.set(id, [n, warm]);
    return memo.get(id);
  };
  const visit = (id) => {
    const below = kids.get(id) || [];
    const [n] = tally(id);
    // folding one or two hides the lesson more than it saves room
    if (n >= 3 && !below.some((c) => tally(c)[1]) && !open.has(`av${id}`) && !folds.collapsed.has(`av${id}`)) {
      subtrees.push({ collapse: `av${id}`, size: n });
      return;
    }
    for (const c of below) visit(c);
  };
  const ids = new Set(st.anon_vmas.map((a) => a.id));
  for (const a of st.anon_vmas) if (a.parent === a.id || !ids.has(a.parent)) visit(a.id);
  subtrees.sort((a, b) => b.size - a.size);
  lanes.sort((a, b) => b.size - a.size);
  return [runs, subtrees, lanes];
}

// the anon_vmas with something hot below them
function warmBelow(st, hot) {
  const byId = new Map(st.anon_vmas.map((a) => [a.id, a]));
  const out = new Set();
  for (const a of st.anon_vmas) {
    if (!hot.has(`av${a.id}`)) continue;
    for (let p = byId.get(a.parent), n = 0; p && p.id !== a.id && n < 4096; p = p.parent !== p.id ? byId.get(p.parent) : null, n++) {
      out.add(`av${p.id}`);
      if (p.parent === p.id) break;
    }
  }
  return out;
}

function apply(folds, list) {
  const out = { vmas: new Set(folds.vmas), collapsed: new Set(folds.collapsed) };
  for (const f of list) {
    if (f.vmas) for (const id of f.vmas) out.vmas.add(id);
    else out.collapsed.add(f.collapse);
  }
  return out;
}

// The folds to draw with: the sticky ones (minus what turned hot or was
// opened), and more while scaleOf(folds), the scale the picture would fit
// at, is below the floor.  Each kind is tried in batches of 1, 2, 4... of
// its candidates, so a session of hundreds of objects costs a few layouts,
// not hundreds; a kind that does not make the picture larger (a wide
// picture gains nothing from shorter lanes) is undone.
export function chooseFolds(st, sticky, hot, open, scaleOf, floor) {
  // a hot anon_vma keeps its subtree folded unless something in it is hot
  const warm = warmBelow(st, hot);
  const stays = (id) => !open.has(id) && (id.startsWith('av') ? !warm.has(id) : !hot.has(id));
  let folds = { vmas: new Set([...sticky.vmas].filter((id) => stays(`vma${id}`))),
    collapsed: new Set([...sticky.collapsed].filter(stays)) };
  let scale = scaleOf(folds);
  if (scale >= floor) return folds;
  for (let kind = 0; kind < 3; kind++) {
    const list = candidates(st, hot, open, folds)[kind];
    const before = folds, was = scale;
    for (let n = 1, done = 0; done < list.length; n *= 2) {
      folds = apply(folds, list.slice(done, done + n));
      done += n;
      scale = scaleOf(folds);
      if (scale >= floor) return folds;
    }
    // a kind that left the picture no larger is undone
    if (scale <= was * 1.01) { folds = before; scale = was; }
  }
  return folds;
}
