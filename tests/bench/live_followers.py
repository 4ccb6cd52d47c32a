#!/usr/bin/env python3
"""N followers of a live lesson (300 by default), as the class page
follows it: each student has a token, an event stream on the live session
and a kept-alive connection for reads.  The instructor moves the lesson to
its next step; each follower's stream brings the step (event "live"), and
the follower then reads the session's whole state at that version.

Measured per follower, from just before the instructor's request is sent:
  stream: its event has arrived (with the new step, checked);
  state:  the state it then asked for has fully arrived (200, the version
          checked) - the figure the 200 ms target is about.
p50/p99/max of each over several steps (every follower on every step).
One client thread drives every socket (non-blocking, one selector), so the
client's own cost is small and in the figures.

usage: tests/bench/live_followers.py build/daemon/rmapd [N] [--steps K]"""
import argparse
import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "api"))
from rmapd_client import Daemon  # noqa: E402

ENV = dict(os.environ, RMAPD_TEST_FAST_KDF="1")


def request(method, path, token, body=None):
    data = json.dumps(body).encode() if body is not None else b""
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n" \
        % (method, path, token)
    if body is not None:
        head += "Content-Type: application/json\r\nContent-Length: %d\r\n" \
            % len(data)
    return head.encode() + b"\r\n" + data


def whole_answer(buf):
    """(status, body) once buf holds one whole Content-Length answer."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    length = next((int(h.split(":", 1)[1]) for h in head
                   if h.lower().startswith("content-length:")), 0)
    if len(buf) < end + 4 + length:
        return None
    return int(head[0].split()[1]), buf[end + 4:end + 4 + length]


class Follower:
    def __init__(self, port, url, token):
        self.url, self.token = url, token
        self.ev = socket.create_connection(("127.0.0.1", port))
        self.rd = socket.create_connection(("127.0.0.1", port))
        for s in (self.ev, self.rd):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def listen(self, since):
        self.ev.setblocking(True)
        self.ev.sendall(request("GET", "%s/events?since=%d" % (self.url,
                                                               since),
                                self.token))
        buf = b""
        while b"retry:" not in buf:      # the stream is open
            buf += self.ev.recv(4096)
        self.ev.setblocking(False)
        self.rd.setblocking(False)
        self.evbuf, self.rdbuf = b"", b""
        self.t_event = self.t_state = None
        self.step = self.version = None

    def on_event(self, now):
        try:
            data = self.ev.recv(4096)
        except BlockingIOError:
            return False
        self.evbuf += data
        i = self.evbuf.find(b"event: live\ndata: ")
        if i < 0 or b"\n\n" not in self.evbuf[i:]:
            if not data:
                raise AssertionError("stream ended: %r" % self.evbuf)
            return False
        line = self.evbuf[i + 18:self.evbuf.index(b"\n", i + 18)]
        e = json.loads(line)
        self.t_event, self.step, self.version = now, e["step"], e["version"]
        self.rd.sendall(request("GET", "%s?version=%d" % (self.url,
                                                          self.version),
                                self.token))
        return True

    def on_read(self, now):
        try:
            self.rdbuf += self.rd.recv(1 << 16)
        except BlockingIOError:
            return False
        got = whole_answer(self.rdbuf)
        if not got:
            return False
        status, body = got
        assert status == 200, (status, body[:200])
        assert json.loads(body)["version"] == self.version
        self.t_state = now
        return True


def cpu_s(pid):
    """user + system CPU seconds of process pid, all its threads"""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def q(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] * 1e3


def one_step(fs, port, prof, sid, step, version):
    for f in fs:
        f.listen(version)
    sel = selectors.DefaultSelector()
    for f in fs:
        sel.register(f.ev, selectors.EVENT_READ, (f, "ev"))
    inst = socket.create_connection(("127.0.0.1", port))
    t0 = time.perf_counter()
    inst.sendall(request("POST", "/api/v1/classes/lab/live", prof,
                         {"session": sid, "step": step}))
    pending = len(fs)
    deadline = t0 + 30
    while pending and time.perf_counter() < deadline:
        for key, _ in sel.select(timeout=1):
            f, kind = key.data
            now = time.perf_counter() - t0
            if kind == "ev" and f.on_event(now):
                sel.unregister(f.ev)
                sel.register(f.rd, selectors.EVENT_READ, (f, "rd"))
            elif kind == "rd" and f.on_read(now):
                sel.unregister(f.rd)
                pending -= 1
    sel.close()
    assert not pending, "%d followers never got the state" % pending
    assert all(f.step == step for f in fs), {f.step for f in fs}
    inst.settimeout(30)
    assert b" 200 " in inst.recv(4096).split(b"\r\n")[0]
    inst.close()
    # the streams ended with the event: each follower opens its next one
    for f in fs:
        f.ev.close()
        f.ev = socket.create_connection(("127.0.0.1", port))
    return [f.t_event for f in fs], [f.t_state for f in fs]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rmapd")
    ap.add_argument("n", nargs="?", type=int, default=300)
    ap.add_argument("--steps", type=int, default=5)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    db = os.path.join(tmp, "f.sqlite")

    def cli(*args):
        return subprocess.run([a.rmapd] + list(args) + ["--db", db], env=ENV,
                              text=True, capture_output=True,
                              check=True).stdout
    cli("user", "add", "prof")
    cli("class", "create", "lab", "--instructor", "prof")
    with open(os.path.join(tmp, "r.csv"), "w") as f:
        for i in range(a.n):
            f.write("s%d,student,S%d\n" % (i, i))
    cli("class", "enrol", "lab", os.path.join(tmp, "r.csv"))
    prof = cli("token", "create", "prof").strip()
    toks = [cli("token", "create", "s%d" % i).strip() for i in range(a.n)]
    d = Daemon(a.rmapd, db=db, args=["--auth", "on", "--max-conns-per-ip",
                                     "0", "--max-connections", "4096",
                                     "--max-streams", "4096"])
    d.start()
    try:
        P = {"Authorization": "Bearer " + prof}
        s = d.request("POST", "/api/v1/sessions", {
            "name": "lecture", "scenario": "fork-cow"}, headers=P)[1]
        d.request("POST", "/api/v1/classes/lab/live",
                  {"session": s["id"], "step": 0}, headers=P)
        fs = [Follower(d.port, s["url"], t) for t in toks]
        ev, st, cpu = [], [], 0.0
        for step in range(1, a.steps + 1):
            c0 = cpu_s(d.proc.pid)
            e, r = one_step(fs, d.port, prof, s["id"], step, s["version"])
            cpu += cpu_s(d.proc.pid) - c0
            ev += e
            st += r
    finally:
        d.cleanup()
    print("%d followers x %d steps: stream event p50 %.0f ms p99 %.0f ms "
          "max %.0f ms; state read p50 %.0f ms p99 %.0f ms max %.0f ms" % (
              a.n, a.steps, q(ev, .5), q(ev, .99), max(ev) * 1e3,
              q(st, .5), q(st, .99), max(st) * 1e3))
    print("rmapd's CPU per step (re-opening %d streams, the step, %d "
          "wake-ups and state reads): %.0f ms, %.0f us per follower" % (
              a.n, a.n, cpu / a.steps * 1e3, cpu / a.steps / a.n * 1e6))


if __name__ == "__main__":
    main()
