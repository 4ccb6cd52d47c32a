// patch.js - a list redrawn by what changed: each item has a key and a
// signature (what it shows); an item whose signature is the one drawn last
// time keeps its element, only new or changed items are built, and the
// box's children are moved into order without taking out those already in
// place.  A step of a 20 x 200 session changes a few rows of hundreds:
// rebuilding them all held the main thread for 185-201 ms.

const drawn = new WeakMap();   // box -> Map(key -> { sig, el })

// items: the data, in order; key(item), sig(item): strings; build(item):
// a new element for it
export function patch(box, items, key, sig, build) {
  const was = drawn.get(box) || new Map();
  const now = new Map();
  const els = items.map((it) => {
    const k = key(it), s = sig(it);
    const old = was.get(k);
    const e = old && old.sig === s ? old.el : build(it);
    now.set(k, { sig: s, el: e });
    return e;
  });
  drawn.set(box, now);
  let at = box.firstChild;
  for (const e of els) {
    if (at === e) { at = at.nextSibling; continue; }
    box.insertBefore(e, at);
  }
  while (at) { const n = at.nextSibling; at.remove(); at = n; }
}
