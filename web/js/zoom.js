// zoom.js - fit, zoom and pan of the picture: one transform (scale k,
// translation x, y) on the SVG's top group.  Mouse wheel zooms about the
// pointer, a drag pans, two fingers pinch and pan; + - 0 and the buttons
// zoom in, out and fit.  The picture's size is its layout's, in its own
// units; fit() shows all of it as large as the box allows, never above
// MAX_K (one box the size of the screen helps no one) and never below the
// floor its owner sets (the scale of the smallest readable text): a
// picture larger than that is shown at the floor, panned to its subject
// (what the step changed), the rest a drag or a key away.

const MAX_K = 2.2, MIN_K = 0.02, MARGIN = 12;

export class Zoom {
  constructor(box, svg, layer) {
    this.box = box;
    this.svg = svg;
    this.layer = layer;
    this.k = 1; this.x = 0; this.y = 0;
    this.content = { x: 0, y: 0, w: 1, h: 1 };
    this.pointers = new Map();
    this.user = false;   // the user zoomed or panned since the last fit
    this.floor = 0;      // the smallest scale fit() and reveal() choose
    this.subject = null; // the box a fit at the floor shows
    svg.addEventListener('wheel', (e) => this.wheel(e), { passive: false });
    svg.addEventListener('pointerdown', (e) => this.down(e));
    svg.addEventListener('pointermove', (e) => this.move(e));
    for (const t of ['pointerup', 'pointercancel', 'pointerleave']) svg.addEventListener(t, (e) => this.up(e));
  }

  size() {
    // reserve: the height a note over the picture's bottom takes (a walk's)
    // rect: the box's size as the ResizeObserver last saw it (its owner
    // lays out again when it changes), so that asking does not force the
    // browser to lay out the page in the middle of a change
    const r = this.rect || this.box.getBoundingClientRect();
    return { w: Math.max(1, r.width), h: Math.max(1, r.height - (this.reserve || 0)) };
  }

  apply() {
    this.layer.setAttribute('transform', `translate(${this.x},${this.y}) scale(${this.k})`);
    this.box.dataset.scale = this.k.toFixed(4);
    this.onchange?.();
  }

  // the content's scale that shows all of it
  allScale() {
    const { w, h } = this.size();
    const c = this.content;
    return Math.min(MAX_K, (w - 2 * MARGIN) / c.w, (h - 2 * MARGIN) / c.h);
  }

  fitScale() { return Math.max(this.floor, this.allScale()); }

  fit() {
    const { w, h } = this.size();
    const c = this.content;
    this.k = Math.max(MIN_K, this.fitScale());
    const clamped = this.allScale() < this.floor;
    this.box.dataset.clamped = clamped ? '1' : '0';
    this.user = false;
    if (clamped) {
      // the top left at the floor, then its subject in view
      this.x = MARGIN - c.x * this.k;
      this.y = MARGIN - c.y * this.k;
      if (this.subject) this.reveal(this.subject, false);
      else this.apply();
      return;
    }
    this.x = (w - c.w * this.k) / 2 - c.x * this.k;
    this.y = Math.max(MARGIN, (h - c.h * this.k) / 2) - c.y * this.k;
    this.apply();
  }

  // a new picture: fit it, unless the view the user had still shows all of
  // it at the same scale (then nothing on screen moves)
  refit(content) {
    this.content = content;
    if (!this.user && this.contains(content) && Math.abs(this.k - Math.max(MIN_K, this.fitScale())) < 1e-6) return;
    this.fit();
  }

  contains(c) {
    const { w, h } = this.size();
    const x0 = this.x + c.x * this.k, y0 = this.y + c.y * this.k;
    return x0 >= 0 && y0 >= 0 && x0 + c.w * this.k <= w && y0 + c.h * this.k <= h;
  }

  zoomAt(f, px, py) {
    const k = Math.min(8, Math.max(MIN_K, this.k * f));
    this.x = px - ((px - this.x) * k) / this.k;
    this.y = py - ((py - this.y) * k) / this.k;
    this.k = k;
    this.user = true;
    this.apply();
  }

  zoomBy(f) {
    const { w, h } = this.size();
    this.zoomAt(f, w / 2, h / 2);
  }

  panBy(dx, dy) {
    this.x += dx; this.y += dy;
    this.user = true;
    this.apply();
  }

  // whether a box of the picture fits the view at the scale reveal() would
  // give it (the present one, or smaller down to the floor)
  fits(b) {
    const { w, h } = this.size();
    const k = Math.max(MIN_K, this.floor);
    return b.w * k <= w - 2 * MARGIN && b.h * k <= h - 2 * MARGIN;
  }

  // bring a box of the picture (its own units) into view, panning only as
  // far as needed, zooming out only if it cannot fit (down to the floor:
  // then its top left is what shows)
  reveal(b, shrink = true) {
    const { w, h } = this.size();
    if (shrink && (b.w * this.k > w - 2 * MARGIN || b.h * this.k > h - 2 * MARGIN)) {
      const k = Math.max(MIN_K, this.floor, Math.min((w - 2 * MARGIN) / b.w, (h - 2 * MARGIN) / b.h, this.k));
      this.x = w / 2 - ((w / 2 - this.x) * k) / this.k;
      this.y = h / 2 - ((h / 2 - this.y) * k) / this.k;
      this.k = k;
    }
    const x0 = this.x + b.x * this.k, y0 = this.y + b.y * this.k;
    const x1 = x0 + b.w * this.k, y1 = y0 + b.h * this.k;
    if (x1 > w - MARGIN) this.x -= x1 - (w - MARGIN);
    if (y1 > h - MARGIN) this.y -= y1 - (h - MARGIN);
    // the top left wins when the box is larger than the view
    if (this.x + b.x * this.k < MARGIN) this.x = MARGIN - b.x * this.k;
    if (this.y + b.y * this.k < MARGIN) this.y = MARGIN - b.y * this.k;
    this.apply();
  }

  local(e) {
    const r = this.box.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  wheel(e) {
    e.preventDefault();
    const [px, py] = this.local(e);
    this.zoomAt(Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)), px, py);
  }

  down(e) {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    this.pointers.set(e.pointerId, this.local(e));
    this.moved = 0;
  }

  move(e) {
    const prev = this.pointers.get(e.pointerId);
    if (!prev) return;
    const cur = this.local(e);
    if (this.pointers.size === 2) {
      // pinch: the distance between the two fingers scales, their middle pans
      const [a, b] = [...this.pointers.values()];
      const other = a === prev ? b : a;
      const d0 = Math.hypot(prev[0] - other[0], prev[1] - other[1]) || 1;
      const d1 = Math.hypot(cur[0] - other[0], cur[1] - other[1]) || 1;
      this.zoomAt(d1 / d0, (cur[0] + other[0]) / 2, (cur[1] + other[1]) / 2);
    } else {
      const dx = cur[0] - prev[0], dy = cur[1] - prev[1];
      this.moved += Math.abs(dx) + Math.abs(dy);
      if (this.moved > 3) {
        if (!this.svg.hasPointerCapture(e.pointerId)) this.svg.setPointerCapture(e.pointerId);
        this.svg.classList.add('panning');
        this.panBy(dx, dy);
      }
    }
    this.pointers.set(e.pointerId, cur);
  }

  up(e) {
    if (!this.pointers.delete(e.pointerId)) return;
    this.svg.classList.remove('panning');
    // a drag is not a click on the object under the pointer
    if (this.moved > 3) {
      const stop = (c) => { c.stopPropagation(); c.preventDefault(); };
      this.svg.addEventListener('click', stop, { capture: true, once: true });
      setTimeout(() => this.svg.removeEventListener('click', stop, { capture: true }), 0);
    }
  }
}
