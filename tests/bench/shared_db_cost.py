#!/usr/bin/env python3
"""What a node on a shared database pays per read: GET
/api/v1/sessions/1?view=summary of a fork-cow session with wrk (2 threads,
16 connections) against rmapd --shared-db on one SQLite file, --auth off
and --auth on (the owner's token), for one or two rmapd binaries (A/B),
rounds interleaved, medians of req/s.  A benchmark: it asserts nothing.

usage: tests/bench/shared_db_cost.py RMAPD [RMAPD_B] [--rounds N]
       [--seconds S]"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from auth_cost import daemon, wrk  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rmapd", nargs="+")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4)
    a = ap.parse_args()
    got = {}
    for _ in range(a.rounds):
        for i, exe in enumerate(a.rmapd):
            for auth in (False, True):
                d, path, headers = daemon(exe, auth, ["--shared-db"])
                try:
                    got.setdefault((i, auth), []).append(
                        wrk(d.port, path, headers, a.seconds))
                finally:
                    d.cleanup()
    for (i, auth), v in sorted(got.items()):
        print("%s %s --shared-db, auth %s: GET summary %.0f req/s (median "
              "of %s)" % ("AB"[i], a.rmapd[i], "on " if auth else "off",
                          statistics.median(v),
                          ", ".join("%.0f" % x for x in v)))


if __name__ == "__main__":
    main()
