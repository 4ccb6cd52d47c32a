// keys.js - keyboard reach for the page's lists outside the picture (the
// timeline, the address lines, the frame and page-table rows): each list is
// one tab stop, the arrows move inside it, Home and End go to its ends, and
// Enter activates the item (its own handler).  One tab stop per list keeps
// Tab usable in a session of thousands of rows.

const PREV = new Set(['ArrowUp', 'ArrowLeft']);
const NEXT = new Set(['ArrowDown', 'ArrowRight']);

// the list's tab stop, and the links and buttons inside it: those of the
// other items are reached by moving to their item first
function reach(item, on) {
  const want = on ? 0 : -1;
  // unchanged items are left untouched: a write restyles the page
  if (item.tabIndex === want && item.dataset.reach === String(want)) return;
  item.tabIndex = want;
  item.dataset.reach = String(want);
  for (const c of item.querySelectorAll('a, button')) c.tabIndex = want;
}

// Redraws box's items with draw(), then makes it one tab stop: the item
// last moved to (by its data-obj) stays the stop, else the current one or
// the first; if the focus was in the list it stays on that stop.
export function rove(box, selector, draw = () => {}) {
  const had = box.contains(document.activeElement);
  draw();
  const items = [...box.querySelectorAll(selector)];
  const keep = items.find((e) => e.dataset.obj === box.dataset.rove) || items.find((e) => e.classList.contains('current')) || items[0];
  for (const e of items) reach(e, e === keep);
  if (had && keep && !box.contains(document.activeElement)) keep.focus({ preventScroll: true });
  if (box.dataset.roving) return;
  box.dataset.roving = 'true';
  box.addEventListener('focusin', (ev) => {
    const item = ev.target.closest(selector);
    if (!item || !box.contains(item)) return;
    box.dataset.rove = item.dataset.obj || '';
    for (const e of box.querySelectorAll(selector)) reach(e, e === item);
  });
  box.addEventListener('keydown', (ev) => {
    const item = ev.target.closest?.(selector);
    if (!item || item !== ev.target || ev.ctrlKey || ev.altKey || ev.metaKey) return;
    const all = [...box.querySelectorAll(selector)].filter((e) => e.offsetParent !== null);
    const i = all.indexOf(item);
    let to = null;
    if (PREV.has(ev.key)) to = all[Math.max(0, i - 1)];
    else if (NEXT.has(ev.key)) to = all[Math.min(all.length - 1, i + 1)];
    else if (ev.key === 'Home') to = all[0];
    else if (ev.key === 'End') to = all[all.length - 1];
    if (!to) return;
    // the arrows move here, not the lesson (the page's own arrow keys)
    ev.preventDefault();
    ev.stopPropagation();
    to.focus();
    to.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  });
}

// Enter on el (itself focused, not a link or button inside it) runs fn.
export function onEnter(el, fn) {
  el.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' || ev.target !== el) return;
    ev.preventDefault();
    fn();
  });
}
