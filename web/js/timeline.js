// timeline.js - the session's journal, one row per op with the kernel
// functions it ran (each a link to its source), and the controls that move
// through it.  Moving is looking: a row, the slider, back and forward show
// the state after that op without touching the session (another viewer's
// steps stay); only "rewind", after a confirm, cuts the journal.

import { rove, onEnter } from './keys.js';
import { patch } from './patch.js';

export const ELIXIR = 'https://elixir.bootlin.com/linux/v6.18/A/ident/';
const SHOWN = 3;

// An op in words, with all its arguments: the usual ones first, then any
// other (mremap's old_len, new_len, new_addr; a file mmap's file and offset).
export function describe(op) {
  const parts = [op.op];
  const first = ['pid', 'addr', 'len', 'old_len', 'new_len', 'new_addr', 'prot', 'advice', 'file', 'offset', 'pages', 'pfn', 'name', 'layout'];
  const keys = [...first.filter((k) => k in op), ...Object.keys(op).filter((k) => !first.includes(k) && !['op', 'flags', 'write'].includes(k))];
  for (const k of keys) parts.push(`${k}=${typeof op[k] === 'object' ? JSON.stringify(op[k]) : op[k]}`);
  if (op.flags) parts.push(Array.isArray(op.flags) ? op.flags.join('|') : `flags=${op.flags}`);
  if ('write' in op) parts.push(op.write ? 'write' : 'read');
  return parts.join(' ');
}

const outcome = (r) => (r.ok ? (r.fault || 'ok') : r.error);

// A summary event stands for the calls of its function that the daemon
// only counted (the first ones are the events before it).
export const stepName = (x) => (x.omitted ? `${x.fn} ×${x.omitted} more` : x.fn);
export const stepCount = (events) => events.reduce((n, x) => n + (x.omitted || 1), 0);

// A journal entry for the Selection box: what ran and what came of it, in
// sentences rather than the raw result.
export function describeEntry(e) {
  const r = e.result;
  const lines = [`op ${e.seq}: ${describe(e.op)}`];
  lines.push(r.ok ? `outcome: ${r.fault || 'ok'}` : `refused by the simulated kernel: ${r.error}${r.reason ? ` (${r.reason})` : ''}`);
  for (const k of ['pid', 'child', 'addr', 'referenced']) if (k in r) lines.push(`${k}: ${r[k]}`);
  const fns = r.events.map(stepName);
  lines.push(fns.length ? `kernel steps (${stepCount(r.events)}): ${fns.join(', ')}` : 'no kernel step (the MMU alone)');
  return lines.join('\n');
}

function eventLinks(events) {
  const span = document.createElement('span');
  events.forEach(({ fn, omitted }, i) => {
    if (i) span.append(' → ');
    const a = document.createElement('a');
    a.href = ELIXIR + encodeURIComponent(fn);
    a.target = '_blank';
    a.rel = 'noopener';
    a.textContent = fn;
    a.title = `${fn} in Linux v6.18 (Elixir, a new tab)`;
    a.addEventListener('click', (x) => x.stopPropagation());
    span.appendChild(a);
    if (omitted) span.append(` ×${omitted} more`);
  });
  return span;
}

function row(e, go, hover) {
  const li = document.createElement('li');
  li.value = e.seq;
  li.dataset.obj = `op${e.seq}`;
  li.dataset.seq = e.seq;
  li.title = `show the state after op ${e.seq} (the session is not changed)`;
  const head = document.createElement('div');
  head.textContent = `${describe(e.op)} → ${outcome(e.result)}`;
  li.appendChild(head);
  const names = e.result.events;
  const ev = document.createElement('div');
  ev.className = 'events';
  const short = eventLinks(names.slice(0, SHOWN));
  short.className = 'short';
  const all = eventLinks(names);
  all.className = 'all';
  ev.append(short, all);
  if (names.length > SHOWN) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'more';
    b.textContent = `+${names.length - SHOWN} more`;
    b.setAttribute('aria-expanded', 'false');
    b.addEventListener('click', (x) => {
      x.stopPropagation();
      const open = li.classList.toggle('open');
      b.textContent = open ? 'fewer' : `+${names.length - SHOWN} more`;
      b.setAttribute('aria-expanded', String(open));
    });
    ev.appendChild(b);
  }
  li.appendChild(ev);
  li.addEventListener('click', () => go(e.seq));
  onEnter(li, () => go(e.seq));
  li.addEventListener('mouseenter', () => hover.enter(li.dataset.obj));
  li.addEventListener('mouseleave', () => hover.leave(li.dataset.obj));
  li.addEventListener('focus', () => hover.enter(li.dataset.obj));
  li.addEventListener('blur', () => hover.leave(li.dataset.obj));
  return li;
}

export class Timeline {
  // el: { list, slider, sliderLabel, back, forward, latest, rewind, where }
  // go(version): show that version; rewind(version): cut the journal there
  constructor(el, { go, rewind, hover }) {
    this.el = el;
    this.go = go;
    this.shown = 0;
    this.latest = 0;
    // the list resized (the lesson's text above it, the header): its
    // current row shown again from a row's top
    let height = 0;
    new ResizeObserver(([e]) => {
      const h = e.borderBoxSize?.[0]?.blockSize ?? e.contentRect.height;
      if (Math.abs(h - height) > 0.5) { height = h; this.reveal(); }
    }).observe(el.list);
    el.back.addEventListener('click', () => { if (this.shown > 0) go(this.shown - 1); });
    el.forward.addEventListener('click', () => { if (this.shown < this.latest) go(this.shown + 1); });
    el.latest.addEventListener('click', () => go(this.latest));
    el.slider.addEventListener('input', () => { el.sliderLabel.textContent = `op ${el.slider.value}`; });
    el.slider.addEventListener('change', () => go(Number(el.slider.value)));
    el.rewind.addEventListener('click', () => {
      const to = this.shown, gone = this.latest - to;
      if (gone <= 0) return;
      const ask = `Rewind the session to op ${to}? This deletes ${gone === 1 ? 'op' : `ops ${to + 1}–`}${this.latest}`
        + ' from its journal, for everyone who watches it; it cannot be undone.';
      if (window.confirm(ask)) rewind(to);
    });
    this.hover = hover;
  }

  // ops: the journal; shown: the version on screen; latest: the session's
  render(ops, shown, latest) {
    const { list, slider, sliderLabel, back, forward, latest: toLatest, rewind, where } = this.el;
    this.shown = shown;
    this.latest = latest;
    const keep = list.scrollTop;
    // an entry is what its seq ran and answered (a rewind and another op
    // give the seq another entry): only new rows are built
    rove(list, 'li', () => {
      patch(list, ops, (e) => String(e.seq), (e) => JSON.stringify([e.op, e.result]), (e) => row(e, this.go, this.hover));
      for (const li of list.children) {
        const seq = Number(li.dataset.seq);
        li.classList.toggle('current', seq === shown);
        li.classList.toggle('after', seq > shown);
        if (seq === shown) li.setAttribute('aria-current', 'step');
        else li.removeAttribute('aria-current');
      }
    });
    list.scrollTop = keep;
    slider.max = String(latest);
    slider.value = String(shown);
    slider.disabled = latest === 0;
    sliderLabel.textContent = `op ${shown}`;
    back.disabled = shown === 0;
    back.title = shown === 0 ? 'at op 0, the empty session: nothing before it' : `show the state after op ${shown - 1}`;
    forward.disabled = shown >= latest;
    forward.title = shown >= latest ? `at the end: op ${latest} is the latest` : `show the state after op ${shown + 1}`;
    const past = shown < latest;
    toLatest.hidden = rewind.hidden = !past;
    rewind.textContent = `rewind to op ${shown}…`;
    where.textContent = past ? `looking back at op ${shown} of ${latest}: read-only, the session is unchanged` : '';
    where.hidden = !past;
    this.reveal();
  }

  // the current row in view inside the list itself, never by scrolling the
  // column (which would carry the form away after Apply): the list scrolled
  // the least that shows it whole, from a row's top (scrolled to the pixel,
  // the row above came out half cut at the list's top edge)
  reveal() {
    const { list } = this.el;
    const li = list.querySelector('li.current');
    list.style.paddingBottom = '';
    if (!li) return;
    const top = li.offsetTop, bottom = top + li.offsetHeight;   // the list is their offsetParent
    const first = [...list.children].find((r) => r.offsetTop >= bottom - list.clientHeight - 0.5);
    const to = Math.min(first ? first.offsetTop : top, top);
    // room below the last row to scroll that far (the browser stops the
    // scroll at the content's end, mid-row)
    const short = to + list.clientHeight - list.scrollHeight;
    if (short > 0) list.style.paddingBottom = `${Math.ceil(short)}px`;
    list.scrollTop = to;
  }
}
