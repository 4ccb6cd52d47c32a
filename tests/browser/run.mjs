// Browser tests: a real rmapd, headless Chromium (Debian's), every lesson
// loaded from the page and stepped through; after each step what the page
// shows (frames, mapcounts, anon_vma counters, VMAs, the checker) must equal
// the API's state, plus hand-checked values per lesson and walk tallies.
// Any console error or failed request fails the run, except the page's own
// closing of a session's event stream (an aborted GET .../events) and, in
// the one test that provokes it, the 422 of a refused op.  Screenshots at
// 1280x800 and 1920x1080 go to $SCREENSHOT_DIR (default ./screenshots).
import { existsSync, mkdirSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon, launch, settle, stopDaemon } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// the operation form, folded while a lesson runs, opened
async function openForm(page) {
  if (!(await page.evaluate(() => document.getElementById('op-box').open))) await page.click('#op-box > summary');
}

const hex = (n) => `0x${n.toString(16)}`;   // as web/js/api.js prints offsets
const rmapd = process.argv[2] || process.env.RMAPD || join(here, '../../build/daemon/rmapd');
const webRoot = process.env.WEB_ROOT || resolve(here, '../../web');   // the source tree or an install
const shots = process.env.SCREENSHOT_DIR || join(here, 'screenshots');
let passed = 0, failed = 0;
const problems = [];
const closedStreams = [];    // sessions whose event stream the page closed
let expect422 = false;       // true only while the refused-op test runs
const seen422 = [];

function check(name, cond, detail = '') {
  if (cond) { passed++; } else { failed++; console.log(`FAIL ${name} ${detail}`); }
}

// What the page shows, read from the DOM.
async function shown(page) {
  return page.evaluate(() => {
    const frames = [...document.querySelectorAll('#frames tbody tr')].map((tr) => {
      const td = [...tr.children].map((c) => c.textContent);
      return { pfn: Number(td[0]), mapping: td[1], mapcount: Number(td[3]) };
    });
    const nodes = {}, runOf = {}, shut = [];
    for (const g of document.querySelectorAll('#graph g.node')) {
      nodes[g.dataset.id] = [...g.querySelectorAll(':scope > text')].map((t) => t.textContent).join('\n');
      for (const m of (g.dataset.members || '').split(' ').filter(Boolean)) runOf[m] = g.dataset.id;
      if (g.classList.contains('collapsed')) shut.push(g.dataset.id);
    }
    // a file's cached pages that no PTE maps are drawn as one node listing them
    const cached = {};
    for (const g of document.querySelectorAll('#graph g.node[data-pfns]')) {
      for (const pfn of g.dataset.pfns.split(' ')) cached[pfn] = g.dataset.id;
    }
    const check = document.getElementById('check-status');
    return { frames, nodes, runOf, shut, cached, checkOk: check.classList.contains('ok'), violations: check.dataset.violations,
      hash: location.hash, pos: document.getElementById('lesson-pos').textContent,
      tally: document.getElementById('walk-tally').textContent,
      ptes: [...document.querySelectorAll('table.ptes tbody tr')].map((tr) => tr.children[1].textContent),
      strips: Object.fromEntries([...document.querySelectorAll('#strips .strip')].map((r) => [r.dataset.pid,
        [...r.querySelectorAll('.seg')].map((g) => ({ range: g.querySelector('.range').textContent, what: g.querySelector('.what').textContent }))])) };
  });
}

async function api(base, path) {
  return (await fetch(base + path)).json();
}

// The page against the API's state, object by object.
async function compare(page, base, label) {
  const s = await shown(page);
  const id = Number(s.hash.match(/#\/s\/(\d+)/)[1]);
  // a page looking back at an op (a lesson's Back) shows the state of that op
  const back = (await page.textContent('#version')).match(/ op (\d+) of \d+ \(looking back\)/);
  const at = back ? `?version=${back[1]}` : '';
  const st = await api(base, `/api/v1/sessions/${id}${at}`);
  const chk = await api(base, `/api/v1/sessions/${id}/check${at}`);
  check(`${label}: frames listed`, s.frames.length === st.frames.length, `${s.frames.length} vs ${st.frames.length}`);
  {
    // a note that a frame is missing names one this state does not hold
    const note = await page.isVisible('#walk-pfn-note') ? await page.textContent('#walk-pfn-note') : '';
    const gone = note.match(/^pfn (\d+) is not in this state/);
    check(`${label}: the pfn picker's note is about this state`, !gone || !st.frames.some((f) => f.pfn === Number(gone[1])), note);
  }
  for (const f of st.frames) {
    const row = s.frames.find((r) => r.pfn === f.pfn);
    check(`${label}: pfn ${f.pfn} mapcount`, row && row.mapcount === f.mapcount, JSON.stringify(row));
    if (s.cached[f.pfn]) {
      check(`${label}: pfn ${f.pfn} in the unmapped page cache node`, f.mapcount === 0 && f.mapping.kind === 'file'
        && s.cached[f.pfn] === `cache${f.mapping.id}` && !(`pfn${f.pfn}` in s.nodes), s.cached[f.pfn]);
    } else {
      check(`${label}: pfn ${f.pfn} node`, (s.nodes[`pfn${f.pfn}`] || '').includes(`mapcount ${f.mapcount}`));
    }
  }
  // the picture may fold what is quiet (fold.js): an anon_vma below a
  // collapsed one, a VMA in a run of alike VMAs or in a collapsed lane
  const avs = new Map(st.anon_vmas.map((a) => [a.id, a]));
  const hidden = (a) => {
    for (let p = avs.get(a.parent), n = 0; p && n < 1000; p = p.parent !== p.id ? avs.get(p.parent) : null, n++) {
      if (s.shut.includes(`av${p.id}`)) return true;
      if (p.parent === p.id) break;
    }
    return false;
  };
  for (const a of st.anon_vmas) {
    const want = 'degree' in a ? `degree ${a.degree}` : `children ${a.num_children} active ${a.num_active_vmas}`;
    const text = s.nodes[`av${a.id}`] || '';
    if (!text && hidden(a)) continue;
    check(`${label}: anon_vma #${a.id} counters`, text.includes(want) && text.includes(`refcount ${a.refcount}`), text);
  }
  check(`${label}: no stray anon_vma nodes`, Object.keys(s.nodes).filter((k) => /^av\d+$/.test(k)).every((k) => avs.has(Number(k.slice(2)))));
  for (const p of st.processes) {
    const lane = s.shut.includes(`proc${p.pid}`);
    if (lane) check(`${label}: pid ${p.pid}'s lane, collapsed, counts its VMAs`, (s.nodes[`proc${p.pid}`] || '').includes(`${p.vmas.length} VMA`));
    for (const v of p.vmas) {
      if (lane) continue;
      const run = s.runOf[v.id];
      if (run) {
        check(`${label}: vma #${v.id} in ${run}`, (s.nodes[run] || '').includes(`${v.prot}${v.flags.includes('shared') ? 's' : 'p'}`), s.nodes[run]);
        continue;
      }
      const text = s.nodes[`vma${v.id}`] || '';
      // a compact box (a picture that needs it to hold the text floor)
      // leaves out an anonymous VMA's pgoff where it is its start >> 12
      const pages = `${v.pages} page${v.pages === 1 ? '' : 's'}`;
      const implied = (v.file === null || v.file === undefined) && BigInt(v.pgoff) === BigInt(v.start) >> 12n && text.includes(`· ${pages}`) && !text.includes('pgoff');
      check(`${label}: vma #${v.id}`, text.includes(`vma #${v.id} ${v.prot}`) && (text.includes(`pgoff ${hex(v.pgoff)} (${pages})`) || implied), text);
    }
  }
  check(`${label}: checker status`, s.checkOk === chk.ok);
  // the address line of each process: its VMAs in address order, full addresses, prot
  for (const p of st.processes) {
    const want = [...p.vmas].sort((a, b) => (BigInt(a.start) < BigInt(b.start) ? -1 : 1))
      .map((v) => `${v.start}–${v.end} ${v.prot}`);
    const got = (s.strips[p.pid] || []).map((g) => `${g.range} ${g.what.split(' ')[1]}`);
    check(`${label}: address line of pid ${p.pid}`, JSON.stringify(got) === JSON.stringify(want), `${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
  }
  check(`${label}: one address line per process`, Object.keys(s.strips).length === st.processes.length);
  // the checker's violations, each in the header's own box (hidden when there are none)
  const box = await page.evaluate(() => ({ hidden: document.getElementById('violations').hidden,
    kinds: [...document.querySelectorAll('#violations li')].map((li) => li.dataset.what) }));
  check(`${label}: violations box`, box.hidden === chk.ok && JSON.stringify(box.kinds) === JSON.stringify(chk.violations.map((v) => v.what)),
    JSON.stringify(box));
  // the timeline: each op with the first three kernel events, all of them behind the toggle
  const j = await api(base, `/api/v1/sessions/${id}/ops?from=0&limit=1000`);
  const rows = await page.evaluate(() => [...document.querySelectorAll('#timeline li')].map((li) => ({
    short: li.querySelector('.events .short').textContent, all: li.querySelector('.events .all').textContent,
    more: li.querySelector('.events .more')?.textContent || '' })));
  check(`${label}: a timeline row per op`, rows.length === j.ops.length, `${rows.length} vs ${j.ops.length}`);
  j.ops.forEach((e, k) => {
    // a summary says how many more calls of its function were only counted
    const names = e.result.events.map((x) => (x.omitted ? `${x.fn} ×${x.omitted} more` : x.fn));
    const r = rows[k] || {};
    check(`${label}: op ${e.seq}'s kernel events`, r.short === names.slice(0, 3).join(' → ') && r.all === names.join(' → ')
      && r.more === (names.length > 3 ? `+${names.length - 3} more` : ''), JSON.stringify(r));
  });
  return { s, st, id };
}

// Walks pfn from the walk panel and steps through it to the end; the steps
// shown must be the API's probes of the interval tree, one each, in order,
// the matches carrying their visits, and the last one the tally.
async function walkTally(page, pfn, base, label) {
  await page.selectOption('#walk-pfn', String(pfn));
  await page.selectOption('#walk-kind', 'walk');
  await page.click('#walk-start');
  await settle(page);
  await page.waitForFunction((p) => (document.querySelector('#walk-steps li[data-step=start]')?.textContent || '').includes(`pfn ${p} `)
    || document.getElementById('walk-tally').textContent.startsWith('walk stopped'), pfn);
  const id = Number((await page.evaluate(() => location.hash)).match(/#\/s\/(\d+)/)[1]);
  const w = await api(base, `/api/v1/sessions/${id}/frames/${pfn}/walk`);
  // the interval tree the walk searches, drawn node for node as the API has it
  if (!w.dangling) {
    const st = await api(base, `/api/v1/sessions/${id}`);
    const want = w.start.kind === 'anon_vma'
      ? st.anon_vmas.find((a) => a.id === w.start.id).avcs.map((a) => ({ key: a.id, parent: a.tree_parent, color: a.color }))
      : st.files.find((f) => f.id === w.start.id).i_mmap.map((v) => ({ key: v.vma, parent: v.tree_parent, color: v.color }));
    const shown = await page.evaluate(() => ({
      nodes: [...document.querySelectorAll('#walk-tree .tree-node')].map((g) => ({ key: Number(g.dataset.key),
        color: g.classList.contains('red') ? 'red' : 'black' })),
      edges: document.querySelectorAll('#walk-tree .tree-edge').length }));
    const sameNodes = JSON.stringify(shown.nodes.map((n) => `${n.key}:${n.color}`).sort())
      === JSON.stringify(want.map((n) => `${n.key}:${n.color}`).sort());
    check(`${label}: the interval tree shows the API's nodes and colours`, sameNodes && shown.edges === want.length - 1
      && want.filter((n) => n.parent === null).length === 1, JSON.stringify({ shown, want }));
  }
  let probeSteps = 0;
  for (let i = 0; i < 200; i++) {
    const t = await page.textContent('#walk-tally');
    if (t.startsWith('visited') || t.startsWith('walk stopped')) break;
    await page.click('#walk-step');
    // the step now current: a probe names the node the query examined, lit on the graph
    const cur = await page.evaluate(() => {
      const li = document.querySelector('#walk-steps li.current');
      return { kind: li.dataset.kind, probe: li.dataset.probe, text: li.textContent,
        lit: [...document.querySelectorAll('#graph .walk-probe')].map((e) => e.dataset.id).sort(),
        treeProbe: [...document.querySelectorAll('#walk-tree .tree-node.probe')].map((g) => Number(g.dataset.key)) };
    });
    if (cur.kind === 'probe') {
      const p = w.probes[probeSteps];
      const obj = p.avc !== undefined ? `avc #${p.avc} (vma #${p.vma})` : `vma #${p.vma}`;
      check(`${label}: probe ${probeSteps + 1} shown as the API's`, p && cur.probe === p.step
        && cur.text.startsWith(`examined ${obj} [pgoff ${hex(p.start)}..${hex(p.last)}], subtree max ${hex(p.subtree_last)}:`), cur.text);
      // a VMA the query only passes may be folded in a run: the run is lit
      const run = await page.evaluate((v) => [...document.querySelectorAll('#graph g.node.run')]
        .find((g) => g.dataset.members.split(' ').includes(String(v)))?.dataset.id, p.vma);
      const want = run ? [run] : [`vma${p.vma}`, p.avc !== undefined ? `avc${p.avc}` : `imap${p.vma}`].sort();
      check(`${label}: probe ${probeSteps + 1} lit on the graph`, want.every((x) => cur.lit.includes(x)), JSON.stringify(cur.lit));
      check(`${label}: probe ${probeSteps + 1} marked in the interval tree`,
        JSON.stringify(cur.treeProbe) === JSON.stringify([p.avc !== undefined ? p.avc : p.vma]), JSON.stringify(cur.treeProbe));
      probeSteps++;
    }
  }
  const steps = await page.evaluate(() => [...document.querySelectorAll('#walk-steps li:not([hidden])')].map((li) => li.dataset.kind || 'start'));
  const tally = await page.textContent('#walk-tally');
  if (!w.dangling) {
    check(`${label}: one step per probe`, probeSteps === w.probes.length && steps.filter((k) => k === 'probe').length === w.probes.length,
      `${probeSteps} shown, ${w.probes.length} probes`);
    check(`${label}: the last step shows the tally`, tally === `visited ${w.visited}, mapping ${w.mapped} (tree nodes examined: ${w.tree_probes})`, tally);
    // back goes through the probes too
    await page.click('#walk-back');
    const back = await page.evaluate(() => ({ pos: [...document.querySelectorAll('#walk-steps li')].findIndex((li) => li.classList.contains('current')),
      tally: document.getElementById('walk-tally').textContent }));
    check(`${label}: back steps to the previous probe`, back.pos === steps.length - 2 && back.tally === `step ${steps.length - 1} of ${steps.length}`, JSON.stringify(back));
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
  'file-sharing': {
    1: ({ s }) => Object.keys(s.cached).length === 64 && s.nodes.cache1.includes('64 cached pages'),
    27: ({ s }) => Object.keys(s.cached).length === 60 && ['pfn11', 'pfn12', 'pfn13', 'pfn14'].every((k) => k in s.nodes),
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

// The legacy lesson's broken state: the checker badge is red, the kinds /check
// reports are listed in their own box, which hover does not replace and
// which stays in view when the page scrolls (the header is sticky).
async function stickyViolations(page, base, id) {
  const chk = await api(base, `/api/v1/sessions/${id}/check`);
  const kinds = () => page.evaluate(() => [...document.querySelectorAll('#violations li')].map((li) => li.dataset.what));
  check('legacy: the checker badge is red', !chk.ok && await page.evaluate(() => getComputedStyle(document.getElementById('check-status')).backgroundColor) === 'rgb(173, 74, 0)');
  check('legacy: the violations are listed', JSON.stringify(await kinds()) === JSON.stringify(chk.violations.map((v) => v.what))
    && chk.violations.length > 0, JSON.stringify(await kinds()));
  await page.hover('#graph g.node.vma');
  check('legacy: hover does not replace the violations', await page.isVisible('#violations')
    && JSON.stringify(await kinds()) === JSON.stringify(chk.violations.map((v) => v.what)));
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  const r = await page.evaluate(() => ({ y: window.scrollY, header: document.querySelector('header').getBoundingClientRect().top,
    box: document.getElementById('violations').getBoundingClientRect().bottom, h: window.innerHeight }));
  check('legacy: the header and its violations stay in view when scrolled', r.y > 0 && r.header === 0 && r.box <= r.h, JSON.stringify(r));
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.move(0, 0);
}

// folio_referenced of a page nobody maps has no walk: the walk panel says so
// in words instead of keeping the walk before it (file-sharing's last step:
// pfn 13's walk is shown, pfn 40 is a cached page no PTE maps).
async function noWalk(page, base, id) {
  const st = await api(base, `/api/v1/sessions/${id}`);
  const f = st.frames.find((x) => x.pfn === 40);
  check('file-sharing: pfn 40 is a cached page nobody maps', f && f.mapcount === 0, JSON.stringify(f));
  check('file-sharing: a walk is shown before', await page.evaluate(() => document.querySelectorAll('#walk-steps li[data-kind]').length > 0));
  await page.selectOption('#walk-pfn', '40');
  await page.selectOption('#walk-kind', 'folio_referenced');
  await page.click('#walk-start');
  await settle(page, { op: st.version + 1 });
  const panel = await page.evaluate(() => ({ text: document.getElementById('walk-steps').textContent,
    old: document.querySelectorAll('#walk-steps li[data-kind], #walk-steps li[data-step=start]').length,
    tree: document.querySelectorAll('#walk-tree .tree-node').length, lit: document.querySelectorAll('#graph .walk-hit, #graph .walk-miss, #graph .walk-start').length }));
  check('folio_referenced of an unmapped page says there is no walk', panel.text === 'folio_referenced: pfn 40 is not mapped: no walk, referenced 0'
    && panel.old === 0 && panel.tree === 0 && panel.lit === 0, JSON.stringify(panel));
  // the op is off the lesson's path: said neutrally, whoever made it
  const note = await page.textContent('#lesson-note');
  check('the off-path note counts the ops without blaming a panel', note.startsWith('1 operation after this lesson step')
    && !/walk panel|the form/.test(note), note);
  await page.selectOption('#walk-kind', 'walk');
}

// The walk panel shows no walk (or only a note saying why): after a change
// of the session the old walk's visits are gone.
const walkCleared = (page) => page.evaluate(() => document.querySelectorAll('#walk-steps li[data-kind], #walk-steps li[data-step=start]').length === 0
  && document.querySelectorAll('#walk-tree .tree-node').length === 0 && document.querySelectorAll('#graph .walk-hit, #graph .walk-miss').length === 0
  && document.getElementById('walk-tally').textContent === '');

// Walk pfn to its end (Walk, then ▶| until the tally).
async function walkToEnd(page, pfn) {
  await page.selectOption('#walk-pfn', String(pfn));
  await page.selectOption('#walk-kind', 'walk');
  await page.click('#walk-start');
  await settle(page);
  await page.waitForFunction((p) => (document.querySelector('#walk-steps li[data-step=start]')?.textContent || '').includes(`pfn ${p} `), pfn);
  for (let i = 0; i < 100 && !(await page.textContent('#walk-tally')).startsWith('visited'); i++) await page.click('#walk-step');
}

// Everything lit (class hl) anywhere on the page, by object name.
const litSet = (page) => page.evaluate(() => [...new Set([...document.querySelectorAll('.hl[data-obj]')].map((e) => e.dataset.obj))].sort());

async function main() {
  if (!existsSync(join(webRoot, 'js', 'graph.js'))) throw new Error(`${webRoot} holds no page: set WEB_ROOT to the web root`);
  mkdirSync(shots, { recursive: true });
  const d = await startDaemon(rmapd, webRoot);
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      // Chromium logs a failed fetch as a console error: expected for the refused op only
      if (expect422 && /^Failed to load resource: the server responded with a status of 422 \(Unprocessable (Entity|Content)\)$/.test(m.text())) { seen422.push(m.text()); return; }
      problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // try_to_unmap and folio_referenced ask first (controls.mjs tests the
    // question and both answers); here every question is answered yes
    page.on('dialog', (dl) => dl.accept());
    page.on('requestfailed', (r) => {
      // the page closes a session's event stream when it leaves the session (or the page)
      const m = /\/api\/v1\/sessions\/(\d+)\/events\?since=\d+(?:&cuts=\d+)?$/.exec(r.url());
      if (m && r.failure()?.errorText === 'net::ERR_ABORTED') { closedStreams.push(Number(m[1])); return; }
      problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    });
    page.on('response', (r) => {
      if (expect422 && r.status() === 422 && r.request().method() === 'POST' && /\/api\/v1\/sessions\/\d+\/ops$/.test(r.url())) { seen422.push(r.url()); return; }
      if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
    });
    // the page's own Content-Security-Policy must never have to block it
    // (collected here, across the reloads and navigations below)
    const csp = [];
    await page.exposeFunction('reportCspViolation', (v) => csp.push(v));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => window.reportCspViolation(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const home = await page.goto(d.base + '/');
    check('the page is served under a CSP', /default-src 'self'/.test(home.headers()['content-security-policy'] || ''));
    await settle(page);
    const lessons = await api(d.base, '/api/v1/scenarios');
    check('at least six lessons', lessons.length >= 6, String(lessons.length));
    const opsAt = {};   // lesson name -> ops applied after step i
    for (const l of lessons) {
      const full = await api(d.base, `/api/v1/scenarios/${l.name}`);
      opsAt[l.name] = [0];
      full.steps.forEach((st, i) => opsAt[l.name].push(opsAt[l.name][i] + (st.op ? 1 : 0)));
      await page.selectOption('#lesson-picker', l.name);
      await page.click('#load-lesson');
      await settle(page, { pos: `step 0 of ${l.steps}`, op: 0, hash: `/lesson/${l.name}/step/0$` });
      check(`${l.name}: loaded at step 0`, (await page.textContent('#lesson-pos')) === `step 0 of ${l.steps}`);
      for (let i = 1; i <= l.steps; i++) {
        await page.keyboard.press('ArrowRight');
        await settle(page, { pos: `step ${i} of ${l.steps}`, op: opsAt[l.name][i], hash: `/lesson/${l.name}/step/${i}$` });
        const got = await compare(page, d.base, `${l.name} step ${i}`);
        // every step is explained: by its own text, or by its group's with where in the group it is
        let first = i;
        while (first > 1 && !full.steps[first - 1].explain) first--;
        let end = i;
        while (end < l.steps && !full.steps[end].explain) end++;
        const explain = (await page.textContent('#lesson-explain')).trim();
        check(`${l.name} step ${i}: explained`, explain.length > 0 && explain === full.steps[first - 1].explain, explain);
        if (end > first) {
          const g = await page.textContent('#lesson-group');
          check(`${l.name} step ${i}: place in its group`, await page.isVisible('#lesson-group') && g.startsWith(`step ${i - first + 1} of the ${end - first + 1} `), g);
        } else check(`${l.name} step ${i}: no group line`, await page.isHidden('#lesson-group'));
        check(`${l.name} step ${i}: on the lesson's path`, await page.isHidden('#lesson-note'));
        if (l.name === 'legacy-reuse-bug' && i === 18) await stickyViolations(page, d.base, got.id);
        const exp = expectations[l.name]?.[i];
        if (exp) check(`${l.name} step ${i}: hand-checked values`, exp(got));
        const w = walks[l.name];
        if (w && w.step === i) {
          const tally = await walkTally(page, w.pfn, d.base, `${l.name} step ${i} walk`);
          check(`${l.name} step ${i}: walk of pfn ${w.pfn}`, tally.startsWith(w.tally), tally);
        }
        if (l.name === 'file-sharing' && i === l.steps) await noWalk(page, d.base, got.id);
      }
      // the timeline shows every argument of an op
      const rows = await page.evaluate(() => [...document.querySelectorAll('#timeline li > div:first-child')].map((e) => e.textContent));
      if (l.name === 'mremap') {
        check('mremap: the timeline shows old_len, new_len, flags and new_addr', rows.some((r) => r.startsWith('mremap ')
          && r.includes('old_len=8192') && r.includes('new_len=8192') && r.includes('new_addr=0x7f0000100000') && r.includes('maymove|fixed')), JSON.stringify(rows));
      }
      if (l.name === 'file-sharing') {
        check('file-sharing: the timeline shows a file mmap\'s file and offset', rows.some((r) => r.startsWith('mmap ')
          && r.includes('file=libc.so') && /offset=\w+/.test(r)), JSON.stringify(rows.slice(0, 4)));
      }
      // every kind of edge drawn looks as its legend sample does
      const looks = await page.evaluate(() => {
        const st = (e) => e && ['stroke', 'strokeDasharray', 'strokeWidth'].map((k) => getComputedStyle(e)[k]).join(' ');
        // (an edge the last step created is drawn wider, as the picture marks it)
        const plain = '#graph g.edge:not(.mark-new):not(.hl)';
        return [...new Set([...document.querySelectorAll(plain)].map((g) => g.classList[1]))].filter(Boolean)
          .map((k) => [k, st(document.querySelector(`${plain}.${k} path.line`)), st(document.querySelector(`#legend .edge.${k} path.line`))]);
      });
      for (const [k, g, lg] of looks) check(`${l.name}: legend sample of ${k} edges`, g === lg, `${g} vs ${lg}`);
      check(`${l.name}: URL names session and step`, new RegExp(`#/s/\\d+/lesson/${l.name}/step/${l.steps}$`).test(await page.evaluate(() => location.hash)));
      await page.screenshot({ path: join(shots, `${l.name}-1280x800.png`), fullPage: true });
    }
    // a reload of a shared URL restores the same view
    const url = page.url();
    const before = await shown(page);
    await page.reload();
    await settle(page, { pos: before.pos, hash: before.hash.slice(1) + '$' });
    const after = await shown(page);
    check('reload restores session, step and view', after.pos === before.pos && JSON.stringify(after.frames) === JSON.stringify(before.frames));
    check('after a reload the lesson picker shows the lesson', await page.inputValue('#lesson-picker') === lessons[lessons.length - 1].name,
      await page.inputValue('#lesson-picker'));
    // going back a step shows the step before (looking back, nothing cut)
    const last = lessons[lessons.length - 1];
    await page.keyboard.press('ArrowLeft');
    await settle(page, { pos: `step ${last.steps - 1} of ${last.steps}`, op: opsAt[last.name][last.steps - 1] });
    check('back goes one lesson step back', (await shown(page)).pos !== before.pos);
    // the shared URL, opened in the same tab, goes forward again
    await page.goto(url);
    await settle(page, { pos: before.pos, op: opsAt[last.name][last.steps] });
    check('a pasted URL shows its step', (await shown(page)).pos === before.pos);
    {
      // a lesson URL opened in a fresh page: the picker names its lesson
      const p2 = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      p2.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      await p2.goto(url);
      await settle(p2, { pos: before.pos });
      check('a lesson URL in a new page: the picker shows its lesson', await p2.inputValue('#lesson-picker') === lessons[lessons.length - 1].name,
        await p2.inputValue('#lesson-picker'));
      await p2.close();
    }

    // ---- fork-chain: highlighting, edge styles, the walk mid-animation, live updates ----
    await page.selectOption('#lesson-picker', 'fork-chain');
    await page.click('#load-lesson');
    await settle(page, { pos: 'step 0 of 7', op: 0 });
    for (let i = 1; i <= 7; i++) { await page.keyboard.press('ArrowRight'); await settle(page, { pos: `step ${i} of 7`, op: i }); }
    const chain = await compare(page, d.base, 'fork-chain for highlighting');
    // hovering links everything the rmap links to it (hand-checked against the lesson's state)
    const sameSet = (a, b) => JSON.stringify(a) === JSON.stringify([...b].sort());
    await page.hover('#frames tr[data-obj="pfn1"]');
    {
      const det = await page.evaluate(() => [...document.querySelectorAll('#details dt')].find((t) => t.textContent === 'page->index')?.nextElementSibling.textContent || '');
      check('the selection box shows the index in hex', /^0x[0-9a-f]+ /.test(det), det);
    }
    let lit = await litSet(page);
    check('hover frame pfn 1 lights its PTE, VMA, process, anon_vma, AVC', sameSet(lit,
      ['pfn1', 'pte1:0x7f0000000000', 'proc1', 'vma1', 'av1', 'mapg1', 'avc1']), JSON.stringify(lit));
    await page.hover('table.ptes tr[data-obj="pte2:0x7f0000000000"]');
    lit = await litSet(page);
    check('hover a PTE row lights its frame, VMA, anon_vma and AVC', sameSet(lit,
      ['pte2:0x7f0000000000', 'proc2', 'vma2', 'pfn2', 'av2', 'mapg2', 'avc3']), JSON.stringify(lit));
    check('the hovered PTE row is lit itself', await page.evaluate(() => document.querySelector('table.ptes tr[data-obj="pte2:0x7f0000000000"]').classList.contains('hl')));
    await page.hover('#graph g.node[data-id="av2"]');
    lit = await litSet(page);
    check('hover anon_vma #2 lights its AVCs, VMAs, page, parent', sameSet(lit,
      ['av2', 'avc3', 'vma2', 'avc5', 'vma3', 'ptr2', 'pfn2', 'mapg2', 'parent2', 'av1']), JSON.stringify(lit));
    await page.screenshot({ path: join(shots, 'fork-chain-hover-1280x800.png') });
    await page.hover('#timeline li[data-obj="op4"]');
    lit = await litSet(page);
    check('a hovered timeline row: fork of pid 1 lights parent and child', sameSet(lit, ['op4', 'proc1', 'proc2']), JSON.stringify(lit));
    await page.mouse.move(0, 0);
    check('leaving it unlights them', (await litSet(page)).length === 0);
    // edges: a label or style per kind, the legend's samples drawn by the same rules
    const styles = await page.evaluate(() => {
      const out = {};
      for (const k of ['anon_vma', 'avc', 'parent', 'mapping', 'pte', 'i_mmap']) {
        const st = (e) => e && (({ stroke, strokeDasharray, strokeWidth }) => ({ stroke, strokeDasharray, strokeWidth }))(getComputedStyle(e));
        out[k] = { legend: st(document.querySelector(`#legend .edge.${k} path.line`)), graph: st(document.querySelector(`#graph .edge.${k}:not(.mark-new):not(.hl) path.line`)) };
      }
      out.labels = [...document.querySelectorAll('#graph .edge-label text')].map((t) => t.textContent);
      return out;
    });
    for (const k of ['anon_vma', 'avc', 'parent', 'mapping', 'pte']) {
      check(`legend sample of ${k} edges matches the graph's`, JSON.stringify(styles[k].legend) === JSON.stringify(styles[k].graph), JSON.stringify(styles[k]));
    }
    const looks = Object.entries(styles).filter(([k]) => k !== 'labels').map(([, v]) => `${v.legend.stroke} ${v.legend.strokeDasharray}`);
    check('every edge kind looks different', new Set(looks).size === looks.length, JSON.stringify(looks));
    // the picture labels its chains (shown when lit); the other kinds are told by colour and dash
    for (const t of ['avc 1', 'avc 5']) check(`edge label ${t}`, styles.labels.includes(t), JSON.stringify(styles.labels));
    // screenshots: the walk of pfn 1 in the middle of its probes
    await page.evaluate(() => { document.getElementById('center').scrollTop = 0; });
    await page.selectOption('#walk-pfn', '1');
    await page.click('#walk-start');
    await settle(page);
    await page.waitForFunction(() => (document.querySelector('#walk-steps li[data-step=start]')?.textContent || '').includes('pfn 1 '));
    await page.click('#walk-step');
    await page.click('#walk-step');
    check('mid-walk: a probe is current and lit', await page.evaluate(() => document.querySelector('#walk-steps li.current')?.dataset.kind === 'probe'
      && document.querySelectorAll('#graph .walk-probe').length >= 2));
    {
      // the node the current probe examines is scrolled into the graph panel's view
      const r = await page.evaluate(() => {
        const c = document.getElementById('center').getBoundingClientRect();
        const n = document.querySelector('#graph .node.walk-probe').getBoundingClientRect();
        return n.top >= c.top && n.bottom <= c.bottom;
      });
      check('mid-walk: the probed VMA is in view', r);
    }
    await page.mouse.move(0, 0);
    await page.screenshot({ path: join(shots, 'fork-chain-walk-1280x800.png') });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: join(shots, 'fork-chain-walk-1920x1080.png') });
    await page.setViewportSize({ width: 1280, height: 800 });
    // live updates: an op posted by another client shows up without a reload
    check('the page listens to its session', await page.evaluate(() => document.body.dataset.live) === String(chain.id));
    check('a walk is shown before the other client\'s op', !(await walkCleared(page)));
    const posted = await (await fetch(`${d.base}/api/v1/sessions/${chain.id}/ops`, { method: 'POST',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ops: [{ op: 'spawn', layout: 'process' }] }) })).json();
    await settle(page, { op: posted.version });
    await page.waitForFunction(() => document.querySelector('#graph g.node[data-id="proc4"]') && document.querySelector('#strips .strip[data-pid="4"]'));
    {
      const got = await compare(page, d.base, 'fork-chain after an op from another client');
      check('the other client\'s op is shown', got.s.nodes.proc4 !== undefined && posted.version === 8
        && (await page.textContent('#version')).includes(' op 8 ') && await page.isVisible('#lesson-note'));
      check('an op from another client clears the walk', await walkCleared(page));
      const note = await page.textContent('#lesson-note');
      check('the off-path note after another client\'s op is neutral', note.startsWith('1 operation after this lesson step')
        && !/walk panel|the form/.test(note), note);
    }

    // ---- split-merge: the address line after the split, the op form's addresses, refused ops ----
    await page.selectOption('#lesson-picker', 'split-merge');
    await page.click('#load-lesson');
    await settle(page, { pos: 'step 0 of 8', op: 0 });
    check('leaving a session closes its event stream', closedStreams.includes(chain.id), JSON.stringify(closedStreams));
    check('and listens to the new one', await page.evaluate(() => document.body.dataset.live) === (await page.evaluate(() => location.hash)).match(/#\/s\/(\d+)/)[1]);
    for (let i = 1; i <= 5; i++) { await page.keyboard.press('ArrowRight'); await settle(page, { pos: `step ${i} of 8`, op: i }); }
    {
      const got = await compare(page, d.base, 'split-merge after the mprotect split');
      const v = got.st.processes[0].vmas;
      const strip = got.s.strips['1'];
      check('split-merge: pid 1\'s address line shows the three pieces with their prot', v.length === 3 && strip.length === 3
        && strip.map((g) => g.range).join() === ['0x7f0000000000–0x7f0000001000', '0x7f0000001000–0x7f0000003000', '0x7f0000003000–0x7f0000004000'].join()
        && strip.map((g) => g.what.split(' ')[1]).join() === 'rw-,r--,rw-', JSON.stringify(strip));
      await page.mouse.move(0, 0);
      await page.evaluate(() => { document.getElementById('center').scrollTop = 0; });
      await page.screenshot({ path: join(shots, 'split-merge-split-1280x800.png') });
      await page.setViewportSize({ width: 1920, height: 1080 });
      await page.screenshot({ path: join(shots, 'split-merge-split-1920x1080.png') });
      await page.setViewportSize({ width: 1280, height: 800 });
    }
    for (let i = 6; i <= 8; i++) { await page.keyboard.press('ArrowRight'); await settle(page, { pos: `step ${i} of 8`, op: i }); }
    {
      const got = await compare(page, d.base, 'split-merge at the end');
      // the address picker offers the pages of the chosen process's VMAs, and follows the pid
      await openForm(page);
      await page.selectOption('#op-kind', 'munmap');
      for (const p of got.st.processes) {
        await page.selectOption('#op-fields select[name=pid]', String(p.pid));
        const offered = await page.evaluate(() => [...document.querySelectorAll('#op-fields select[name=addr] option')].map((o) => o.value));
        const want = p.vmas.flatMap((v) => [...Array(v.pages).keys()].map((k) => '0x' + (BigInt(v.start) + BigInt(k) * 4096n).toString(16)));
        check(`address picker for pid ${p.pid}: its VMAs' pages, and a free field`, JSON.stringify(offered) === JSON.stringify([...want, 'other']),
          JSON.stringify(offered));
      }
      // refused input: the daemon's 422 detail is shown (and expected here only)
      expect422 = true;
      await page.selectOption('#op-fields select[name=pid]', '1');
      await page.fill('#op-fields input[name=len]', '-1');
      await page.click('#op-form button[type=submit]');
      await settle(page);
      let msg = await page.textContent('#op-message');
      check('a refused munmap shows the daemon\'s detail', msg.includes('HTTP 422') && msg.includes("'len' must be an integer")
        && msg.includes("field 'len'"), msg);
      await page.selectOption('#op-fields select[name=addr]', 'other');
      await page.fill('#op-fields input[name=addr_free]', 'zz');
      await page.fill('#op-fields input[name=len]', '4096');
      await page.click('#op-form button[type=submit]');
      await settle(page);
      msg = await page.textContent('#op-message');
      check('a typed address the daemon refuses shows its detail', msg.includes('HTTP 422') && msg.includes("'addr' must be"), msg);
      expect422 = false;
      check('the two refusals were the only 422s', seen422.filter((x) => x.startsWith('http')).length === 2
        && seen422.filter((x) => x.startsWith('Failed')).length <= 2, JSON.stringify(seen422));
      check('refused ops change nothing', (await page.textContent('#version')).includes(' op 8 '));
    }

    // ---- a walk the session no longer has is not shown ----
    {
      await page.selectOption('#lesson-picker', 'fork-cow');
      await page.click('#load-lesson');
      await settle(page, { pos: 'step 0 of 7', op: 0 });
      for (let i = 1; i <= 4; i++) { await page.keyboard.press('ArrowRight'); await settle(page, { pos: `step ${i} of 7`, op: i }); }
      await walkToEnd(page, 1);
      check('stale walk: walk of pfn 1 visits the fork\'s two VMAs', (await page.textContent('#walk-tally')).startsWith('visited 2, mapping 2')
        && !(await walkCleared(page)), await page.textContent('#walk-tally'));
      // an op from the form: exit of pid 2
      await openForm(page);
      await page.selectOption('#op-kind', 'exit');
      await page.selectOption('#op-fields select[name=pid]', '2');
      await page.click('#op-form button[type=submit]');
      await settle(page, { op: 5 });
      check('an op from the form clears the walk', await walkCleared(page)
        && /session changed/.test(await page.textContent('#walk-steps')), await page.textContent('#walk-steps'));
      // timeline back (a rewind) and forward
      await walkToEnd(page, 1);
      check('walk after the exit: one VMA', (await page.textContent('#walk-tally')).startsWith('visited 1, mapping 1'), await page.textContent('#walk-tally'));
      await page.click('#step-back');
      await settle(page, { op: 4 });
      check('timeline back clears the walk', await walkCleared(page));
      await walkToEnd(page, 1);
      await page.click('#step-forward');
      await settle(page, { op: 5 });
      check('timeline forward clears the walk', await walkCleared(page));
      // Back through the lesson too
      await walkToEnd(page, 1);
      await page.click('#lesson-back');
      await settle(page, { pos: 'step 3 of 7', op: 3 });
      check('lesson Back clears the walk', await walkCleared(page));
    }

    // ---- keys act on the lesson and the walk after a click or a choice ----
    {
      const count = async () => (await api(d.base, '/api/v1/sessions')).length;
      const n0 = await count();
      await page.selectOption('#lesson-picker', 'fork-cow');
      await page.click('#load-lesson');
      await page.keyboard.press(' ');
      await settle(page, { pos: 'step 1 of 7', op: 1, hash: '/lesson/fork-cow/step/1$' });
      check('Space after Load lesson steps the new lesson', (await page.textContent('#lesson-pos')) === 'step 1 of 7');
      check('Space after Load lesson does not load it again', (await count()) === n0 + 1, `${await count()} sessions, ${n0} before`);
      for (let i = 2; i <= 4; i++) { await page.keyboard.press('ArrowRight'); await settle(page, { pos: `step ${i} of 7`, op: i }); }
      // a value chosen in the pfn picker: → still moves the lesson
      await page.focus('#walk-pfn');
      await page.selectOption('#walk-pfn', '1');
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowRight');
      await settle(page, { pos: 'step 6 of 7', op: 6 });
      check('→ → after choosing a pfn moves the lesson', (await page.textContent('#lesson-pos')) === 'step 6 of 7');
      await page.focus('#lesson-picker');
      await page.selectOption('#lesson-picker', 'mremap');
      await page.keyboard.press('ArrowLeft');
      await settle(page, { pos: 'step 5 of 7', op: 5 });
      check('← after choosing a lesson (not loaded) moves the lesson', (await page.textContent('#lesson-pos')) === 'step 5 of 7');
      // Walk clicked, then a walk kind chosen: P plays the walk
      await page.selectOption('#walk-pfn', '1');
      await page.selectOption('#walk-kind', 'walk');
      await page.click('#walk-start');
      await settle(page);
      await page.waitForFunction(() => (document.querySelector('#walk-steps li[data-step=start]')?.textContent || '').includes('pfn 1 '));
      await page.focus('#walk-kind');
      await page.selectOption('#walk-kind', 'try_to_unmap');
      await page.keyboard.press('p');
      await page.waitForFunction(() => document.getElementById('walk-tally').textContent.startsWith('visited'), null, { timeout: 15000 }).catch(() => {});
      check('P after choosing a walk kind plays the walk', (await page.textContent('#walk-tally')).startsWith('visited'), await page.textContent('#walk-tally'));
      check('choosing a walk kind applies no op', (await page.textContent('#version')).includes(' op 5 '));
      // a mouse-clicked Back: Space then steps forward, it does not press Back again
      await page.click('#lesson-back');
      await page.keyboard.press(' ');
      await settle(page, { pos: 'step 5 of 7', op: 5 });
      check('Space after clicking Back steps forward, not Back again', (await page.textContent('#lesson-pos')) === 'step 5 of 7');
      await page.selectOption('#walk-kind', 'walk');
    }

    // presses made while a lesson loads apply to it
    await page.selectOption('#lesson-picker', 'fork-cow');
    await page.click('#load-lesson');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await settle(page, { pos: 'step 2 of 7', op: 2, hash: '/lesson/fork-cow/step/2$' });
    check('presses during loading reach step 2', (await page.textContent('#lesson-pos')) === 'step 2 of 7');
    // four quick presses make four steps, none is lost
    await page.selectOption('#lesson-picker', 'fork-cow');
    await page.click('#load-lesson');
    await settle(page, { pos: 'step 0 of 7', op: 0 });
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowRight', { delay: 0 });
    await settle(page, { pos: 'step 4 of 7', op: 4, hash: '/lesson/fork-cow/step/4$' });
    check('four quick presses reach step 4', (await page.textContent('#lesson-pos')) === 'step 4 of 7');
    await compare(page, d.base, 'fork-cow after quick presses');
    // space presses a focused button, types in a focused field, and moves the lesson otherwise
    await page.focus('#large-type');
    await page.keyboard.press(' ');
    await settle(page);
    check('space on a focused button presses it', await page.evaluate(() => document.body.classList.contains('large')));
    check('space on a focused button does not step', (await page.textContent('#lesson-pos')) === 'step 4 of 7');
    await page.keyboard.press(' ');
    await settle(page);
    await openForm(page);
    await page.selectOption('#op-kind', 'file');
    await page.fill('#op-fields input[name=name]', 'a');
    await page.focus('#op-fields input[name=name]');
    await page.keyboard.press('End');
    await page.keyboard.press(' ');
    await page.keyboard.type('b');
    await settle(page);
    check('space in a text field types a space', (await page.inputValue('#op-fields input[name=name]')) === 'a b');
    check('space in a text field does not step', (await page.textContent('#lesson-pos')) === 'step 4 of 7');
    await page.evaluate(() => document.activeElement.blur());
    await page.keyboard.press(' ');
    await settle(page, { pos: 'step 5 of 7', op: 5 });
    check('space on the page steps the lesson', (await page.textContent('#lesson-pos')) === 'step 5 of 7');
    await page.keyboard.press('ArrowLeft');
    await settle(page, { pos: 'step 4 of 7', op: 4 });

    // a reclaim op from the walk panel during a lesson: shown as off the
    // lesson's path, and Next still applies the lesson's own next op
    await page.selectOption('#walk-pfn', '1');
    await page.selectOption('#walk-kind', 'try_to_unmap');
    // the walk comes with the op's answer (the journal keeps no walks)
    const answer = page.waitForResponse((r) => r.request().method() === 'POST' && /\/ops$/.test(r.url()));
    await page.click('#walk-start');
    const reclaim = await (await answer).json();
    await settle(page, { op: 5 });
    check('try_to_unmap during a lesson is flagged', await page.isVisible('#lesson-note'));
    check('try_to_unmap unmapped the page', (await shown(page)).ptes.every((x) => x.startsWith('swap')));
    {
      // the walk of the op's result is animated through its probes too
      const w = reclaim.results[0].walk;
      const n = await page.evaluate(() => document.querySelectorAll('#walk-steps li[data-kind=probe]').length);
      check('try_to_unmap\'s walk: a step per probe', w && w.probes.length > 0 && n === w.probes.length, `${n} vs ${w?.probes.length}`);
    }
    await page.click('#lesson-next');
    await settle(page, { pos: 'step 5 of 7', op: 5 });
    {
      const got = await compare(page, d.base, 'fork-cow step 5 after try_to_unmap');
      check('after try_to_unmap, Next applies the child\'s write', expectations['fork-cow'][5](got));
      const j = await api(d.base, `/api/v1/sessions/${got.id}/ops?from=4&limit=5`);
      check('the journal holds the lesson\'s op 5', j.ops.length === 1 && j.ops[0].op.op === 'access' && j.ops[0].op.pid === 2, JSON.stringify(j.ops.map((e) => e.op)));
      check('back on the lesson\'s path', await page.isHidden('#lesson-note'));
    }
    await page.selectOption('#walk-kind', 'folio_referenced');
    await page.click('#walk-start');
    await settle(page, { op: 6 });
    await page.keyboard.press('ArrowLeft');
    await settle(page, { pos: 'step 4 of 7', op: 4 });
    {
      const got = await compare(page, d.base, 'fork-cow step 4 after folio_referenced and Back');
      check('after folio_referenced, Back shows step 4', expectations['fork-cow'][4](got));
    }
    await page.selectOption('#walk-kind', 'walk');

    // large type: at 1280x800 the graph keeps at least its normal size
    await page.keyboard.press('ArrowRight');
    await settle(page, { pos: 'step 5 of 7', op: 5 });
    // the picture fits its box: what large type must not shrink is its text on screen
    const graphText = () => page.evaluate(() => Math.min(...[...document.querySelectorAll('#graph g.node text')]
      .map((t) => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)));
    const normalText = await graphText();
    await page.keyboard.press('l');
    check('large-type mode', await page.evaluate(() => document.body.classList.contains('large')));
    await page.waitForFunction(() => document.body.dataset.busy === 'false');
    const largeText = await graphText();
    check('large type does not shrink the graph at 1280x800', largeText >= normalText - 0.01, `${largeText} < ${normalText}`);
    {
      // projector readability: the graph's text at >= 14px, the header in two lines
      const r = await page.evaluate(() => {
        // a text's height on screen, and its font size times the SVG's scale
        const svg = document.querySelector('#graph svg');
        const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
        const texts = [...document.querySelectorAll('#graph g.node text')].map((t) => Math.min(t.getBoundingClientRect().height,
          parseFloat(getComputedStyle(t).fontSize) * scale));
        const h = document.querySelector('header');
        const cs = getComputedStyle(h);
        const kids = [...h.children].filter((c) => c.id !== 'violations' && c.getClientRects().length);
        const line = Math.max(...kids.map((c) => c.getBoundingClientRect().height));
        return { text: Math.min(...texts), header: h.getBoundingClientRect().height, line,
          pad: parseFloat(cs.paddingTop) + parseFloat(cs.paddingBottom), gap: parseFloat(cs.rowGap) || 0 };
      });
      check('large type: the graph\'s text is at least 14px', r.text >= 14, JSON.stringify(r));
      check('large type at 1280x800: the header takes at most two lines', r.header <= 2 * r.line + r.gap + r.pad + 1, JSON.stringify(r));
      // a walk in large type: its tree's text grows, the current step wraps, and the
      // current step and the examined tree node are both in the column's view
      await page.selectOption('#walk-pfn', '1');
      await page.click('#walk-start');
      await settle(page);
      await page.waitForFunction(() => (document.querySelector('#walk-steps li[data-step=start]')?.textContent || '').includes('pfn 1 '));
      await page.click('#walk-step');
      const w = await page.evaluate(() => {
        const col = document.getElementById('right').getBoundingClientRect();
        const cur = document.querySelector('#walk-steps li.current');
        const node = document.querySelector('#walk-tree .tree-node.probe');
        const inView = (e) => { const b = e.getBoundingClientRect(); return b.top >= col.top - 1 && b.bottom <= col.bottom + 1; };
        const list = document.getElementById('walk-steps');
        return { tree: document.querySelector('#walk-tree .tree-node text').getBoundingClientRect().height,
          wraps: [...list.querySelectorAll('li:not([hidden])')].every((li) => li.scrollWidth <= li.clientWidth + 1) && list.scrollWidth <= list.clientWidth + 1,
          cur: !!cur && inView(cur), node: !!node && inView(node) };
      });
      check('large type: the walk tree\'s text grows', w.tree >= 13, JSON.stringify(w));
      check('large type: walk steps wrap, none is clipped', w.wraps, JSON.stringify(w));
      check('large type: the current step and the examined tree node are both in view', w.cur && w.node, JSON.stringify(w));
    }
    await page.screenshot({ path: join(shots, 'fork-cow-large-1280x800.png'), fullPage: true });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: join(shots, 'fork-cow-large-1920x1080.png'), fullPage: true });
    await page.keyboard.press('l');
    await page.screenshot({ path: join(shots, 'fork-cow-1920x1080.png'), fullPage: true });
    // text contrast (WCAG AA, 4.5:1) of the checker badge and the header's version
    const contrast = (sel) => page.evaluate((sel) => {
      const rgb = (c) => c.match(/[\d.]+/g).map(Number);
      const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
        .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
      const e = document.querySelector(sel);
      let b = e;
      while (b && rgb(getComputedStyle(b).backgroundColor)[3] === 0) b = b.parentElement;
      const [x, y] = [lum(rgb(getComputedStyle(e).color)), lum(rgb(getComputedStyle(b).backgroundColor))];
      return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
    }, sel);
    for (const sel of ['#check-status', '#version']) {
      const c = await contrast(sel);
      check(`contrast of ${sel} >= 4.5`, c >= 4.5, c.toFixed(2));
    }
    // an operation the daemon refuses shows its detail, and one the kernel refuses its errno
    await openForm(page);
    await page.selectOption('#op-kind', 'access');
    await page.evaluate(() => { document.querySelector('#op-fields select[name=addr]').innerHTML = '<option value="0x10">0x10</option>'; });
    await page.click('#op-form button[type=submit]');
    await settle(page);
    check('kernel refusal shown', /SIGSEGV/.test(await page.textContent('#op-message')), await page.textContent('#op-message'));
    check('no CSP violation while the lessons ran', csp.length === 0, JSON.stringify(csp.slice(0, 5)));
  } finally {
    await browser.close();
    await stopDaemon(d);
  }
  check('no console errors or failed requests', problems.length === 0, problems.slice(0, 5).join('; '));
  console.log(`screenshots in ${shots}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.log('FAIL', e); console.log(`${passed} passed, ${failed + 1} failed`); process.exit(1); });
