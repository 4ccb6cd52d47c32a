// Browser tests of the left column and the controls, in headless Chromium
// against a real rmapd: the timeline shows any op's state without touching
// the journal (rewinding is a separate, confirmed act), state-changing walks
// ask first and never stay armed, the pfn picker never moves silently, the
// forms show only the fields that apply with units and help, a MAP_FIXED
// mmap says what it replaced, kernel events link to their source, lists are
// reachable by keyboard, and the lesson panel never covers the form.
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon, launch, settle, stopDaemon } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const rmapd = process.argv[2] || process.env.RMAPD || join(here, '../../build/daemon/rmapd');
const webRoot = process.env.WEB_ROOT || resolve(here, '../../web');
const A = '0x7f0000000000';
const ELIXIR = 'https://elixir.bootlin.com/linux/v6.18/A/ident/';
let passed = 0, failed = 0;
const problems = [];

function check(name, cond, detail = '') {
  if (cond) passed++;
  else { failed++; console.log(`FAIL ${name} ${detail}`); }
}

async function call(base, method, path, body) {
  const r = await fetch(base + path, { method, headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined });
  return r.json();
}

// a session of pid 1 with a private anonymous VMA written, forked, and
// written again by the child (a COW copy): 5 ops, then `extra` reads
async function cowSession(base, extra = 0) {
  const s = await call(base, 'POST', '/api/v1/sessions', { name: 'controls' });
  const ops = [{ op: 'spawn' },
    { op: 'mmap', pid: 1, addr: A, len: 8192, prot: 'rw-', flags: ['private', 'anonymous', 'fixed'] },
    { op: 'access', pid: 1, addr: A, write: true }, { op: 'fork', pid: 1 },
    { op: 'access', pid: 2, addr: A, write: true }];
  for (let i = 0; i < extra; i++) ops.push({ op: 'access', pid: 1, addr: A, write: false });
  await call(base, 'POST', `/api/v1/sessions/${s.id}/ops`, { ops });
  return s.id;
}

async function open(page, base, id) {
  await page.goto(`${base}/#/s/${id}`);
  await settle(page, { hash: `^#/s/${id}$` });
}

const version = (page) => page.textContent('#version');
const journalLength = async (base, id) => (await call(base, 'GET', `/api/v1/sessions/${id}/ops?limit=1000`)).ops.length;
const framesShown = (page) => page.evaluate(() => [...document.querySelectorAll('#frames tbody tr')]
  .map((tr) => `${tr.children[0].textContent}:${tr.children[3].textContent}`));
const framesOf = (st) => st.frames.map((f) => `${f.pfn}:${f.mapcount}`);

// press Tab (or Shift+Tab) until the focus is on selector; the presses, or -1
async function tabUntil(page, selector, max, key = 'Tab') {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press(key);
    if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return i;
  }
  return -1;
}

const focusRing = (page) => page.evaluate(() => {
  const cs = getComputedStyle(document.activeElement);
  return cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2;
});

// the timeline: rows show their op's state, the journal stays whole
async function timelineViews(page, base) {
  const id = await cowSession(base);
  await open(page, base, id);
  await page.click('#timeline li[data-seq="3"] > div:first-child');
  await settle(page, { op: 3 });
  const at3 = await call(base, 'GET', `/api/v1/sessions/${id}?version=3`);
  check('a clicked row shows its op: the header says op 3 of 5', (await version(page)).includes('op 3 of 5 (looking back)'), await version(page));
  check('... and the frames as they were after op 3', JSON.stringify(await framesShown(page)) === JSON.stringify(framesOf(at3)),
    `${await framesShown(page)} vs ${framesOf(at3)}`);
  check('... the row is the current one', await page.evaluate(() => document.querySelector('#timeline li.current')?.dataset.seq) === '3');
  check('... the journal is whole', await journalLength(base, id) === 5);
  check('... the URL names the op', await page.evaluate(() => location.hash) === `#/s/${id}/op/3`);
  {
    // that URL opened elsewhere looks back at the same op
    const p2 = await page.context().browser().newPage({ viewport: { width: 1280, height: 800 } });
    await p2.goto(`${base}/#/s/${id}/op/3`);
    await settle(p2, { op: 3 });
    check('a link to an op opens looking back at it', (await p2.textContent('#version')).includes('op 3 of 5 (looking back)')
      && JSON.stringify(await framesShown(p2)) === JSON.stringify(framesOf(at3)));
    await p2.close();
  }
  check('... the page says it is looking back, read-only', /looking back at op 3 of 5: read-only/.test(await page.textContent('#step-where')));
  // a walk while looking back walks the past: after the fork pfn 1 is in both
  await page.selectOption('#walk-pfn', '1');
  await page.click('#timeline li[data-seq="4"] > div:first-child');
  await settle(page, { op: 4 });
  await page.click('#walk-start');
  await settle(page);
  for (let i = 0; i < 20 && !(await page.textContent('#walk-tally')).startsWith('visited'); i++) await page.click('#walk-step');
  check('a walk at op 4 walks the state of op 4 (the COW copy is not made yet)', (await page.textContent('#walk-tally')).startsWith('visited 2, mapping 2'),
    await page.textContent('#walk-tally'));
  // Enter on a focused row
  await page.focus('#timeline li[data-seq="2"]');
  await page.keyboard.press('Enter');
  await settle(page, { op: 2 });
  check('Enter on a row shows its op', (await version(page)).includes('op 2 of 5'));
  // ArrowDown moves along the rows (not the lesson), Enter shows it
  await page.keyboard.press('ArrowDown');
  check('ArrowDown moves the focus to the next row', await page.evaluate(() => document.activeElement.dataset?.seq) === '3');
  check('the focused row shows a focus ring', await focusRing(page));
  // the slider
  await page.evaluate(() => { const s = document.getElementById('step-slider'); s.value = '1'; s.dispatchEvent(new Event('change')); });
  await settle(page, { op: 1 });
  check('the slider shows op 1', (await version(page)).includes('op 1 of 5') && (await page.inputValue('#step-slider')) === '1');
  check('the slider spans op 0 to op 5', await page.getAttribute('#step-slider', 'max') === '5');
  await page.click('#step-back');
  await settle(page, { op: 0 });
  check('back at op 0 is disabled and says why', await page.isDisabled('#step-back')
    && /nothing before/.test(await page.getAttribute('#step-back', 'title')));
  for (let v = 1; v <= 5; v++) { await page.click('#step-forward'); await settle(page, { op: v }); }
  check('forward to the end: the latest op, no longer looking back', !(await version(page)).includes('looking back')
    && await page.isHidden('#step-where') && await page.isHidden('#step-rewind'));
  check('forward at the end is disabled with a title saying so', await page.isDisabled('#step-forward')
    && (await page.getAttribute('#step-forward', 'title')) === 'at the end: op 5 is the latest');
  check('... and nothing was rewound', await journalLength(base, id) === 5);
  // another client's op while looking back: still looking back, at the same op
  await page.click('#timeline li[data-seq="4"] > div:first-child');
  await settle(page, { op: 4 });
  await call(base, 'POST', `/api/v1/sessions/${id}/ops`, { op: 'access', pid: 1, addr: A, write: false });
  await page.waitForFunction(() => document.getElementById('version').textContent.includes('op 4 of 6'), null, { timeout: 15000 }).catch(() => {});
  check('an op from elsewhere while looking back: still at op 4, now of 6', (await version(page)).includes('op 4 of 6'), await version(page));
  // rewinding for real asks first
  const asked = [];
  const answer = (yes) => (dl) => { asked.push(dl.message()); yes ? dl.accept() : dl.dismiss(); };
  let h = answer(false);
  page.once('dialog', h);
  await page.click('#step-rewind');
  await settle(page);
  check('rewind asks, naming what it deletes', /^Rewind the session to op 4\? This deletes ops 5–6 from its journal/.test(asked[0] || ''), asked[0]);
  check('rewind dismissed: the journal is whole', await journalLength(base, id) === 6);
  h = answer(true);
  page.once('dialog', h);
  await page.click('#step-rewind');
  await settle(page, { op: 4 });
  check('rewind accepted: the journal ends at op 4', await journalLength(base, id) === 4);
  check('... and the page shows the latest, op 4', !(await version(page)).includes('looking back') && (await version(page)).includes(' op 4 '));
  // Apply while looking back acts on the state shown, after asking to rewind to it
  await page.click('#timeline li[data-seq="3"] > div:first-child');
  await settle(page, { op: 3 });
  await page.selectOption('#op-kind', 'fork');
  h = answer(false);
  page.once('dialog', h);
  await page.click('#op-form button[type=submit]');
  await settle(page);
  check('Apply while looking back asks, naming the rewind', asked[2] === 'Apply fork pid=1 at op 3? You are looking back at op 3: '
    + 'the session is first rewound to it, deleting op 4 for everyone who watches it.', asked[2]);
  check('... dismissed: nothing applied, nothing rewound', await journalLength(base, id) === 4
    && (await version(page)).includes('op 3 of 4 (looking back)'));
  h = answer(true);
  page.once('dialog', h);
  await page.click('#op-form button[type=submit]');
  await settle(page, { op: 4 });
  const j = await call(base, 'GET', `/api/v1/sessions/${id}/ops?limit=1000`);
  check('... accepted: rewound to op 3, then the fork applied as op 4', j.ops.length === 4 && j.ops[3].op.op === 'fork'
    && j.ops[2].op.op === 'access' && !(await version(page)).includes('looking back'), JSON.stringify(j.ops.map((e) => e.op.op)));
  // hovering a row describes it in words, not JSON
  await page.hover('#timeline li[data-seq="4"]');
  const det = await page.textContent('#details');
  check('a hovered row is described in words', det.startsWith('op 4: fork pid=1\noutcome: ok\nchild: 2\nkernel steps (')
    && !det.includes('{'), JSON.stringify(det));
  await page.mouse.move(0, 0);
  return id;
}

// a lesson's Back looks back; it never cuts the journal (a student stepping
// back through a teacher's session takes nothing away)
async function lessonBack(browser, page, base) {
  await page.goto(`${base}/`);
  await settle(page);
  await page.selectOption('#lesson-picker', 'fork-cow');
  await page.click('#load-lesson');
  await settle(page, { pos: 'step 0 of 7' });
  for (let i = 1; i <= 5; i++) { await page.click('#lesson-next'); await settle(page, { pos: `step ${i} of 7` }); }
  const id = Number((await page.evaluate(() => location.hash)).match(/#\/s\/(\d+)/)[1]);
  const n5 = await journalLength(base, id);
  await page.click('#lesson-back');
  await settle(page, { pos: 'step 4 of 7' });
  await page.click('#lesson-back');
  await settle(page, { pos: 'step 3 of 7' });
  const v3 = await call(base, 'GET', `/api/v1/sessions/${id}?version=3`);
  check('lesson Back twice: step 3 shown, the journal untouched', await journalLength(base, id) === n5
    && (await version(page)).includes(`op 3 of ${n5} (looking back)`), `${n5} ${await version(page)}`);
  check('... the frames of op 3', JSON.stringify(await framesShown(page)) === JSON.stringify(framesOf(v3)));
  check('... on the lesson\'s path, no note', await page.isHidden('#lesson-note'));
  // a second viewer of the session (the teacher) still sees its latest op
  const teacher = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await teacher.goto(`${base}/#/s/${id}`);
  await settle(teacher, { op: n5 });
  check('the other viewer still sees op 5', (await teacher.textContent('#version')).includes(` op ${n5} `)
    && !(await teacher.textContent('#version')).includes('looking back'));
  await teacher.close();
  await page.click('#lesson-next');
  await settle(page, { pos: 'step 4 of 7', op: 4 });
  await page.click('#lesson-next');
  await settle(page, { pos: 'step 5 of 7', op: 5 });
  check('Next back to the latest step: live again', !(await version(page)).includes('looking back'));
  await page.click('#lesson-next');
  await settle(page, { pos: 'step 6 of 7', op: 6 });
  check('Next past the journal applies the lesson\'s op', await journalLength(base, id) === 6);
}

// walks that change the session ask first and disarm after one use
async function armedWalks(page, base) {
  const id = await cowSession(base);
  await open(page, base, id);
  const st = await call(base, 'GET', `/api/v1/sessions/${id}`);
  const pfn = st.frames.find((f) => f.mapcount === 1).pfn;
  const asked = [];
  await page.selectOption('#walk-pfn', String(pfn));
  await page.selectOption('#walk-kind', 'try_to_unmap');
  page.once('dialog', (dl) => { asked.push(dl.message()); dl.dismiss(); });
  await page.click('#walk-start');
  await settle(page);
  check('try_to_unmap asks first', new RegExp(`^try_to_unmap on pfn ${pfn}\\? It reclaims the page`).test(asked[0] || ''), asked[0]);
  check('dismissed: no op', (await call(base, 'GET', `/api/v1/sessions/${id}?view=summary`)).version === 5);
  check('dismissed: the kind is back to rmap_walk', (await page.inputValue('#walk-kind')) === 'walk');
  check('dismissed: the page says it was not done', (await page.textContent('#op-message')) === `try_to_unmap on pfn ${pfn} not done.`);
  await page.selectOption('#walk-kind', 'try_to_unmap');
  page.once('dialog', (dl) => { asked.push(dl.message()); dl.accept(); });
  await page.click('#walk-start');
  await settle(page, { op: 6 });
  const after = await call(base, 'GET', `/api/v1/sessions/${id}`);
  check('accepted: try_to_unmap ran once', after.version === 6 && !after.frames.some((f) => f.pfn === pfn), String(after.version));
  check('accepted: the kind is back to rmap_walk', (await page.inputValue('#walk-kind')) === 'walk');
  // the frame is gone: the picker says so rather than jumping silently
  const note = await page.textContent('#walk-pfn-note');
  check('the pfn picker says why it changed', await page.isVisible('#walk-pfn-note')
    && note === `pfn ${pfn} is not in this state (freed): pfn ${await page.inputValue('#walk-pfn')} is chosen instead.`, note);
  // a second Walk only walks
  await page.click('#walk-start');
  await settle(page);
  check('the next Walk is a read-only rmap_walk', (await call(base, 'GET', `/api/v1/sessions/${id}?view=summary`)).version === 6);
  // folio_referenced asks too
  await page.selectOption('#walk-kind', 'folio_referenced');
  page.once('dialog', (dl) => { asked.push(dl.message()); dl.dismiss(); });
  await page.click('#walk-start');
  await settle(page);
  check('folio_referenced asks first', /^folio_referenced on pfn \d+\? It clears the young/.test(asked[2] || ''), asked[2]);
  check('folio_referenced dismissed: no op, kind reset', (await call(base, 'GET', `/api/v1/sessions/${id}?view=summary`)).version === 6
    && (await page.inputValue('#walk-kind')) === 'walk');
}

// forms: labels, units, help, only the fields that apply; MAP_FIXED says what it replaced
async function forms(page, base) {
  const id = await cowSession(base);
  await open(page, base, id);
  await page.selectOption('#op-kind', 'mmap');
  const visible = () => page.evaluate(() => [...document.querySelectorAll('#op-fields label')].filter((l) => !l.hidden).map((l) => l.dataset.field));
  check('mmap, anonymous: no file or offset', JSON.stringify(await visible()) === JSON.stringify(['pid', 'addr', 'len', 'prot', 'type', 'anonymous', 'fixed']),
    JSON.stringify(await visible()));
  await page.uncheck('#op-fields input[name=anonymous]');
  check('mmap of a file: file and offset shown', (await visible()).includes('file') && (await visible()).includes('offset'));
  await page.check('#op-fields input[name=anonymous]');
  check('anonymous again: hidden again', !(await visible()).includes('file'));
  const label = (n) => page.textContent(`#op-fields label[data-field=${n}] .name`);
  check('human labels with units', (await label('len')) === 'length (bytes)' && (await label('anonymous')) === 'anonymous (MAP_ANONYMOUS)'
    && (await label('prot')) === 'protection', `${await label('len')} / ${await label('anonymous')}`);
  const unit = () => page.textContent('#op-fields label[data-field=len] .unit');
  check('len 8192 reads as 2 pages', (await unit()) === '= 2 pages (8 KiB)', await unit());
  await page.fill('#op-fields input[name=len]', '5000');
  check('len 5000 reads as rounded up', (await unit()) === '= 2 pages (8 KiB, rounded up from 5000 bytes)', await unit());
  check('every field has its help', await page.evaluate(() => [...document.querySelectorAll('#op-fields label')]
    .every((l) => l.querySelector('.hint:not(.unit)')?.textContent.length > 10)));
  await page.uncheck('#op-fields input[name=anonymous]');
  await page.fill('#op-fields input[name=offset]', '100');
  check('an unaligned offset is flagged', /not a multiple of 4096/.test(await page.textContent('#op-fields label[data-field=offset] .unit')));
  await page.check('#op-fields input[name=anonymous]');
  await page.selectOption('#op-kind', 'mremap');
  check('mremap: no new address unless fixed', !(await visible()).includes('new_addr'));
  await page.check('#op-fields input[name=fixed]');
  check('mremap fixed: new address shown', (await visible()).includes('new_addr'));
  // MAP_FIXED over the middle page... of a 2-page VMA: the notice names the part and the VMA
  const before = await call(base, 'GET', `/api/v1/sessions/${id}`);
  const vma = before.processes[0].vmas.find((v) => v.start === A);
  await page.selectOption('#op-kind', 'mmap');
  await page.fill('#op-fields input[name=addr]', '0x7f0000001000');
  await page.fill('#op-fields input[name=len]', '8192');
  await page.selectOption('#op-fields select[name=prot]', 'r--');
  await page.click('#op-form button[type=submit]');
  await settle(page, { op: 6 });
  const msg = await page.textContent('#op-message .replaced').catch(() => '');
  check('MAP_FIXED over a mapping says what it replaced', msg === 'MAP_FIXED replaced what was mapped there: '
    + `0x7f0000001000–0x7f0000002000 of vma #${vma.id} ${vma.start}–${vma.end} rw- anonymous (1 page). Its pages were unmapped first (do_vmi_munmap).`, msg);
  // a typed value stays after Apply
  check('the form keeps what was typed after Apply', (await page.inputValue('#op-fields input[name=addr]')) === '0x7f0000001000');
  // nothing under it: no notice
  await page.fill('#op-fields input[name=addr]', '0x7f0000100000');
  await page.click('#op-form button[type=submit]');
  await settle(page, { op: 7 });
  check('MAP_FIXED over nothing: no notice', (await page.$('#op-message .replaced')) === null);
  return id;
}

// each kernel event links to its source on Elixir's v6.18 tree
async function eventLinks(page, base, id) {
  await open(page, base, id);
  const j = await call(base, 'GET', `/api/v1/sessions/${id}/ops?limit=1000`);
  const links = await page.evaluate(() => [...document.querySelectorAll('#timeline li')].map((li) => [...li.querySelectorAll('.events .all a')]
    .map((a) => ({ href: a.getAttribute('href'), text: a.textContent, target: a.target, rel: a.rel }))));
  let all = 0, good = 0;
  j.ops.forEach((e, k) => e.result.events.forEach((ev, i) => {
    all++;
    const a = links[k]?.[i];
    if (a && a.text === ev.fn && a.href === ELIXIR + ev.fn && a.target === '_blank' && a.rel === 'noopener') good++;
  }));
  check('every kernel event links to its Elixir v6.18 source in a new tab', all > 10 && good === all, `${good} of ${all}`);
  const fork = links[3].find((a) => a.text === 'dup_mmap');
  check('fork\'s dup_mmap links to .../A/ident/dup_mmap', fork?.href === 'https://elixir.bootlin.com/linux/v6.18/A/ident/dup_mmap');
}

// the lists outside the picture are reachable by keyboard, one tab stop each
async function keyboard(page, base, id) {
  await open(page, base, id);
  await page.focus('#op-kind');
  check('Tab from the form reaches the timeline', await tabUntil(page, '#timeline li', 12) > 0);
  check('one tab stop in the timeline', await page.evaluate(() => document.querySelectorAll('#timeline li[tabindex="0"]').length) === 1);
  check('Tab from the timeline reaches the address line', await tabUntil(page, '#strips .seg', 8) > 0);
  const seg = await page.evaluate(() => document.activeElement.dataset.obj);
  check('a focused VMA is described in Selection', (await page.textContent('#details h3')).startsWith(`VMA #${seg.slice(3)} `), seg);
  await page.keyboard.press('Enter');
  check('Enter on a VMA selects it', await page.evaluate(() => document.body.dataset.highlight) === seg);
  await page.keyboard.press('ArrowRight');
  const next = await page.evaluate(() => document.activeElement.dataset.obj);
  check('ArrowRight moves along the address line', /^vma\d+$/.test(next || '') && next !== seg, next);
  await page.keyboard.press('Enter');   // unselect by selecting another, then clear
  await page.keyboard.press('Enter');
  await page.focus('table.ptes tr[tabindex="0"]');
  check('Shift+Tab from the page tables reaches the frame rows', await tabUntil(page, '#frames tr[data-obj]', 3, 'Shift+Tab') > 0);
  check('the focused frame row shows a focus ring', await focusRing(page));
  await page.keyboard.press('ArrowDown');
  const pfn = await page.evaluate(() => document.activeElement.dataset.pfn);
  const other = await page.evaluate((p) => [...document.getElementById('walk-pfn').options].find((o) => o.value !== p).value, pfn);
  await page.selectOption('#walk-pfn', other);
  check('a pfn chosen by hand clears the note', await page.isHidden('#walk-pfn-note'));
  await page.focus(`#frames tr[data-pfn="${pfn}"]`);
  await page.keyboard.press('Enter');
  check('Enter on a frame row selects it and picks it for the walk', await page.evaluate(() => document.body.dataset.highlight) === `pfn${pfn}`
    && (await page.inputValue('#walk-pfn')) === pfn, pfn);
  check('... saying why the walk\'s frame changed', (await page.textContent('#walk-pfn-note')) === `pfn ${pfn} chosen: the frame clicked.`);
  await page.keyboard.press('Enter');
}

// nothing in the left column covers anything else; Apply keeps the form in place
async function leftColumn(page, base) {
  for (const [w, h, large] of [[1280, 800, false], [1280, 800, true], [1024, 700, false]]) {
    const label = `${w}x${h}${large ? ' large type' : ''}`;
    await page.setViewportSize({ width: w, height: h });
    await page.goto(`${base}/`);
    await settle(page);
    if (large !== await page.evaluate(() => document.body.classList.contains('large'))) await page.click('#large-type');
    await page.selectOption('#lesson-picker', 'fork-cow');
    await page.click('#load-lesson');
    await settle(page, { pos: 'step 0 of 7' });
    for (let i = 1; i <= 3; i++) { await page.click('#lesson-next'); await settle(page, { pos: `step ${i} of 7` }); }
    const boxes = await page.evaluate(() => {
      const left = document.getElementById('left');
      const out = [];
      const r = (id) => document.getElementById(id).getBoundingClientRect();
      const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
      for (const y of [0, 120, 300, left.scrollHeight]) {
        left.scrollTop = y;
        const p = r('lesson-panel');
        out.push({ y: left.scrollTop, form: meet(p, r('op-form')), heading: meet(p, r('timeline-heading')), list: meet(p, r('timeline')) });
      }
      left.scrollTop = 0;
      return out;
    });
    check(`${label}: the lesson panel covers neither the form nor the timeline at any scroll`, boxes.every((b) => !b.form && !b.heading && !b.list),
      JSON.stringify(boxes));
    const wide = await page.evaluate(() => ({ page: document.documentElement.scrollWidth - innerWidth,
      left: document.getElementById('left').scrollWidth - document.getElementById('left').clientWidth }));
    check(`${label}: nothing runs off sideways in the left column`, wide.left <= 0, JSON.stringify(wide));
    if (w === 1024) check(`${label}: the page does not start off to the right`, wide.page <= 0 && await page.evaluate(() => scrollX) === 0, JSON.stringify(wide));
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  // Apply with a long timeline: the form stays where it was
  const id = await cowSession(base, 40);
  await open(page, base, id);
  if (await page.evaluate(() => document.body.classList.contains('large'))) await page.click('#large-type');
  await page.selectOption('#op-kind', 'access');
  await page.evaluate(() => { document.getElementById('left').scrollTop = 0; });
  const top = () => page.evaluate(() => Math.round(document.getElementById('op-form').getBoundingClientRect().top));
  const t0 = await top();
  await page.click('#op-form button[type=submit]');
  await settle(page, { op: 46 });
  check('Apply does not scroll the form away', await top() === t0, `${t0} -> ${await top()}`);
  check('... and the new op\'s row is in view in the timeline', await page.evaluate(() => {
    const ol = document.getElementById('timeline'), li = ol.querySelector('li.current');
    const a = ol.getBoundingClientRect(), b = li.getBoundingClientRect();
    return li.dataset.seq === '46' && b.top >= a.top - 1 && b.bottom <= a.bottom + 1;
  }));
}

async function main() {
  const d = await startDaemon(rmapd, webRoot);
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => {
      if (/\/events\?since=\d+(&cuts=\d+)?$/.test(r.url()) && r.failure()?.errorText === 'net::ERR_ABORTED') return;   // the page leaving a stream
      problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    });
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
    await timelineViews(page, d.base);
    await armedWalks(page, d.base);
    await lessonBack(browser, page, d.base);
    const id = await forms(page, d.base);
    await eventLinks(page, d.base, id);
    await keyboard(page, d.base, id);
    await leftColumn(page, d.base);
    check('no console errors, page errors or failed requests', problems.length === 0, problems.slice(0, 5).join(' | '));
  } finally {
    await browser.close();
    await stopDaemon(d);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
