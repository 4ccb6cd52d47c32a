// The page with --auth on, in headless Chromium against a real rmapd: an
// instructor and two students, each in a browser context of their own, log
// in through the form (users and class made with the CLI before the daemon
// starts); the instructor starts a live lesson and steps it, and both
// students' pages follow step by step (the exact lesson step and version,
// and the same drawing) and the instructor's walk, walk step by walk step,
// to its end; a student takes a copy of the step and gets a
// session of their own at it; neither student sees the other's sessions
// (on the page or through the API); a share link opens with no account,
// read-only; the class page of staff and of a student is screenshotted at
// 1280x800.  Then --auth off: no login, no account bar, as before.
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { startDaemon, launch, settle, stopDaemon } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const rmapd = process.argv[2] || process.env.RMAPD || join(here, '../../build/daemon/rmapd');
const webRoot = process.env.WEB_ROOT || resolve(here, '../../web');
const shots = process.env.SCREENSHOT_DIR || join(here, '../../build/tests/browser/screenshots');
const LESSON = 'fork-cow';
const PW = { prof: 'prof-password-1', ann: 'ann-password-1', bob: 'bob-password-1' };
const DISPLAY = { prof: 'Prof. Gorman', ann: 'Ann Lee', bob: 'Bob Roy' };
let passed = 0, failed = 0;

function check(name, cond, detail = '') {
  if (cond) passed++;
  else { failed++; console.log(`FAIL ${name} ${detail}`); }
}

// the CLI on the database, before the daemon starts, as an operator does
function prepare(dir, db) {
  const env = { ...process.env, RMAPD_TEST_FAST_KDF: '1' };
  for (const u of ['prof', 'ann', 'bob']) {
    execFileSync(rmapd, ['user', 'add', u, '--password-stdin', '--display', DISPLAY[u], '--db', db], { input: `${PW[u]}\n`, env, stdio: ['pipe', 'ignore', 'ignore'] });
  }
  execFileSync(rmapd, ['class', 'create', 'os101', '--instructor', 'prof', '--db', db], { env, stdio: 'ignore' });
  const csv = join(dir, 'roster.csv');
  writeFileSync(csv, 'user,role,display name\nann,student,Ann\nbob,student,Bob\n');
  execFileSync(rmapd, ['class', 'enrol', 'os101', csv, '--db', db], { env, stdio: 'ignore' });
}

async function login(browser, base, name) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => { failed++; console.log(`FAIL ${name}'s page threw: ${e.message}`); });
  await page.goto(base + '/');
  await settle(page);
  check(`${name}: the login form is shown before anything else`, await page.isVisible('#login-form')
    && !(await page.isVisible('main')), await page.evaluate(() => document.body.dataset.auth));
  await page.fill('#login-name', name);
  await page.fill('#login-password', PW[name]);
  await Promise.all([page.waitForEvent('load'), page.click('#login-form button[type=submit]')]);
  await settle(page);
  const cookies = await ctx.cookies();
  const c = cookies.find((x) => x.name === 'rmapd_session');
  check(`${name}: the login cookie is HttpOnly and SameSite=Strict`, c && c.httpOnly && c.sameSite === 'Strict', JSON.stringify(c));
  const who = await page.textContent('#who');
  check(`${name}: the page says who is logged in`, who.startsWith(`Logged in as ${DISPLAY[name]} (${name})`) && who.includes('os101'), who);
  return { ctx, page, name };
}

// the API as the page's own user (its cookie)
const api = (page, method, path, body) => page.evaluate(async ([m, p, b]) => {
  const r = await fetch(p, { method: m, headers: b ? { 'Content-Type': 'application/json' } : {}, body: b ? JSON.stringify(b) : undefined });
  return { status: r.status, body: r.status === 204 ? null : await r.json() };
}, [method, path, body]);

// what is drawn: the picture's objects, the frames, the page tables
const drawing = (page) => page.evaluate(() => JSON.stringify({
  objs: [...document.querySelectorAll('#graph [data-obj]')].map((e) => e.dataset.obj).sort(),
  frames: document.querySelector('#frames tbody').textContent,
  ptes: document.getElementById('pagetables').textContent,
  strips: document.getElementById('strips').textContent,
}));

const versionOf = async (page) => Number((await page.textContent('#version')).match(/ op (\d+)/)[1]);

// the walk shown: the steps listed so far, the current one, the tally, and
// what is lit on the picture and in the interval tree
const walkShown = (page) => page.evaluate(() => JSON.stringify({
  steps: [...document.querySelectorAll('#walk-steps li')].filter((li) => !li.hidden).map((li) => li.textContent),
  current: document.querySelector('#walk-steps li.current')?.textContent ?? null,
  tally: document.getElementById('walk-tally').textContent,
  lit: [...document.querySelectorAll('#graph .walk-start, #graph .walk-hit, #graph .walk-miss, #graph .walk-probe')]
    .map((n) => `${n.dataset.obj} ${[...n.classList].filter((c) => c.startsWith('walk-')).join(' ')}`).sort(),
  tree: [...document.querySelectorAll('#walk-tree .tree-node')].map((n) => `${n.dataset.key} ${n.getAttribute('class')}`),
}));

// both students' pages show the instructor's walk as it is now (none: no walk)
async function followsWalk(students, prof, what) {
  const want = await walkShown(prof.page);
  await Promise.all(students.map((s) => s.page.waitForFunction(([w, sel]) => document.body.dataset.busy === 'false'
    && (document.querySelector(sel)?.textContent ?? null) === w, [JSON.parse(want).current, '#walk-steps li.current'],
  { polling: 50, timeout: 15000 }).catch(() => {})));
  for (const s of students) {
    const got = await walkShown(s.page);
    check(`${s.name} ${what}: the same walk at the same step as the instructor's`, got === want, `${got}\n  vs ${want}`);
    check(`${s.name} ${what}: no walk controls of their own`, !(await s.page.isVisible('#walk-step'))
      && !(await s.page.isVisible('#walk-start')) && !(await s.page.isVisible('#walk-end')));
  }
}

// from the instructor's click (t0) to each student's page showing the step
const lags = [], own = [];

async function followsStep(students, prof, lesson, step, want, t0 = null) {
  const pos = `step ${step} of ${lesson.steps.length}`;
  const shown = await Promise.all(students.map((s) => settle(s.page, { pos, op: want }).then(() => Date.now())));
  if (t0 !== null) lags.push(...shown.map((t) => t - t0));
  const picture = await drawing(prof.page);
  for (const s of students) {
    check(`${s.name} follows to ${pos}`, (await s.page.textContent('#lesson-pos')) === pos);
    check(`${s.name} at step ${step} shows op ${want}`, (await versionOf(s.page)) === want, await s.page.textContent('#version'));
    check(`${s.name} at step ${step}: the same drawing as the instructor's`, (await drawing(s.page)) === picture);
    check(`${s.name} at step ${step}: the same explanation`,
      (await s.page.textContent('#lesson-explain')) === (await prof.page.textContent('#lesson-explain')));
    check(`${s.name} at step ${step}: the same frame chosen to walk`,
      (await s.page.inputValue('#walk-pfn')) === (await prof.page.inputValue('#walk-pfn')));
    check(`${s.name} at step ${step}: read-only (no operation form, no Next)`, !(await s.page.isVisible('#op-box'))
      && !(await s.page.isVisible('#lesson-next')));
    const bar = await s.page.textContent('#follow-text');
    check(`${s.name}'s bar names the step`, bar.includes(pos) && bar.includes(`(op ${want})`), bar);
  }
}

async function authOn(browser) {
  const d = await startDaemon(rmapd, webRoot, { args: ['--auth', 'on'], prepare });
  try {
    const lesson = await (await fetch(`${d.base}/api/v1/scenarios/${LESSON}`, { headers: {} })).json();
    check('the lessons need an account', lesson.status === 401, JSON.stringify(lesson).slice(0, 80));
    const prof = await login(browser, d.base, 'prof');
    const steps = (await api(prof.page, 'GET', `/api/v1/scenarios/${LESSON}`)).body.steps;
    const les = { steps };
    const opsBefore = (n) => steps.slice(0, n).filter((s) => s.op).length;

    // the instructor's first visit loads the first lesson into a session of theirs
    await settle(prof.page, { pos: `step 0 of ${steps.length}` });
    const sid = (await api(prof.page, 'GET', '/api/v1/sessions')).body[0].id;
    await prof.page.click('#account .class-button');
    await settle(prof.page);
    await prof.page.click('#start-live');
    await settle(prof.page);
    const live = (await api(prof.page, 'GET', '/api/v1/classes/os101/live')).body;
    check('Start live makes the session shown the class\'s live lesson at step 0', live.session === sid && live.step === 0,
      JSON.stringify(live));
    check('the class page says it is live', (await prof.page.textContent('#class-live')).startsWith(`Live now: session #${sid}`));

    const ann = await login(browser, d.base, 'ann');
    const bob = await login(browser, d.base, 'bob');
    const students = [ann, bob];
    await followsStep(students, prof, les, 0, 0);

    for (let k = 1; k <= 3; k++) {
      const t0 = Date.now();
      await prof.page.click('#lesson-next');
      await settle(prof.page, { pos: `step ${k} of ${steps.length}`, op: opsBefore(k) });
      own.push(Date.now() - t0);
      await followsStep(students, prof, les, k, opsBefore(k), t0);
    }
    const t0 = Date.now();
    await prof.page.click('#lesson-back');
    await settle(prof.page, { pos: `step 2 of ${steps.length}` });
    own.push(Date.now() - t0);
    await followsStep(students, prof, les, 2, opsBefore(2), t0);
    lags.sort((a, b) => a - b);
    console.log(`     a step reached both students' pages in ${lags.join(', ')} ms from the instructor's click`
      + ` (median ${lags[lags.length >> 1]}, ${lags.length} page updates); the instructor's own page settled in`
      + ` ${own.join(', ')} ms`);
    check('the instructor\'s Back cut nothing: the journal keeps step 3\'s ops',
      (await api(prof.page, 'GET', `/api/v1/sessions/${sid}?view=summary`)).body.version === opsBefore(3));
    check('a follower\'s URL names the class', new URL(bob.page.url()).hash === '#/class/os101', bob.page.url());
    await bob.page.reload();
    await followsStep([bob], prof, les, 2, opsBefore(2));
    check('a student\'s op on the live session is refused',
      (await api(ann.page, 'POST', `/api/v1/sessions/${sid}/ops`, { op: 'spawn' })).status === 403);

    // at step 4 (after the fork) the instructor walks the frame both
    // processes map and steps the walk twice, to its end, then back one:
    // both students play it at that very step; the instructor ends it, and
    // so does theirs
    for (const k of [3, 4]) {
      await prof.page.click('#lesson-next');
      await settle(prof.page, { pos: `step ${k} of ${steps.length}`, op: opsBefore(k) });
    }
    await followsStep(students, prof, les, 4, opsBefore(4));
    const pfn = Number(await prof.page.inputValue('#walk-pfn'));
    const liveWalk = async () => JSON.stringify((await api(bob.page, 'GET', '/api/v1/classes/os101/live')).body.walk);
    await prof.page.click('#walk-start');
    await settle(prof.page);
    check('the instructor walks the frame chosen', (await prof.page.textContent('#walk-steps li.current'))
      .includes(`pfn ${pfn} `) && (await liveWalk()) === JSON.stringify({ pfn, kind: 'rmap_walk', step: 0 }));
    await followsWalk(students, prof, 'at the walk\'s start');
    for (let i = 0; i < 2; i++) {
      await prof.page.click('#walk-step');
      await settle(prof.page);
    }
    check('two walk steps: the instructor\'s walk is at its end, both VMAs visited',
      (await prof.page.textContent('#walk-tally')).startsWith('visited 2, mapping 2'), await prof.page.textContent('#walk-tally'));
    check('... which the live lesson says', (await liveWalk()) === JSON.stringify({ pfn, kind: 'rmap_walk', step: 2 }), await liveWalk());
    await followsWalk(students, prof, 'two walk steps on');
    await prof.page.click('#walk-back');
    await settle(prof.page);
    check('one walk step back', (await prof.page.textContent('#walk-tally')) === 'step 2 of 3'
      && (await liveWalk()) === JSON.stringify({ pfn, kind: 'rmap_walk', step: 1 }), await prof.page.textContent('#walk-tally'));
    await followsWalk(students, prof, 'one walk step back');
    for (const s of students) {
      check(`${s.name}: the walk's second step is shown, its third is not`,
        JSON.parse(await walkShown(s.page)).steps.length === 2 && (await s.page.textContent('#walk-tally')) === 'step 2 of 3');
    }
    await prof.page.click('#walk-end');
    await settle(prof.page);
    check('the instructor ends the walk', (await prof.page.$$('#walk-steps li')).length === 0 && (await liveWalk()) === 'null');
    await Promise.all(students.map((s) => s.page.waitForFunction(() => document.body.dataset.busy === 'false'
      && !document.querySelector('#walk-steps li'), null, { polling: 50, timeout: 15000 }).catch(() => {})));
    await followsWalk(students, prof, 'after the walk ended');
    for (const s of students) check(`${s.name}'s walk ended too`, (await s.page.$$('#walk-steps li')).length === 0);
    for (const k of [3, 2]) {
      await prof.page.click('#lesson-back');
      await settle(prof.page, { pos: `step ${k} of ${steps.length}`, op: opsBefore(k) });
    }
    await followsStep(students, prof, les, 2, opsBefore(2));

    // the class page of a student, while following
    mkdirSync(shots, { recursive: true });
    await ann.page.click('#account .class-button');
    await settle(ann.page);
    check('the student\'s class page names the live lesson', (await ann.page.textContent('#class-live')).startsWith(`Live now: session #${sid}`));
    check('... and offers no roster or live controls', !(await ann.page.$('#roster')) && !(await ann.page.$('#start-live')));
    await ann.page.click('#panel .panel-close');

    // a copy of the step shown
    await ann.page.click('#take-copy');
    await settle(ann.page, { pos: `step 2 of ${steps.length}`, op: opsBefore(2) });
    const annMe = (await api(ann.page, 'GET', '/api/v1/me')).body;
    const copyId = Number(ann.page.url().match(/#\/s\/(\d+)/)?.[1]);
    const copy = (await api(ann.page, 'GET', `/api/v1/sessions/${copyId}?view=summary`)).body;
    const listed = (await api(ann.page, 'GET', '/api/v1/sessions')).body.find((s) => s.id === copyId);
    check('the copy is a new session of the student\'s', copyId !== sid && listed?.owner === annMe.id, JSON.stringify(listed));
    check('... at the step\'s op', copy.version === opsBefore(2), JSON.stringify(copy).slice(0, 80));
    // a lesson's step: the form is there, folded under its heading
    check('... no longer following, and hers to change', (await ann.page.isVisible('#op-box > summary'))
      && (await ann.page.isHidden('#follow-bar')));
    check('... the same state as the lesson\'s step', JSON.stringify((await api(ann.page, 'GET', `/api/v1/sessions/${copyId}`)).body.frames)
      === JSON.stringify((await api(prof.page, 'GET', `/api/v1/sessions/${sid}?version=${opsBefore(2)}`)).body.frames));
    await ann.page.click('#op-box > summary');
    await ann.page.click('#op-form button[type=submit]');
    await settle(ann.page, { op: opsBefore(2) + 1 });
    check('an op on her copy applies', (await versionOf(ann.page)) === opsBefore(2) + 1);
    await followsStep([bob], prof, les, 2, opsBefore(2));

    // bob sees none of ann's sessions: the page and the API
    check('the other student\'s API: her copy is 404', (await api(bob.page, 'GET', `/api/v1/sessions/${copyId}`)).status === 404);
    check('... and not in his list', !(await api(bob.page, 'GET', '/api/v1/sessions')).body.some((s) => s.id === copyId));
    await bob.page.click('#account button[data-panel=sessions]');
    await settle(bob.page);
    const bobRows = await bob.page.$$eval('#panel tr[data-session]', (rs) => rs.map((r) => Number(r.dataset.session)));
    check('his "my sessions" panel lists no session of hers', !bobRows.includes(copyId) && bobRows.includes(sid), JSON.stringify(bobRows));
    check('his own list is empty', (await bob.page.$$('#panel table[data-own=true] tr[data-session]')).length === 0);
    check('his session picker has no option for it', !(await bob.page.$$eval('#session-picker option', (os) => os.map((o) => Number(o.value)))).includes(copyId));
    await ann.page.click('#account button[data-panel=sessions]');
    await settle(ann.page);
    check('her "my sessions" panel lists her copy as hers',
      (await ann.page.$$eval('#panel table[data-own=true] tr[data-session]', (rs) => rs.map((r) => Number(r.dataset.session)))).includes(copyId));
    // New and Delete in "my sessions"
    await ann.page.click('#panel button:text("New session")');
    await settle(ann.page, { op: 0 });
    const made = Number(ann.page.url().match(/#\/s\/(\d+)/)?.[1]);
    check('New session makes an empty session of hers and shows it', made > copyId && (await versionOf(ann.page)) === 0
      && (await api(ann.page, 'GET', '/api/v1/sessions')).body.find((s) => s.id === made)?.owner === annMe.id);
    await ann.page.click('#account button[data-panel=sessions]');
    await settle(ann.page);
    ann.page.once('dialog', (dlg) => dlg.accept());
    await ann.page.click(`#panel tr[data-session="${made}"] button:text("Delete")`);
    await settle(ann.page);
    check('Delete deletes it (asked first) and the list no longer has it',
      (await api(ann.page, 'GET', `/api/v1/sessions/${made}`)).status === 404
      && !(await ann.page.$(`#panel tr[data-session="${made}"]`)));
    await ann.page.click(`#panel tr[data-session="${copyId}"] button:text("Open")`);
    await settle(ann.page, { op: opsBefore(2) + 1 });

    // the instructor's class page: publishing, and the roster with each student's sessions
    await prof.page.click('#account .class-button');   // closes it
    await prof.page.click('#account .class-button');
    await settle(prof.page);
    await prof.page.click('#publish');
    await settle(prof.page);
    check('Publish shows the session to the class', (await api(bob.page, 'GET', '/api/v1/sessions')).body.find((s) => s.id === sid)?.visibility === 'class');
    check('... and says so', (await prof.page.textContent('#publish')) === `#${sid} is published to the class`
      && (await prof.page.isDisabled('#publish')));
    check('... listed among the class\'s published lessons', (await prof.page.textContent('#class-lessons')).includes(`#${sid} `));
    check('... as one of the class\'s lessons in the API', (await api(bob.page, 'GET', '/api/v1/classes/os101')).body.lessons.some((l) => l.session === sid));
    await bob.page.click('#account .class-button');
    await settle(bob.page);
    check('... and on a student\'s class page', (await bob.page.textContent('#class-lessons')).includes(`#${sid} `));
    await bob.page.screenshot({ path: join(shots, 'labs-class-student-1280.png') });
    await bob.page.click('#panel .panel-close');
    const annRow = await prof.page.textContent('#roster tr[data-member=ann]');
    const bobRow = await prof.page.textContent('#roster tr[data-member=bob]');
    check('the roster lists her copy with its version', annRow.includes(`#${copyId} `) && annRow.includes(`op ${opsBefore(2) + 1}`)
      && annRow.includes('1 session'), annRow);
    check('... and none for the other student', bobRow.includes('none') && bobRow.includes('0 sessions'), bobRow);
    const lastOf = (m) => prof.page.textContent(`#roster tr[data-member=${m}] td:nth-child(4)`);
    check('... her last activity is shown, his is none', (await lastOf('ann')) !== '—' && (await lastOf('bob')) === '—',
      `${await lastOf('ann')} / ${await lastOf('bob')}`);
    await prof.page.screenshot({ path: join(shots, 'labs-class-staff-1280.png') });

    // a share link of her copy, pinned to the op shown, opens with no account
    await ann.page.click('#share-button');
    await settle(ann.page);
    await ann.page.click('#share-create');
    await settle(ann.page);
    const link = await ann.page.inputValue('#share-link');
    check('the share link is shown to copy', link.startsWith(`${d.base}/?share=rms_`) && link.endsWith(`#/s/${copyId}`), link);
    check('... and listed, pinned', (await ann.page.textContent('#panel .shares tbody')).includes(`op ${opsBefore(2) + 1}`));
    const anon = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const viewer = await anon.newPage();
    viewer.on('pageerror', (e) => { failed++; console.log(`FAIL the share viewer's page threw: ${e.message}`); });
    await viewer.goto(link);
    await settle(viewer, { op: opsBefore(2) + 1 });
    check('the share link shows the session with no account', (await versionOf(viewer)) === opsBefore(2) + 1
      && (await viewer.isHidden('#login-form')) && (await viewer.textContent('#who')).includes('no account'));
    check('... read-only', !(await viewer.isVisible('#op-box')));
    check('... and the frames of her copy', (await drawing(viewer)).includes((await ann.page.textContent('#frames tbody'))));
    check('without the link, the same session is 401', (await viewer.evaluate(async (id) => (await fetch(`/api/v1/sessions/${id}`)).status, copyId)) === 401);
    // revoked, the link reads nothing
    await ann.page.click('#panel .shares button');
    await settle(ann.page);
    check('Revoke revokes', (await viewer.evaluate(async (u) => (await fetch(u)).status,
      `/api/v1/sessions/${copyId}?share=${new URL(link).searchParams.get('share')}`)) === 401);
    await anon.close();

    // stopping the live lesson: the other student's page says so
    await prof.page.click('#stop-live');
    await settle(prof.page);
    await bob.page.waitForFunction(() => document.getElementById('follow-text')?.textContent.includes('no live lesson'), null, { timeout: 15000 })
      .catch(() => {});
    check('a stopped live lesson is said to its followers', (await bob.page.textContent('#follow-text')).includes('no live lesson'));

    // logging out: the next visit is the login form again
    await bob.page.click('#logout');
    await bob.page.waitForURL(`${d.base}/`);
    await settle(bob.page);
    check('after logout the page asks for a login', await bob.page.isVisible('#login-form'));
    for (const u of [prof, ann, bob]) await u.ctx.close();
  } finally {
    await stopDaemon(d);
  }
}

// --auth off: the single-user page as it always was
async function authOff(browser) {
  const d = await startDaemon(rmapd, webRoot);
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(d.base + '/');
    await settle(page);
    check('open mode: the first lesson loads as before', (await page.textContent('#lesson-pos')).startsWith('step 0 of '));
    check('open mode: no login, no account bar, no panel', (await page.isHidden('#login')) && (await page.isHidden('#account'))
      && (await page.isHidden('#panel')) && (await page.isHidden('#follow-bar')));
    // the first lesson runs: its form folded under its heading, a click away
    check('open mode: the operation form, folded while the lesson runs', await page.isVisible('#op-box > summary') && !(await page.isVisible('#op-form')));
    await page.click('#op-box > summary');
    check('open mode: ... and open at a click', await page.isVisible('#op-form'));
    await page.close();
  } finally {
    await stopDaemon(d);
  }
}

const browser = await launch();
try {
  await authOn(browser);
  await authOff(browser);
} catch (e) {
  failed++;
  console.log(`FAIL ${e.stack}`);
} finally {
  await browser.close();
}
console.log(`labs: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
