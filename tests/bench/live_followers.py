#!/usr/bin/env python3
"""300 followers of a live lesson: each waits on the session's /events with
its own token; the instructor moves to the next step; how long until each
follower has woken, then read /live and the state (p50/p99/max).

usage: tests/bench/live_followers.py build/daemon/rmapd [N]"""
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'api'))
from rmapd_client import Daemon
R = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 300
env = dict(os.environ, RMAPD_TEST_FAST_KDF="1")
tmp = tempfile.mkdtemp(); db = os.path.join(tmp, 'f.sqlite')
def cli(*a, stdin=None):
    return subprocess.run([R] + list(a) + ['--db', db], input=stdin, text=True, capture_output=True, env=env, check=True).stdout
cli('user', 'add', 'prof')
cli('class', 'create', 'lab', '--instructor', 'prof')
with open(os.path.join(tmp, 'r.csv'), 'w') as f:
    for i in range(N): f.write('s%d,student,S%d\n' % (i, i))
cli('class', 'enrol', 'lab', os.path.join(tmp, 'r.csv'))
prof = cli('token', 'create', 'prof').strip()
toks = [cli('token', 'create', 's%d' % i).strip() for i in range(N)]
d = Daemon(R, db=db, args=['--auth', 'on', '--max-conns-per-ip', '0', '--threads', '8']).start()
P = {'Authorization': 'Bearer ' + prof}
s = d.request('POST', '/api/v1/sessions', {'name': 'lecture', 'scenario': 'fork-cow'}, headers=P)[1]
d.request('POST', '/api/v1/classes/lab/live', {'session': s['id'], 'step': 1}, headers=P)
v = s['version']
woke, done = [None] * N, [None] * N
ready = threading.Barrier(N + 1)
t0 = [0.0]
def follower(i):
    h = {'Authorization': 'Bearer ' + toks[i]}
    c = http.client.HTTPConnection('127.0.0.1', d.port, timeout=60)
    c.request('GET', '%s/events?since=%d' % (s['url'], v), headers=h)
    r = c.getresponse(); r.read(12)   # "retry: 1000\n" comes at once
    ready.wait()
    r.read(); woke[i] = time.perf_counter() - t0[0]; c.close()
    live = d.request('GET', '/api/v1/classes/lab/live', headers=h)[1]
    st = d.request('GET', s['url'] + '?view=summary', headers=h)[0]
    assert live['step'] == 2 and st == 200, (live, st)
    done[i] = time.perf_counter() - t0[0]
ts = [threading.Thread(target=follower, args=(i,)) for i in range(N)]
[t.start() for t in ts]
time.sleep(1.0)
t0[0] = time.perf_counter()
ready.wait()
d.request('POST', '/api/v1/classes/lab/live', {'session': s['id'], 'step': 2}, headers=P)
[t.join() for t in ts]
def q(xs, p): xs = sorted(xs); return xs[min(len(xs) - 1, int(p * len(xs)))] * 1e3
print("%d followers: woken p50 %.0f ms p99 %.0f ms max %.0f ms; with /live and the state read: p50 %.0f ms p99 %.0f ms max %.0f ms" % (
    N, q(woke, .5), q(woke, .99), max(woke) * 1e3, q(done, .5), q(done, .99), max(done) * 1e3))
d.cleanup()
