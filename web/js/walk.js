// walk.js - an rmap walk, animated: where it starts (the anon_vma that
// page->mapping names, or the file's i_mmap), then every interval-tree
// visit with the VMA, the address computed from index and vm_pgoff, and
// whether its PTE maps the frame; at the end the tally.
export class WalkPlayer {
  constructor(view) {
    this.view = view;     // { list, tally, graph(), playButton }
    this.walk = null;
    this.pos = -1;
    this.timer = null;
  }

  load(walk, title) {
    this.stop();
    this.walk = walk;
    this.title = title;
    this.pos = -1;
    const { list } = this.view;
    list.replaceChildren();
    const start = document.createElement('li');
    start.dataset.step = 'start';
    start.textContent = walk.dangling
      ? `${title}: page->mapping names anon_vma #${walk.start.id}, which was freed — a real kernel would read freed memory here`
      : `${title}: pfn ${walk.pfn} index ${walk.index}: start at ${walk.start.kind === 'anon_vma' ? 'anon_vma' : 'file'} #${walk.start.id}, query [${walk.pgoff[0]}, ${walk.pgoff[1]}]`;
    list.appendChild(start);
    walk.visits.forEach((v, i) => {
      const li = document.createElement('li');
      li.dataset.step = String(i);
      li.className = v.mapped ? 'hit' : 'miss';
      li.textContent = `vma #${v.vma} (pid ${v.pid})` + (v.avc ? ` via avc ${v.avc}` : '') + ` at ${v.addr}`
        + (v.young ? ' young' : '');
      li.hidden = true;
      list.appendChild(li);
    });
    this.view.tally.textContent = '';
    this.render();
  }

  // forget the walk (the session moved on, so it no longer describes it)
  clear() {
    this.stop();
    this.walk = null;
    this.pos = -1;
    this.view.list.replaceChildren();
    this.view.tally.textContent = '';
  }

  render() {
    const { list, tally } = this.view;
    const g = this.view.graph();
    const items = list.querySelectorAll('li');
    items.forEach((li, i) => {
      li.hidden = i > this.pos + 1;
      li.classList.toggle('current', i === this.pos + 1);
    });
    if (g) {
      for (const n of Object.values(g.nodes)) n.classList.remove('walk-start', 'walk-hit', 'walk-miss');
      const sid = this.walk.start.kind === 'anon_vma' ? `av${this.walk.start.id}` : `file${this.walk.start.id}`;
      g.nodes[sid]?.classList.add('walk-start');
      g.nodes[`pfn${this.walk.pfn}`]?.classList.add('walk-start');
      this.walk.visits.slice(0, this.pos + 1).forEach((v) => {
        g.nodes[`vma${v.vma}`]?.classList.add(v.mapped ? 'walk-hit' : 'walk-miss');
      });
    }
    if (this.done()) {
      tally.textContent = this.walk.dangling ? 'walk stopped: dangling page->mapping'
        : `visited ${this.walk.visited}, mapping ${this.walk.mapped} (tree nodes examined: ${this.walk.tree_probes})`;
    } else {
      tally.textContent = `step ${this.pos + 2} of ${this.walk.visits.length + 1}`;
    }
  }

  done() { return this.walk && this.pos >= this.walk.visits.length - 1; }

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
