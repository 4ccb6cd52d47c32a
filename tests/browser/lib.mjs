// lib.mjs - what every browser test file needs: a real rmapd on a free
// loopback port, Debian's headless Chromium, and settle(), the wait for the
// page to finish what it was asked (no fixed sleeps).
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

async function freePort() {
  return new Promise((res) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
  });
}

// RMAPD_TEST_BACKEND=postgresql: the daemons of a test file each get a
// database of their own on one throwaway PostgreSQL (tests/api/pgtmp.py
// --serve), started on first use; it stops when this process exits and
// so closes the helper's stdin.
const PGTMP = fileURLToPath(new URL('../api/pgtmp.py', import.meta.url));
let pgServer = null;

function startPg() {
  const proc = spawn('python3', [PGTMP, '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [], waiting = [];
  createInterface({ input: proc.stdout }).on('line', (l) => (waiting.length ? waiting.shift()(l) : lines.push(l)));
  proc.once('exit', () => { for (const w of waiting.splice(0)) w(null); });
  const next = () => new Promise((r) => (lines.length ? r(lines.shift()) : waiting.push(r)));
  const ready = next().then((l) => { if (l !== 'ready') throw new Error(`pgtmp.py --serve: ${l}`); });
  return { proc, next, ready };
}

async function newDb(dir) {
  if (process.env.RMAPD_TEST_BACKEND !== 'postgresql') return join(dir, 'db.sqlite');
  pgServer ??= startPg();
  await pgServer.ready;
  pgServer.proc.stdin.write('db\n');
  const url = await pgServer.next();
  if (!url?.startsWith('postgresql://')) throw new Error(`pgtmp.py --serve gave no database: ${url}`);
  return url;
}

// prepare(dir, db) runs before the daemon starts (the CLI on its database);
// args are more flags (--auth on)
export async function startDaemon(rmapd, webRoot, { args = [], prepare = null } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'rmapd-browser-'));
  const port = await freePort();
  const db = await newDb(dir);
  if (prepare) await prepare(dir, db);
  const proc = spawn(rmapd, ['--listen', `127.0.0.1:${port}`, '--db', db, '--web-root', webRoot, ...args],
    { stdio: ['ignore', 'ignore', 'ignore'] });
  const base = `http://127.0.0.1:${port}`;
  // 15 s: on PostgreSQL the first start makes the schema, on a loaded machine
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(base + '/healthz')).ok) return { proc, base, dir, db }; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('rmapd did not start');
}

// The daemon told to stop, and its directory removed once it has exited:
// removed before, the files it still writes as it stops (its database's
// checkpoint) make the removal fail with ENOTEMPTY.
export async function stopDaemon(d) {
  if (d.proc.exitCode === null && d.proc.signalCode === null) {
    const gone = new Promise((r) => d.proc.once('exit', r));
    d.proc.kill('SIGTERM');
    await gone;
  }
  rmSync(d.dir, { recursive: true, force: true });
}

export function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

// The page marks itself busy (<body data-busy="true">) from the moment an
// action starts until the DOM shows its result; settle() waits for that to
// clear and then for what the caller expects to be shown: no fixed sleeps.
export async function settle(page, want = {}) {
  await page.waitForFunction((w) => {
    if (document.body.dataset.busy !== 'false') return false;
    if (w.pos !== undefined && document.getElementById('lesson-pos').textContent !== w.pos) return false;
    if (w.op !== undefined && !document.getElementById('version').textContent.includes(` op ${w.op} `)) return false;
    if (w.hash !== undefined && !new RegExp(w.hash).test(location.hash)) return false;
    return true;
  }, want, { polling: 50, timeout: 30000 }).catch(async (e) => {
    const now = await page.evaluate(() => ({ busy: document.body.dataset.busy, pos: document.getElementById('lesson-pos').textContent,
      version: document.getElementById('version').textContent, hash: location.hash,
      message: document.getElementById('op-message').textContent })).catch(() => ({}));
    throw new Error(`settle: wanted ${JSON.stringify(want)}, page shows ${JSON.stringify(now)}: ${e.message}`);
  });
}

// The ops of the 20 processes x 200 VMAs session: pid 1 maps and writes
// ten 2-page VMAs, forks ten children, the next nine each fork the last
// (a chain), every other child writes its first page.
export function stressOps() {
  const ops = [{ op: 'spawn' }];
  for (let i = 0; i < 10; i++) {
    const addr = `0x${(0x7f0000000000 + i * 0x10000).toString(16)}`;
    ops.push({ op: 'mmap', pid: 1, addr, len: 8192, prot: 'rw-', flags: ['private', 'anonymous', 'fixed'] });
    ops.push({ op: 'access', pid: 1, addr, write: true });
  }
  for (let c = 2; c <= 20; c++) ops.push({ op: 'fork', pid: c <= 11 ? 1 : c - 1 });
  for (let c = 2; c <= 20; c += 2) ops.push({ op: 'access', pid: c, addr: '0x7f0000000000', write: true });
  return ops;
}
