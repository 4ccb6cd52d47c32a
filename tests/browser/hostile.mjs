// Hostile pages, in headless Chromium: a page on another origin (a second
// server on another port, reached as localhost for a cross-site origin and
// as 127.0.0.1 for a same-site one) tries to rewind a teacher's session
// with a no-cors fetch, a form POST and a JSON fetch, and to frame the
// page.  The journal must be intact after each, and the frame empty.
import http from 'node:http';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon, launch, stopDaemon } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const rmapd = process.argv[2] || process.env.RMAPD || join(here, '../../build/daemon/rmapd');
const webRoot = process.env.WEB_ROOT || resolve(here, '../../web');
let passed = 0, failed = 0;

function check(name, cond, detail = '') {
  if (cond) { passed++; console.log(`ok   ${name}`); } else { failed++; console.log(`FAIL ${name} ${detail}`); }
}

const json = { 'Content-Type': 'application/json' };
const A = '0x7f0000000000';

// The attacker's pages: each reports what happened in document.title.
function attackerPages(target) {
  const rewind = `${target}/api/v1/sessions/1/rewind`;
  const page = (body) => `<!doctype html><html><head><title>…</title></head><body>${body}</body></html>`;
  return {
    '/no-cors': page(`<script>
      fetch(${JSON.stringify(rewind)}, { mode: 'no-cors', method: 'POST', body: '{"to":0}',
        headers: { 'Content-Type': 'text/plain' } })
        .then(() => { document.title = 'sent'; }, (e) => { document.title = 'error ' + e; });
    </script>`),
    '/form': page(`<form id="f" method="POST" enctype="text/plain" action="${rewind}">
      <input name='{"to":0,"x":"' value='"}'></form>
      <script>document.title = 'submitting'; document.getElementById('f').submit();</script>`),
    '/json': page(`<script>
      fetch(${JSON.stringify(rewind)}, { method: 'POST', body: '{"to":0}', headers: { 'Content-Type': 'application/json' } })
        .then((r) => { document.title = 'answered ' + r.status; }, (e) => { document.title = 'refused ' + e.name; });
    </script>`),
    '/frame': page(`<iframe id="victim" src="${target}/" width="800" height="600"></iframe>
      <script>document.getElementById('victim').onload = () => { document.title = 'frame loaded'; };</script>`),
  };
}

function startAttacker(pages) {
  return new Promise((res) => {
    const srv = http.createServer((req, rsp) => {
      const body = pages[req.url];
      rsp.writeHead(body ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
      rsp.end(body || 'no');
    });
    srv.listen(0, '127.0.0.1', () => res(srv));
  });
}

async function journalLength(base) {
  return (await (await fetch(`${base}/api/v1/sessions/1/ops?limit=1000`)).json()).ops.length;
}

async function main() {
  const d = await startDaemon(rmapd, webRoot);
  const attacker = await startAttacker(attackerPages(d.base));
  const aport = attacker.address().port;
  const browser = await launch();
  const sent = [];    // what the browser sent to rmapd
  try {
    const created = await fetch(`${d.base}/api/v1/sessions`, { method: 'POST', headers: json, body: '{"name":"teacher"}' });
    check('the teacher\'s session is created', created.status === 201);
    await fetch(`${d.base}/api/v1/sessions/1/ops`, { method: 'POST', headers: json, body: JSON.stringify({ ops: [
      { op: 'spawn' }, { op: 'mmap', pid: 1, addr: A, len: 8192, prot: 'rw-', flags: ['private', 'anonymous', 'fixed'] },
      { op: 'access', pid: 1, addr: A, write: true }] }) });
    check('the journal holds 3 ops', await journalLength(d.base) === 3);

    const ctx = await browser.newContext();
    ctx.on('request', (r) => { if (r.url().startsWith(d.base)) sent.push(`${r.method()} ${r.url().slice(d.base.length)}`); });
    for (const origin of [`http://localhost:${aport}`, `http://127.0.0.1:${aport}`]) {
      const kind = origin.includes('localhost') ? 'cross-site' : 'same-site';
      const page = await ctx.newPage();
      // the attack of the issue: an opaque no-cors POST with a text/plain body
      // (rmapd's answer, 403, is not even handed to the page: its
      // Cross-Origin-Resource-Policy is same-origin)
      sent.length = 0;
      await page.goto(`${origin}/no-cors`);
      await page.waitForFunction(() => document.title !== '…');
      check(`${kind} no-cors fetch: the browser sent the POST`, sent.includes('POST /api/v1/sessions/1/rewind'), sent.join(', '));
      check(`${kind} no-cors fetch: the page learns nothing`, (await page.title()).startsWith('error TypeError'), await page.title());
      check(`${kind} no-cors fetch: the journal is intact`, await journalLength(d.base) === 3);
      // a form POST (text/plain, so its body can be made to look like JSON)
      const formAnswer = page.waitForResponse((x) => x.url().endsWith('/rewind'));
      await page.goto(`${origin}/form`);
      const f = await formAnswer;
      check(`${kind} form POST: refused 403`, f.status() === 403, String(f.status()));
      check(`${kind} form POST: the journal is intact`, await journalLength(d.base) === 3);
      // a JSON fetch needs a preflight, which no origin passes by default
      await page.goto(`${origin}/json`);
      await page.waitForFunction(() => document.title !== '…');
      check(`${kind} JSON fetch: blocked`, (await page.title()).startsWith('refused TypeError'), await page.title());
      check(`${kind} JSON fetch: the journal is intact`, await journalLength(d.base) === 3);
      // framing: frame-ancestors 'none'
      await page.goto(`${origin}/frame`);
      await page.waitForFunction(() => document.title === 'frame loaded', null, { timeout: 10000 }).catch(() => {});
      const child = page.frames().find((fr) => fr !== page.mainFrame());
      let rendered = false;
      try { rendered = !!child && !!(await child.$('#session-picker')); } catch { rendered = false; }
      check(`${kind} frame: rmapd's page is not rendered in another origin's frame`, !rendered, child ? child.url() : 'no frame');
      await page.close();
    }
    check('the session still has its 3 ops and its frame', await journalLength(d.base) === 3
      && (await (await fetch(`${d.base}/api/v1/sessions/1`)).json()).frames.length === 1);

    // the page itself keeps working under its own CSP, and reports no violation
    const own = await ctx.newPage();
    await own.addInitScript(() => {
      window.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const errors = [];
    own.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    const main = await own.goto(`${d.base}/#/s/1`);
    check('the page is served with frame-ancestors \'none\'', /frame-ancestors 'none'/.test(main.headers()['content-security-policy'] || ''));
    await own.waitForFunction(() => document.body.dataset.busy === 'false' && document.querySelector('#graph svg'), null, { timeout: 30000 });
    await own.selectOption('#op-kind', 'spawn');
    await own.click('#op-form button[type=submit]');
    await own.waitForFunction(() => document.body.dataset.busy === 'false' && document.getElementById('version').textContent.includes(' op 4 '), null, { timeout: 30000 });
    check('the page applies an op from its own origin', await journalLength(d.base) === 4);
    check('no CSP violation on the page', (await own.evaluate(() => window.cspViolations)).length === 0,
      JSON.stringify(await own.evaluate(() => window.cspViolations)));
    check('no console errors on the page', errors.length === 0, errors.join('; '));
  } finally {
    await browser.close();
    attacker.close();
    await stopDaemon(d);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.log('FAIL', e); console.log(`${passed} passed, ${failed + 1} failed`); process.exit(1); });
