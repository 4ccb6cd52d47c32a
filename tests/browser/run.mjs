// Browser tests: a real rmapd, headless Chromium (Debian's), every lesson
// loaded from the page and stepped through; after each step what the page
// shows (frames, mapcounts, anon_vma counters, VMAs, the checker) must equal
// the API's state, plus hand-checked values per lesson and walk tallies.
// Any console error or failed request fails the run.  Screenshots at
// 1280x800 and 1920x1080 go to $SCREENSHOT_DIR (default ./screenshots).
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const here = dirname(fileURLToPath(import.meta.url));
const rmapd = process.argv[2] || process.env.RMAPD || join(here, '../../build/daemon/rmapd');
const webRoot = resolve(here, '../../web');
const shots = process.env.SCREENSHOT_DIR || join(here, 'screenshots');
let passed = 0, failed = 0;
const problems = [];

function check(name, cond, detail = '') {
  if (cond) { passed++; } else { failed++; console.log(`FAIL ${name} ${detail}`); }
}

async function freePort() {
  return new Promise((res) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
  });
}

async function startDaemon() {
  const dir = mkdtempSync(join(tmpdir(), 'rmapd-browser-'));
  const port = await freePort();
  const proc = spawn(rmapd, ['--listen', `127.0.0.1:${port}`, '--db', join(dir, 'db.sqlite'), '--web-root', webRoot],
    { stdio: ['ignore', 'ignore', 'ignore'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(base + '/healthz')).ok) return { proc, base, dir }; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('rmapd did not start');
}

async function settle(page) {
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(150);
}

// What the page shows, read from the DOM.
async function shown(page) {
  return page.evaluate(() => {
    const frames = [...document.querySelectorAll('#frames tbody tr')].map((tr) => {
      const td = [...tr.children].map((c) => c.textContent);
      return { pfn: Number(td[0]), mapping: td[1], mapcount: Number(td[3]) };
    });
    const nodes = {};
    for (const g of document.querySelectorAll('#graph g.node')) {
      nodes[g.dataset.id] = [...g.querySelectorAll(':scope > text')].map((t) => t.textContent).join('\n');
    }
    const check = document.getElementById('check-status');
    return { frames, nodes, checkOk: check.classList.contains('ok'), violations: check.dataset.violations,
      hash: location.hash, pos: document.getElementById('lesson-pos').textContent,
      tally: document.getElementById('walk-tally').textContent,
      ptes: [...document.querySelectorAll('table.ptes tbody tr')].map((tr) => tr.children[1].textContent) };
  });
}

async function api(base, path) {
  return (await fetch(base + path)).json();
}

// The page against the API's state, object by object.
async function compare(page, base, label) {
  const s = await shown(page);
  const id = Number(s.hash.match(/#\/s\/(\d+)/)[1]);
  const st = await api(base, `/api/v1/sessions/${id}`);
  const chk = await api(base, `/api/v1/sessions/${id}/check`);
  check(`${label}: frames listed`, s.frames.length === st.frames.length, `${s.frames.length} vs ${st.frames.length}`);
  for (const f of st.frames) {
    const row = s.frames.find((r) => r.pfn === f.pfn);
    check(`${label}: pfn ${f.pfn} mapcount`, row && row.mapcount === f.mapcount, JSON.stringify(row));
    check(`${label}: pfn ${f.pfn} node`, (s.nodes[`pfn${f.pfn}`] || '').includes(`mapcount ${f.mapcount}`));
  }
  for (const a of st.anon_vmas) {
    const want = 'degree' in a ? `degree ${a.degree}` : `children ${a.num_children} active ${a.num_active_vmas}`;
    const text = s.nodes[`av${a.id}`] || '';
    check(`${label}: anon_vma #${a.id} counters`, text.includes(want) && text.includes(`refcount ${a.refcount}`), text);
  }
  check(`${label}: no stray anon_vma nodes`, Object.keys(s.nodes).filter((k) => /^av\d+$/.test(k)).length === st.anon_vmas.length);
  for (const p of st.processes) {
    for (const v of p.vmas) {
      const text = s.nodes[`vma${v.id}`] || '';
      check(`${label}: vma #${v.id}`, text.includes(`vma #${v.id} ${v.prot}`) && text.includes(`pgoff ${v.pgoff} (${v.pages} pages)`), text);
    }
  }
  check(`${label}: checker status`, s.checkOk === chk.ok);
  return { s, st, id };
}

async function walkTally(page, pfn) {
  await page.selectOption('#walk-pfn', String(pfn));
  await page.selectOption('#walk-kind', 'walk');
  await page.click('#walk-start');
  await settle(page);
  for (let i = 0; i < 50; i++) {
    const t = await page.textContent('#walk-tally');
    if (t.startsWith('visited') || t.startsWith('walk stopped')) return t;
    await page.click('#walk-step');
  }
  return page.textContent('#walk-tally');
}

// Values worked out by hand from the kernel's behaviour, per lesson and step.
const expectations = {
  'fork-cow': {
    4: ({ st }) => st.frames.length === 1 && st.frames[0].mapcount === 2,
    5: ({ st }) => st.frames.length === 2 && st.frames.every((f) => f.mapcount === 1),
    6: ({ st }) => st.frames.find((f) => f.pfn === 1).flags.includes('anon_exclusive'),
    7: ({ st }) => st.processes.length === 1 && st.anon_vmas.length === 1,
  },
  'zero-page': {
    3: ({ s }) => s.ptes.includes('zero page') && s.frames.length === 0,
    5: ({ s }) => s.ptes.filter((x) => x === 'zero page').length === 1 && s.frames.length === 1,
  },
  'fork-chain': { 7: ({ st }) => st.anon_vmas.length === 3 && st.frames.length === 3 },
  'anon-vma-reuse': { 7: ({ st, s }) => st.anon_vmas.length === 3 && !('av4' in s.nodes) },
  'split-merge': {
    5: ({ st }) => st.processes[0].vmas.length === 3,
    6: ({ st }) => st.processes[0].vmas.length === 1,
    8: ({ st }) => st.processes[0].vmas.length === 2,
  },
  'mremap': { 5: ({ st }) => st.processes[0].vmas[0].start === '0x7f0000100000' && st.frames.length === 2 },
  'legacy-reuse-bug': {
    18: ({ s }) => !s.checkOk && s.violations.includes('anon-not-reachable'),
    23: ({ s }) => !s.checkOk && s.violations.includes('dangling-mapping'),
  },
};

const walks = {
  'fork-cow': { step: 5, pfn: 1, tally: 'visited 2, mapping 1' },
  'fork-chain': { step: 7, pfn: 1, tally: 'visited 3, mapping 1' },
  'mremap': { step: 5, pfn: 1, tally: 'visited 1, mapping 1' },
  'file-sharing': { step: 27, pfn: 13, tally: 'visited 4, mapping 1' },
  'legacy-reuse-bug': { step: 23, pfn: 2, tally: 'walk stopped: dangling page->mapping' },
};

async function main() {
  mkdirSync(shots, { recursive: true });
  const d = await startDaemon();
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
    await page.goto(d.base + '/');
    await settle(page);
    const lessons = await api(d.base, '/api/v1/scenarios');
    check('at least six lessons', lessons.length >= 6, String(lessons.length));
    for (const l of lessons) {
      await page.selectOption('#lesson-picker', l.name);
      await page.click('#load-lesson');
      await settle(page);
      check(`${l.name}: loaded at step 0`, (await page.textContent('#lesson-pos')) === `step 0 of ${l.steps}`);
      for (let i = 1; i <= l.steps; i++) {
        await page.keyboard.press('ArrowRight');
        await page.waitForFunction((t) => document.getElementById('lesson-pos').textContent === t, `step ${i} of ${l.steps}`);
        await settle(page);
        const got = await compare(page, d.base, `${l.name} step ${i}`);
        const exp = expectations[l.name]?.[i];
        if (exp) check(`${l.name} step ${i}: hand-checked values`, exp(got));
        const w = walks[l.name];
        if (w && w.step === i) {
          const tally = await walkTally(page, w.pfn);
          check(`${l.name} step ${i}: walk of pfn ${w.pfn}`, tally.startsWith(w.tally), tally);
        }
      }
      check(`${l.name}: URL names session and step`, new RegExp(`#/s/\\d+/lesson/${l.name}/step/${l.steps}$`).test(await page.evaluate(() => location.hash)));
      await page.screenshot({ path: join(shots, `${l.name}-1280x800.png`), fullPage: true });
    }
    // a reload of a shared URL restores the same view
    const url = page.url();
    const before = await shown(page);
    await page.reload();
    await settle(page);
    const after = await shown(page);
    check('reload restores session, step and view', after.pos === before.pos && JSON.stringify(after.frames) === JSON.stringify(before.frames));
    // going back a step rewinds the session
    await page.keyboard.press('ArrowLeft');
    await settle(page);
    check('back rewinds one lesson step', (await shown(page)).pos !== before.pos);
    await page.goto(url);
    await settle(page);
    // large type and the big screen
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.selectOption('#lesson-picker', 'fork-cow');
    await page.click('#load-lesson');
    await settle(page);
    for (let i = 0; i < 5; i++) { await page.keyboard.press('ArrowRight'); await settle(page); }
    await page.keyboard.press('l');
    check('large-type mode', await page.evaluate(() => document.body.classList.contains('large')));
    await page.screenshot({ path: join(shots, 'fork-cow-large-1920x1080.png'), fullPage: true });
    await page.keyboard.press('l');
    await page.screenshot({ path: join(shots, 'fork-cow-1920x1080.png'), fullPage: true });
    // an operation the daemon refuses shows its detail, and one the kernel refuses its errno
    await page.selectOption('#op-kind', 'access');
    await page.fill('#op-fields input[name=write]', '').catch(() => {});
    await page.evaluate(() => { document.querySelector('#op-fields select[name=addr]').innerHTML = '<option value="0x10">0x10</option>'; });
    await page.click('#op-form button[type=submit]');
    await settle(page);
    check('kernel refusal shown', /SIGSEGV/.test(await page.textContent('#op-message')), await page.textContent('#op-message'));
  } finally {
    await browser.close();
    d.proc.kill('SIGTERM');
    rmSync(d.dir, { recursive: true, force: true });
  }
  check('no console errors or failed requests', problems.length === 0, problems.slice(0, 5).join('; '));
  console.log(`screenshots in ${shots}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.log('FAIL', e); console.log(`${passed} passed, ${failed + 1} failed`); process.exit(1); });
