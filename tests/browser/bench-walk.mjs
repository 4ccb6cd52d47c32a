// bench-walk.mjs - a benchmark, not a test: the main thread's time per walk
// step in the 20 x 200 session (the click's handler, then style and layout
// forced at once), for two web roots A and B, run interleaved, medians.
// node tests/browser/bench-walk.mjs build/daemon/rmapd WEB_A WEB_B [rounds]
import { startDaemon, launch, settle, stopDaemon, stressOps } from './lib.mjs';
const [rmapd, A, B, rounds = '3'] = process.argv.slice(2);
const post = async (base, path, body) => (await fetch(base + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).json();
async function session(base) {
  const s = await post(base, '/api/v1/sessions', { name: 'stress 20x200' });
  const ops = stressOps();
  await post(base, `/api/v1/sessions/${s.id}/ops`, { ops });
  return s.id;
}
const med = (a) => { const b = [...a].sort((x, y) => x - y); return b[Math.floor(b.length / 2)]; };
const b = await launch();
const out = { A: [], B: [], Amax: [], Bmax: [] };
try {
  for (let r = 0; r < Number(rounds); r++) {
    for (const [name, root] of [['A', A], ['B', B]]) {
      const d = await startDaemon(rmapd, root);
      try {
        const id = await session(d.base);
        const page = await b.newPage({ viewport: { width: 1920, height: 1080 } });
        await page.goto(`${d.base}/#/s/${id}`); await settle(page);
        await page.selectOption('#walk-pfn', '1');
        await page.click('#walk-start'); await settle(page);
        await page.waitForFunction(() => (document.querySelector('#walk-steps li[data-step=start]')?.textContent || '').includes('pfn 1 '));
        await page.waitForTimeout(200);
        const ts = [];
        for (let i = 0; i < 20; i++) {
          ts.push(await page.evaluate(() => { const t0 = performance.now(); document.getElementById('walk-step').click(); void document.body.offsetHeight; return performance.now() - t0; }));
          await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
        }
        out[name].push(med(ts)); out[name + 'max'].push(Math.max(...ts));
        await page.close();
      } finally { await stopDaemon(d); }
    }
  }
} finally { await b.close(); }
console.log(`per walk step (median of 20 steps, per round) A ${out.A.map((x) => x.toFixed(1))} B ${out.B.map((x) => x.toFixed(1))}`);
console.log(`medians over rounds: A ${med(out.A).toFixed(1)} ms, B ${med(out.B).toFixed(1)} ms; longest step per round A ${out.Amax.map((x) => x.toFixed(0))} B ${out.Bmax.map((x) => x.toFixed(0))}`);
