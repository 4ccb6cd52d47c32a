#!/usr/bin/env python3
"""Journaled op POSTs on each backend in the same run: rmapd on SQLite (a
file in $TMPDIR) and on a throwaway PostgreSQL (tests/api/pgtmp.py, on
loopback), wrk with 64 connections over 64 sessions, rounds interleaved,
medians; beside each, the rows per group commit the daemon counted.
Prints; passes or fails nothing.  Needs wrk and PostgreSQL's binaries.

    python3 tests/bench/pg_commit.py build/daemon/rmapd [--rounds 3] [--seconds 8]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
os.environ["RMAPD_TEST_PG_FSYNC"] = "1"     # real commits, as SQLite's
import rmapd_client  # noqa: E402
from rmapd_client import Daemon  # noqa: E402

BASE = "0x10000000"
WRITE = '{"op":"access","pid":1,"addr":"%s","write":true}' % BASE
SETUP = [{"op": "spawn"},
         {"op": "mmap", "pid": 1, "addr": BASE, "len": 16 * 4096,
          "prot": "rw-", "flags": ["private", "anonymous", "fixed"]},
         {"op": "access", "pid": 1, "addr": BASE, "write": True}]


def wrk(port, paths, seconds, conns):
    argv = ["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds, "--timeout",
            "30s", "-s", os.path.join(HERE, "wrk_spread.lua"),
            "http://127.0.0.1:%d" % port, "--", "POST", WRITE] + paths
    out = subprocess.run(argv, capture_output=True, text=True, check=True,
                         timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, int(m.group(1)) if m else 0


def metric(d, name):
    text = d.request("GET", "/metrics")[3].decode()
    return float(re.search(r"^%s (\S+)$" % name, text, re.M).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rmapd")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--conns", type=int, default=64)
    a = ap.parse_args()
    args = ["--max-conns-per-ip", "0", "--max-sessions", "4000"]
    ds = {"sqlite": Daemon(a.rmapd, db=rmapd_client.new_db(
              tempfile.mkdtemp(), "sqlite"), args=args).start(),
          "postgresql": Daemon(a.rmapd, db=rmapd_client.new_db(
              None, "postgresql"), args=args).start()}
    try:
        paths = {}
        for k, d in ds.items():
            paths[k] = []
            for i in range(64):
                sid = d.json("POST", "/api/v1/sessions", {"name": "b%d" % i},
                             expect=201)["id"]
                d.json("POST", "/api/v1/sessions/%d/ops" % sid,
                       {"ops": SETUP})
                paths[k].append("/api/v1/sessions/%d/ops" % sid)
        runs = {k: [] for k in ds}
        for _ in range(a.rounds):
            for k, d in ds.items():
                g0 = metric(d, "rmapd_commit_groups_total")
                r0 = metric(d, "rmapd_commit_rows_total")
                rps, bad = wrk(d.port, paths[k], a.seconds, a.conns)
                groups = metric(d, "rmapd_commit_groups_total") - g0
                rows = metric(d, "rmapd_commit_rows_total") - r0
                runs[k].append((rps, bad, rows / groups if groups else 0))
                print("  %-10s %8.0f ops/s  %d non-2xx  %.1f rows/group"
                      % (k, *runs[k][-1]), flush=True)
        print("== journaled op POST, %d connections over 64 sessions, "
              "median of %d rounds of %d s" % (a.conns, a.rounds, a.seconds))
        for k in ds:
            print("  %-10s %8.0f ops/s  %.1f rows/group" % (
                k, statistics.median(r[0] for r in runs[k]),
                statistics.median(r[2] for r in runs[k])))
    finally:
        for d in ds.values():
            d.cleanup()


if __name__ == "__main__":
    main()
