// export.js - the picture as a file, for slides: SVG (a copy of the drawing
// with the page's computed styles as presentation attributes, so it looks
// the same outside the page) and PNG (the same elements painted on a canvas: the
// page's Content-Security-Policy allows no blob: or data: image to be
// loaded, so an SVG cannot be rasterised through an <img>).  Both are
// offered as a download link built in the page.

const PROPS = ['fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-dasharray', 'stroke-opacity', 'opacity',
  'font-family', 'font-size', 'font-weight', 'display'];

function download(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.className = 'pic-download';
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// the drawing in its own units, all of it, whatever the zoom
function extent(svg) {
  const layer = svg.querySelector('g.viewport');
  const b = layer.getBBox();
  return { x: b.x - 10, y: b.y - 10, w: b.width + 20, h: b.height + 20 };
}

export function svgText(svg) {
  const { x, y, w, h } = extent(svg);
  const copy = svg.cloneNode(true);
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  copy.setAttribute('viewBox', `${x} ${y} ${w} ${h}`);
  copy.setAttribute('width', String(Math.ceil(w)));
  copy.setAttribute('height', String(Math.ceil(h)));
  copy.removeAttribute('tabindex');
  copy.querySelector('g.viewport').removeAttribute('transform');
  const src = svg.querySelectorAll('*'), dst = copy.querySelectorAll('*');
  src.forEach((e, i) => {
    // presentation attributes, not a style attribute: the page's CSP
    // refuses inline styles, and a file with no stylesheet reads them alike
    const cs = getComputedStyle(e);
    for (const k of PROPS) dst[i].setAttribute(k, cs.getPropertyValue(k));
  });
  const bg = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  for (const [k, v] of Object.entries({ x, y, width: w, height: h, fill: '#fff' })) bg.setAttribute(k, v);
  copy.insertBefore(bg, copy.firstChild);
  return new XMLSerializer().serializeToString(copy);
}

export function downloadSvg(svg, name) {
  download(new Blob([svgText(svg)], { type: 'image/svg+xml' }), name);
}

// Paint what the SVG shows: rects, polygons, paths, circles and text, each
// with its computed style (the only elements the picture uses).
export function paintCanvas(svg, scale = 2) {
  const { x, y, w, h } = extent(svg);
  const c = document.createElement('canvas');
  c.width = Math.ceil(w * scale);
  c.height = Math.ceil(h * scale);
  const ctx = c.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.setTransform(scale, 0, 0, scale, -x * scale, -y * scale);
  const num = (e, a) => parseFloat(e.getAttribute(a) || '0');
  for (const e of svg.querySelectorAll('g.viewport *')) {
    if (e.closest('defs, marker')) continue;
    const cs = getComputedStyle(e);
    if (cs.display === 'none' || cs.visibility === 'hidden') continue;
    let op = 1;
    for (let a = e; a && a !== svg; a = a.parentElement) op *= parseFloat(getComputedStyle(a).opacity || '1');
    ctx.globalAlpha = op;
    let path = null;
    const tag = e.tagName;
    if (tag === 'rect') {
      path = new Path2D();
      path.roundRect(num(e, 'x'), num(e, 'y'), num(e, 'width'), num(e, 'height'), num(e, 'rx'));
    } else if (tag === 'polygon') {
      path = new Path2D(`M${e.getAttribute('points')}Z`);
    } else if (tag === 'path') {
      path = new Path2D(e.getAttribute('d'));
    } else if (tag === 'circle') {
      path = new Path2D();
      path.arc(num(e, 'cx'), num(e, 'cy'), num(e, 'r'), 0, 2 * Math.PI);
    } else if (tag === 'text') {
      ctx.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
      ctx.fillStyle = cs.fill;
      ctx.textAlign = e.getAttribute('text-anchor') === 'middle' ? 'center' : 'left';
      ctx.fillText(e.textContent, num(e, 'x'), num(e, 'y'));
      continue;
    } else continue;
    if (cs.fill && cs.fill !== 'none') {
      ctx.globalAlpha = op * parseFloat(cs.fillOpacity || '1');
      ctx.fillStyle = cs.fill;
      ctx.fill(path);
    }
    if (cs.stroke && cs.stroke !== 'none' && parseFloat(cs.strokeWidth) > 0) {
      ctx.globalAlpha = op * parseFloat(cs.strokeOpacity || '1');
      ctx.strokeStyle = cs.stroke;
      ctx.lineWidth = parseFloat(cs.strokeWidth);
      const dash = cs.strokeDasharray;
      ctx.setLineDash(dash && dash !== 'none' ? dash.split(/[ ,]+/).map(parseFloat) : []);
      ctx.stroke(path);
    }
  }
  return c;
}

export function downloadPng(svg, name) {
  paintCanvas(svg).toBlob((b) => { if (b) download(b, name); }, 'image/png');
}
