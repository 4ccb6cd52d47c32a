#!/usr/bin/env python3
"""What a node on a shared database pays (rmapd --shared-db on one SQLite
file, for one or two rmapd binaries, A/B, rounds interleaved, medians of
req/s, wrk with 2 threads and 16 connections):

  read   GET /api/v1/sessions/1?view=summary of a fork-cow session,
         --auth off and --auth on (the owner's token)
  write  POST of one op (an access that faults: journaled) spread over 16
         sessions, --sync normal (no fsync per group to drown the rest)

A benchmark: it asserts nothing.

usage: tests/bench/shared_db_cost.py RMAPD [RMAPD_B] [--rounds N]
       [--seconds S]"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from auth_cost import daemon, wrk  # noqa: E402

OP = json.dumps({"op": "access", "pid": 1, "addr": "0x1000", "write": False})


def writes(rmapd, seconds):
    d, _, _ = daemon(rmapd, False, ["--shared-db", "--sync", "normal"])
    try:
        paths = []
        for i in range(16):
            s = d.json("POST", "/api/v1/sessions", {"name": "w%d" % i},
                       expect=201)
            d.json("POST", s["url"] + "/ops", {"op": "spawn"})
            paths.append(s["url"] + "/ops")
        out = subprocess.run(
            ["wrk", "-t2", "-c16", "-d%ds" % seconds, "-s",
             os.path.join(HERE, "wrk_spread.lua"),
             "http://127.0.0.1:%d" % d.port, "--", "POST", OP] + paths,
            capture_output=True, text=True, check=True).stdout
        assert "Non-2xx" not in out, out
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    finally:
        d.cleanup()


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
                    got.setdefault((i, "read, auth %s" % (
                        "on" if auth else "off")), []).append(
                        wrk(d.port, path, headers, a.seconds))
                finally:
                    d.cleanup()
            got.setdefault((i, "write"), []).append(writes(exe, a.seconds))
    for (i, what), v in sorted(got.items()):
        print("%s %s --shared-db, %s: %.0f req/s (median of %s)" % (
            "AB"[i], a.rmapd[i], what, statistics.median(v),
            ", ".join("%.0f" % x for x in v)))


if __name__ == "__main__":
    main()
