#!/usr/bin/env python3
"""Journaled ops/s through nginx with one rmapd node and with three, all on
one throwaway PostgreSQL (fsync on), beside what that PostgreSQL commits
per second by itself (libpq_commit, one row per transaction and GROUP rows
per transaction) in the same run.  Prints figures; asserts nothing.

    tests/bench/cluster_bench.py --build build [--seconds 8] [--sessions 64]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
from cluster import Cluster  # noqa: E402
from pg_commit import wrk  # noqa: E402 - sets RMAPD_TEST_PG_FSYNC=1
from rmapd_client import new_db  # noqa: E402

START = {"ops": [{"op": "spawn"},
                 {"op": "mmap", "pid": 1, "addr": "0x10000000",
                  "len": 65536, "prot": "rw-",
                  "flags": ["private", "anonymous", "fixed"]}]}


def through_nginx(rmapd, nodes, seconds, sessions, conns):
    cl = Cluster(rmapd, nodes=nodes, args=["--snapshot-every", "1000"])
    try:
        cl.start()
        d = cl.nodes[0]
        paths = []
        for i in range(sessions):
            sid = d.json("POST", "/api/v1/sessions", {"name": "b%d" % i},
                         expect=201)["id"]
            d.json("POST", "/api/v1/sessions/%d/ops" % sid, START)
            paths.append("/api/v1/sessions/%d/ops" % sid)
        return wrk(cl.port, paths, seconds, conns)
    finally:
        cl.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--sessions", type=int, default=64)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--group", type=int, default=16)
    a = ap.parse_args()
    rmapd = os.path.join(a.build, "daemon", "rmapd")
    url = new_db(tempfile.mkdtemp(), "postgresql")
    pg = json.loads(subprocess.run(
        [os.path.join(a.build, "tests", "bench", "libpq_commit"), url, "2000",
         str(a.group)], capture_output=True, text=True, check=True).stdout)
    rows = [("PostgreSQL alone, 1 row/commit", pg["commits_per_s"], 0),
            ("PostgreSQL alone, %d rows/commit (rows/s)" % a.group,
             pg["group_rows_per_s"], 0)]
    for nodes in (1, 3):
        rps, errors = through_nginx(rmapd, nodes, a.seconds, a.sessions,
                                    a.connections)
        rows.append(("nginx + %d node%s, %d sessions, %d conns" % (
            nodes, "s" if nodes > 1 else "", a.sessions, a.connections),
            rps, errors))
    print("PostgreSQL one-row commit p99: %.1f ms" % (pg["p99_us"] / 1000))
    print("%-48s %12s %7s" % ("journaled writes", "per s", "non-2xx"))
    for name, rate, errors in rows:
        print("%-48s %12.0f %7d" % (name, rate, errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
