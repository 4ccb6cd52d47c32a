#!/usr/bin/env python3
"""Interleaved A/B of the write path alone: several rmapd builds (each
BUILD or BUILD:EXTRA-ARGS), each with its own database in DIR, a small
session per SESSIONS, and ROUNDS rounds of wrk (64 connections, the
access-write op POST of run.py), the builds in a rotating order; prints
each build's median req/s, CPU per request and p99.  For changes smaller
than run.py's three rounds can show on a drifting machine.

    python3 tests/bench/ab_write.py DIR SESSIONS ROUNDS SECONDS BUILD...
"""
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon import Daemon  # noqa: E402
import run  # noqa: E402


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    where, nsess = sys.argv[1], int(sys.argv[2])
    rounds, secs = int(sys.argv[3]), int(sys.argv[4])
    os.makedirs(where, exist_ok=True)
    ds = []
    try:
        for spec in sys.argv[5:]:
            build, _, extra = spec.partition(":")
            dbdir = tempfile.mkdtemp(prefix="rmapd-ab-", dir=where)
            d = Daemon(os.path.join(build, "daemon", "rmapd"),
                       run.daemon_args({}, extra.split()), dbdir=dbdir)
            paths = ["/api/v1/sessions/%d/ops" % run.small_session(d)
                     for _ in range(nsess)]
            ds.append((spec, d, paths, []))
        for r in range(rounds):
            for spec, d, paths, got in ds[r % len(ds):] + ds[:r % len(ds)]:
                got.append(run.wrk(d.port, paths, "POST", run.POST_BODY,
                                   secs, 64, d))
        for spec, d, paths, got in ds:
            print("%-40s %8.0f req/s  %5.1f µs CPU  p99 %6.2f ms  (rounds: %s)"
                  % (spec[-40:], statistics.median(g["rps"] for g in got),
                     statistics.median(g["cpu_us"] for g in got),
                     statistics.median(g["p99"] for g in got),
                     " ".join("%.0f" % g["rps"] for g in got)))
    finally:
        for spec, d, paths, got in ds:
            d.stop()
            shutil.rmtree(d.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
