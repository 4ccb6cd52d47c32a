#!/usr/bin/env python3
"""The read path and the large answers, A/B: prints figures, passes or
fails nothing (a benchmark, not a test).

    python3 tests/bench/read_path.py OLD_RMAPD NEW_RMAPD [--bare BIN]
        [--rounds 3] [--duration 4] [--only state,summary,walk,fork]

Each daemon runs with its database on /dev/shm (tmpfs: no fsync, so the
journal's cost stays out of the figures) and 8 threads.  wrk (2 threads,
64 connections) measures, the daemons interleaved round by round; each
figure is the median of the rounds, with the daemon's CPU time per
request (utime + stime from /proc over the run) beside it, which the
other programs on a shared machine disturb less than req/s.

- state:   GET the whole state of 50 processes (a parent with 34 written
           pages forks 49 children: about 205 KB);
- summary: GET ?view=summary of it, beside BIN (a bare libmicrohttpd GET
           handler given as --bare BIN, called as `BIN PORT`), if any;
- walk:    GET the rmap walk of a file page that 10 of 100,000 VMAs map;
- fork:    POST a fork of a process with 1000 private anonymous VMAs x 16
           written pages, then the exit of the child: time and answer size.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
from rmapd_client import free_port  # noqa: E402

PAGE = 4096
BASE = 0x10000000


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, argv, port):
        self.port = port
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("%s did not start" % argv[0])

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Rmapd(Server):
    def __init__(self, binary, extra=()):
        self.tmp = tempfile.mkdtemp(prefix="rmapd-read-", dir="/dev/shm")
        port = free_port()
        web = os.path.join(os.path.dirname(__file__), "..", "..", "web")
        super().__init__([binary, "--listen", "127.0.0.1:%d" % port, "--db",
                          os.path.join(self.tmp, "db"), "--web-root", web,
                          "--threads", "8", "--snapshot-every", "0"] +
                         list(extra), port)

    def call(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=900)
        data = json.dumps(body).encode() if body is not None else None
        t0 = time.monotonic()
        conn.request(method, path, body=data, headers={
            "Content-Type": "application/json"} if data else {})
        resp = conn.getresponse()
        payload = resp.read()
        dt = time.monotonic() - t0
        conn.close()
        if resp.status >= 300:
            raise RuntimeError("%s %s: %d %s" % (method, path, resp.status,
                                                 payload[:200]))
        return payload, dt

    def session(self):
        return json.loads(self.call("POST", "/api/v1/sessions",
                                    {"name": "bench"})[0])["id"]

    def ops(self, sid, ops):
        for i in range(0, len(ops), 1000):
            self.call("POST", "/api/v1/sessions/%d/ops" % sid,
                      {"ops": ops[i:i + 1000]})

    def stop(self):
        super().stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def anon(pid, addr, pages):
    return {"op": "mmap", "pid": pid, "addr": addr, "len": pages * PAGE,
            "prot": "rw-", "flags": ["private", "anonymous", "fixed"]}


def write(pid, addr):
    return {"op": "access", "pid": pid, "addr": addr, "write": True}


def fifty_processes(d):
    sid = d.session()
    d.ops(sid, [{"op": "spawn"}, anon(1, BASE, 34)] +
          [write(1, BASE + i * PAGE) for i in range(34)] +
          [{"op": "fork", "pid": 1} for _ in range(49)])
    return sid


def hundred_thousand_vmas(d):
    """10 of the VMAs map file page 0; the others pages 1 to 15."""
    sid = d.session()
    d.ops(sid, [{"op": "spawn"}, {"op": "file", "name": "f", "pages": 16}])
    d.ops(sid, [{"op": "mmap", "pid": 1, "addr": BASE + v * 2 * PAGE,
                 "len": PAGE, "prot": "r--", "flags": ["private", "fixed"],
                 "file": "f",
                 "offset": (0 if v % 10000 == 0 else 1 + v % 15) * PAGE}
                for v in range(100000)])
    d.ops(sid, [{"op": "access", "pid": 1, "addr": BASE, "write": False}])
    state = json.loads(d.call("GET", "/api/v1/sessions/%d" % sid)[0])
    pfn = next(c["pfn"] for c in state["files"][0]["cached"]
               if c["index"] == 0)
    return sid, pfn


def big_process(d):
    sid = d.session()
    d.ops(sid, [{"op": "spawn"}] +
          [anon(1, BASE + v * 17 * PAGE, 16) for v in range(1000)])
    d.ops(sid, [write(1, BASE + v * 17 * PAGE + p * PAGE)
                for v in range(1000) for p in range(16)])
    return sid


def wrk(server, path, duration):
    c0 = cpu_seconds(server.proc.pid)
    out = subprocess.check_output(
        ["wrk", "-t2", "-c64", "-d%ds" % duration,
         "http://127.0.0.1:%d%s" % (server.port, path)]).decode()
    cpu = cpu_seconds(server.proc.pid) - c0
    if "Non-2xx" in out:
        raise RuntimeError("errors from %s" % path)
    n = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), \
        cpu / n * 1e6


def interleaved(targets, rounds, duration):
    """targets: name -> (server, path); name -> (median req/s, CPU us)"""
    runs = {name: [] for name in targets}
    for _ in range(rounds):
        for name, (server, path) in targets.items():
            runs[name].append(wrk(server, path, duration))
    return {name: (statistics.median(r[0] for r in v),
                   statistics.median(r[1] for r in v))
            for name, v in runs.items()}


def show(title, figures, ratios):
    print(title)
    for name, (rps, cpu) in figures.items():
        print("  %-5s %10.0f req/s   %8.1f us CPU/req" % (name, rps, cpu))
    for a, b in ratios:
        print("  %s/%s: %.2f of the req/s, %.2f of the CPU per request" % (
            a, b, figures[a][0] / figures[b][0],
            figures[a][1] / figures[b][1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--bare")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--only", default="state,summary,walk,fork")
    a = ap.parse_args()
    only = a.only.split(",")
    bins = {"old": a.old, "new": a.new}
    if {"state", "summary"} & set(only):
        ds = {k: Rmapd(b) for k, b in bins.items()}
        paths = {k: "/api/v1/sessions/%d" % fifty_processes(d)
                 for k, d in ds.items()}
        size = len(ds["new"].call("GET", paths["new"])[0])
        if "state" in only:
            show("GET full state, 50 processes (%d bytes)" % size,
                 interleaved({k: (ds[k], paths[k]) for k in ds}, a.rounds,
                             a.duration), [("new", "old")])
        if "summary" in only:
            targets = {k: (ds[k], paths[k] + "?view=summary") for k in ds}
            ratios = [("new", "old")]
            if a.bare:
                port = free_port()
                targets["bare"] = (Server([a.bare, str(port)], port), "/")
                ratios += [("new", "bare"), ("old", "bare")]
            show("GET ?view=summary", interleaved(targets, a.rounds,
                                                  a.duration), ratios)
            if a.bare:
                targets["bare"][0].stop()
        for d in ds.values():
            d.stop()
    if "walk" in only:
        extra = ["--max-vmas", "200000", "--max-ptes", "1000000",
                 "--max-batch-cost", "0"]
        ds = {k: Rmapd(b, extra) for k, b in bins.items()}
        targets = {}
        for k, d in ds.items():
            sid, pfn = hundred_thousand_vmas(d)
            targets[k] = (d, "/api/v1/sessions/%d/frames/%d/walk" % (sid, pfn))
        size = len(ds["new"].call("GET", targets["new"][1])[0])
        show("GET rmap walk, 100k VMAs, 10 covering (%d bytes)" % size,
             interleaved(targets, a.rounds, a.duration), [("new", "old")])
        for d in ds.values():
            d.stop()
    if "fork" in only:
        ds = {k: Rmapd(b) for k, b in bins.items()}
        sids = {k: big_process(d) for k, d in ds.items()}
        times = {k: {"fork": [], "exit": []} for k in ds}
        for _ in range(max(a.rounds, 5)):
            for k, d in ds.items():
                path = "/api/v1/sessions/%d/ops" % sids[k]
                body, dt = d.call("POST", path, {"op": "fork", "pid": 1})
                child = json.loads(body)["results"][0]["child"]
                times[k]["fork"].append((dt, len(body)))
                body, dt = d.call("POST", path, {"op": "exit", "pid": child})
                times[k]["exit"].append((dt, len(body)))
        print("POST fork / exit of 1000 VMAs x 16 written pages")
        for k in ds:
            for op in ("fork", "exit"):
                v = times[k][op]
                print("  %-4s %s: median %.1f ms, fastest %.1f ms, answer "
                      "%d bytes" % (k, op, statistics.median(
                          x[0] for x in v) * 1e3, min(x[0] for x in v) * 1e3,
                          v[0][1]))
        for d in ds.values():
            d.stop()


if __name__ == "__main__":
    main()
