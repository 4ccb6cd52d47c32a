#!/usr/bin/env python3
"""What --auth on costs a read: GET /api/v1/sessions/1?view=summary of a
fork-cow session with wrk (2 threads, 16 connections), --auth off and
--auth on with the owner's token, for one or two rmapd binaries (A/B),
rounds interleaved, medians of req/s.

usage: tests/bench/auth_cost.py RMAPD [RMAPD_B] [--rounds N] [--seconds S]"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "api"))
from rmapd_client import Daemon  # noqa: E402

ENV = dict(os.environ, RMAPD_TEST_FAST_KDF="1")


def cli(rmapd, db, *args):
    return subprocess.run([rmapd] + list(args) + ["--db", db], env=ENV,
                          capture_output=True, text=True, check=True).stdout


def wrk(port, path, headers, seconds):
    argv = ["wrk", "-t2", "-c16", "-d%ds" % seconds]
    for h in headers:
        argv += ["-H", h]
    out = subprocess.run(argv + ["http://127.0.0.1:%d%s" % (port, path)],
                         capture_output=True, text=True, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    assert not bad, out
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def daemon(rmapd, auth, args=()):
    """A daemon (with args) on a fresh database with one fork-cow session;
    its summary's path and the headers that read it."""
    tmp = tempfile.mkdtemp(prefix="rmapd-authcost-")
    db = os.path.join(tmp, "a.sqlite")
    headers = []
    if auth:
        cli(rmapd, db, "user", "add", "ann")
        headers = ["Authorization: Bearer " +
                   cli(rmapd, db, "token", "create", "ann").strip()]
    d = Daemon(rmapd, db=db, args=["--auth", "on" if auth else "off"] +
               list(args))
    d.start()
    hd = dict(h.split(": ", 1) for h in headers)
    s = d.request("POST", "/api/v1/sessions", {"name": "s",
                                               "scenario": "fork-cow"},
                  headers=hd)[1]
    return d, s["url"] + "?view=summary", headers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rmapd", nargs="+")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    a = ap.parse_args()
    cases = [(b, auth) for b in a.rmapd for auth in (False, True)]
    runs = {c: [] for c in cases}
    started = {c: daemon(c[0], c[1]) for c in cases}
    try:
        for _ in range(a.rounds):
            for c in cases:
                d, path, headers = started[c]
                runs[c].append(wrk(d.port, path, headers, a.seconds))
    finally:
        for d, _, _ in started.values():
            d.cleanup()
    for b in a.rmapd:
        off = statistics.median(runs[(b, False)])
        on = statistics.median(runs[(b, True)])
        print("%s: --auth off %.0f req/s, --auth on + token %.0f req/s "
              "(off/on %.2fx); rounds off %s, on %s" % (
                  b, off, on, off / on,
                  " ".join("%.0f" % r for r in runs[(b, False)]),
                  " ".join("%.0f" % r for r in runs[(b, True)])))


if __name__ == "__main__":
    main()
