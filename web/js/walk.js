// walk.js - an rmap walk, animated: where it starts (the anon_vma that
// page->mapping names, or the file's i_mmap), then the interval-tree
// stabbing query node by node (walk.probes: each AVC of an anon walk or VMA
// of a file walk that the query examined, and whether it went left, right,
// matched, stopped or passed), a match being the visit of its VMA with the
// address computed from index and vm_pgoff and whether its PTE maps the
// frame; at the end the tally.  Play, pause, step and back go through the
// probes and visits one at a time.

import { hex } from './api.js';
import { treeOf, drawTree } from './itree.js';

const WHY = {
  left: 'an overlap may be in the left subtree: go left',
  right: 'only the right subtree may overlap: go right',
  match: 'overlaps the index: visit',
  stop: 'nothing further can overlap: stop',
  pass: 'climbed back to it, no overlap: pass',
};

export class WalkPlayer {
  constructor(view) {
    this.view = view;     // { list, tally, graph(), playButton, tree, state(), changed() }
    this.walk = null;
    this.kind = null;     // rmap_walk, or the op (try_to_unmap, ...) it came from
    this.steps = [];
    this.pos = -1;
    this.timer = null;
  }

  // The steps: one per probe (a match carries the visit it leads to), then
  // any visits no probe names (older daemons send no probes).
  static steps(walk) {
    const steps = [];
    const visits = [...walk.visits];
    for (const p of walk.probes || []) {
      let visit = null;
      if (p.step === 'match') {
        const i = visits.findIndex((v) => v.vma === p.vma && (p.avc === undefined || v.avc === undefined || v.avc === p.avc));
        if (i >= 0) visit = visits.splice(i, 1)[0];
      }
      steps.push({ probe: p, visit });
    }
    for (const v of visits) steps.push({ probe: null, visit: v });
    return steps;
  }

  // The steps listed, then (in a task of its own, so that the page answers
  // between the two) the picture opened where the walk goes and painted.
  async load(walk, title, kind = 'rmap_walk') {
    this.stop();
    this.walk = walk;
    this.kind = kind;
    this.title = title;
    this.steps = WalkPlayer.steps(walk);
    this.tree = treeOf(this.view.state?.(), walk);
    this.pos = -1;
    const { list } = this.view;
    list.replaceChildren();
    const start = document.createElement('li');
    start.dataset.step = 'start';
    start.textContent = walk.dangling
      ? `${title}: page->mapping names anon_vma #${walk.start.id}, which was freed — a real kernel would read freed memory here`
      : `${title}: pfn ${walk.pfn} index ${hex(walk.index)}: start at ${walk.start.kind === 'anon_vma' ? 'anon_vma' : 'file'} #${walk.start.id}, `
        + `stab its interval tree at [${hex(walk.pgoff[0])}, ${hex(walk.pgoff[1])}]`;
    list.appendChild(start);
    this.steps.forEach(({ probe: p, visit: v }, i) => {
      const li = document.createElement('li');
      li.dataset.step = String(i);
      let text = '';
      if (p) {
        li.dataset.kind = 'probe';
        li.dataset.probe = p.step;
        const what = p.avc !== undefined ? `avc #${p.avc} (vma #${p.vma})` : `vma #${p.vma}`;
        text = `examined ${what} [pgoff ${hex(p.start)}..${hex(p.last)}], subtree max ${hex(p.subtree_last)}: ${WHY[p.step] || p.step}`;
      } else li.dataset.kind = 'visit';
      if (v) {
        li.classList.add(v.mapped ? 'hit' : 'miss');
        text += (text ? ' → ' : '') + `vma #${v.vma} (pid ${v.pid})` + (v.avc && !p ? ` via avc ${v.avc}` : '') + ` at ${v.addr}`
          + (v.young ? ' young' : '');
      }
      li.textContent = text;
      li.hidden = true;
      list.appendChild(li);
    });
    this.view.tally.textContent = '';
    // the column shows the walk from its heading down: controls, tree, steps
    const head = this.view.heading, col = head?.closest('section');
    col?.classList.add('walking');
    if (col) col.scrollTop += head.getBoundingClientRect().top - col.getBoundingClientRect().top - 4;
    await new Promise((res) => setTimeout(res, 0));
    if (this.walk !== walk) return;
    this.render();
  }

  // forget the walk (the session moved on, so it no longer describes it, or
  // an op had none); note, if given, says why in the panel
  clear(note = '') {
    this.stop();
    const had = this.walk !== null;
    this.walk = this.kind = null;
    this.steps = [];
    this.tree = null;
    this.pos = -1;
    this.view.list.replaceChildren();
    this.view.heading?.closest('section')?.classList.remove('walking');
    this.fitList();
    if (note) {
      const li = document.createElement('li');
      li.dataset.step = 'none';
      li.className = 'walk-note';
      li.textContent = note;
      this.view.list.appendChild(li);
    }
    this.view.tally.textContent = '';
    this.paint();
    if (had) this.view.changed?.();
  }

  // the interval tree: the node examined now, and the ones matched so far
  paintTree() {
    if (!this.view.tree) return;
    const key = (p) => (p.avc !== undefined ? p.avc : p.vma);
    const cur = this.steps[this.pos]?.probe;
    const matched = new Set(this.steps.slice(0, this.pos + 1)
      .filter((s) => s.probe?.step === 'match').map((s) => key(s.probe)));
    drawTree(this.view.tree, this.walk && this.tree, (k) =>
      (cur && key(cur) === k ? `probe ${cur.step}` : matched.has(k) ? 'match' : ''));
    // the node examined in view, scrolling the tree's panel alone (not the
    // column, which keeps the steps below whole), by whole rows
    const t = this.view.tree, n = t.querySelector('.tree-node.probe');
    if (!n) return;
    const pitch = Number(t.dataset.pitch), rows = Number(t.dataset.shown || t.dataset.rows), row = Number(n.dataset.row);
    const first = Math.min(Math.max(Math.round(t.scrollTop / pitch), row - rows + 1), row);
    t.scrollTop = first * pitch;
  }

  // The tree takes the room its column leaves it, in whole rows of nodes
  // (two at least, so a node examined shows beside its parent or child):
  // a node half in view was a label cut at the panel's edge.
  fitTree(room) {
    const t = this.view.tree, d = t?.dataset;
    if (!d?.rows) return;
    const rows = Number(d.rows), pitch = Number(d.pitch), gap = Number(d.gap), margin = Number(d.margin);
    const shown = Math.min(rows, Math.max(2, Math.floor((room - 2 * margin + gap) / pitch)));
    t.style.height = `${Math.ceil(shown * pitch - gap + 2 * margin)}px`;
    d.shown = String(shown);
  }

  // the walk drawn on the graph (called again after the graph is redrawn)
  paint() {
    this.paintTree();
    const g = this.view.graph();
    if (!g) return;
    // the picture keeps the step's objects in view and shows the visit's
    // address formula (first: it may draw the picture again, and it reads
    // its note's height before the classes below restyle the picture)
    g.walkStep?.(this.walk, this.steps[this.pos]);
    for (const n of g.root.querySelectorAll('.walk-start, .walk-hit, .walk-miss, .walk-probe')) {
      n.classList.remove('walk-start', 'walk-hit', 'walk-miss', 'walk-probe');
    }
    if (!this.walk) return;
    const sid = this.walk.start.kind === 'anon_vma' ? `av${this.walk.start.id}` : `file${this.walk.start.id}`;
    g.nodes[sid]?.classList.add('walk-start');
    g.nodes[`pfn${this.walk.pfn}`]?.classList.add('walk-start');
    this.steps.slice(0, this.pos + 1).forEach(({ visit: v }) => {
      if (v) g.nodes[`vma${v.vma}`]?.classList.add(v.mapped ? 'walk-hit' : 'walk-miss');
    });
    const cur = this.steps[this.pos]?.probe;
    if (cur) {
      g.nodes[`vma${cur.vma}`]?.classList.add('walk-probe');
      if (cur.avc !== undefined) g.nodes[`avc${cur.avc}`]?.classList.add('walk-probe');
      else g.nodes[`imap${cur.vma}`]?.classList.add('walk-probe');
    }
  }

  render() {
    const { list, tally } = this.view;
    const items = list.querySelectorAll('li');
    items.forEach((li, i) => {
      li.hidden = i > this.pos + 1;
      li.classList.toggle('current', i === this.pos + 1);
    });
    if (this.done()) {
      tally.textContent = this.walk.dangling ? 'walk stopped: dangling page->mapping'
        : `visited ${this.walk.visited}, mapping ${this.walk.mapped} (tree nodes examined: ${this.walk.tree_probes})`;
    } else {
      tally.textContent = `step ${this.pos + 2} of ${this.steps.length + 1}`;
    }
    // after the tally, whose lines move the list, and the tree, whose rows it sizes
    this.paintTree();
    this.fitList();
    this.paint();
    this.view.changed?.();
  }

  // What a live lesson's followers are shown of the walk: a read-only walk
  // only (one made by an op reaches them as the session's state), with the
  // steps shown (0: its start alone); null for none.
  live() {
    if (!this.walk || this.kind !== 'rmap_walk') return null;
    return { pfn: this.walk.pfn, kind: this.kind, step: this.pos + 1 };
  }

  // to the walk's step as live() counts them (a follower's page)
  seek(step) {
    this.stop();
    const pos = Math.max(-1, Math.min(step - 1, this.steps.length - 1));
    if (pos === this.pos) return;
    this.pos = pos;
    this.render();
  }

  // The list shows whole steps only: the current one and as many before it
  // as its height and its column's room hold, the first of them at its top
  // (scrolled to a step's line by the browser, the top line came out half
  // cut, the last under the tables).  A current step taller than that
  // stretches the list, and the column scrolls to show it whole.  The tree
  // above takes the room the steps leave (fitTree).
  fitList() {
    const { list, tree } = this.view;
    list.style.height = '';
    list.style.maxHeight = '';
    if (tree) tree.style.height = '';
    const cur = list.querySelector('li.current');
    if (!cur) return;
    const shown = [...list.children].filter((li) => !li.hidden);
    // no taller than its style says, nor than the room left in its column
    const col = list.closest('section');
    const ls = getComputedStyle(list);
    let max = parseFloat(ls.maxHeight) || Infinity;
    const bottomOf = () => {
      const c = col.getBoundingClientRect();
      return c.top + col.clientTop + col.clientHeight - parseFloat(getComputedStyle(col).paddingBottom);
    };
    if (col && tree) {
      this.fitTree(bottomOf() - tree.getBoundingClientRect().top - parseFloat(ls.marginTop) - parseFloat(ls.marginBottom)
        - wholeSteps(shown, cur, max).height);
    }
    if (col) {
      const room = bottomOf() - list.getBoundingClientRect().top - parseFloat(ls.marginBottom);
      if (room > 0) max = Math.min(max, room);
    }
    const { top, height } = wholeSteps(shown, cur, max);
    list.style.height = `${height}px`;
    list.scrollTop = top;
    if (height <= max) return;
    // the column scrolls by what the step needs beyond its room
    list.style.maxHeight = 'none';
    if (col && max < Infinity) col.scrollTop += height - max;
  }

  done() { return this.walk && this.pos >= this.steps.length - 1; }

  step() {
    if (!this.walk || this.done()) { this.stop(); return; }
    this.pos++;
    this.render();
  }

  back() {
    if (!this.walk || this.pos < 0) return;
    this.pos--;
    this.render();
  }

  toggle() {
    if (this.timer) { this.stop(); return; }
    if (!this.walk) return;
    if (this.done()) { this.pos = -1; this.render(); }
    this.view.playButton.textContent = '⏸ pause';
    this.timer = setInterval(() => this.step(), 700);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.view.playButton) this.view.playButton.textContent = '▶ play';
  }
}

// The steps shown, current one last, as many as max px hold (the current
// one however tall): their top and height in the list (their offsetParent,
// with no padding above).
function wholeSteps(shown, cur, max) {
  const bottom = cur.offsetTop + cur.offsetHeight;
  let first = shown.indexOf(cur);
  while (first > 0 && bottom - shown[first - 1].offsetTop <= max) first--;
  const top = shown[first].offsetTop;
  return { top, height: bottom - top };
}
