// daemon.mjs - a real rmapd on a free loopback port with a fresh database,
// for the browser tests.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

export async function freePort() {
  return new Promise((res) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
  });
}

export async function startDaemon(rmapd, webRoot) {
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
