#!/usr/bin/env python3
"""Journaled ops/s through nginx with one rmapd node and with three, all on
one throwaway PostgreSQL, beside what that PostgreSQL commits per second by
itself (pg_commit, one row per transaction and GROUP rows per transaction)
in the same run.  Prints figures; asserts nothing.

    tests/bench/cluster_bench.py --build build [--seconds 8] [--sessions 64]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
from cluster import Cluster  # noqa: E402
from rmapd_client import new_db  # noqa: E402

OP = {"op": "access", "pid": 1, "addr": "0x7f0000000000", "write": True}
START = {"ops": [{"op": "spawn"},
                 {"op": "mmap", "pid": 1, "addr": "0x7f0000000000",
                  "len": 65536, "prot": "rw-",
                  "flags": ["private", "anonymous", "fixed"]}]}


def wrk(url, seconds, conns, body, paths):
    out = subprocess.run(
        ["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds, "--latency", "-s",
         os.path.join(HERE, "wrk_spread.lua"), url, "--", "POST", body] +
        paths, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, float(p99.group(1)) * scale, int(errors.group(1)) if errors else 0


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
        return wrk("http://127.0.0.1:%d" % cl.port, seconds, conns,
                   json.dumps(OP), paths)
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
        [os.path.join(a.build, "tests", "bench", "pg_commit"), url, "2000",
         str(a.group)], capture_output=True, text=True, check=True).stdout)
    rows = [("PostgreSQL alone, 1 row/commit", pg["commits_per_s"],
             pg["p99_us"] / 1000, 0),
            ("PostgreSQL alone, %d rows/commit (rows/s)" % a.group,
             pg["group_rows_per_s"], None, 0)]
    for nodes in (1, 3):
        rps, p99, errors = through_nginx(rmapd, nodes, a.seconds,
                                         a.sessions, a.connections)
        rows.append(("nginx + %d node%s, %d sessions, %d conns" % (
            nodes, "s" if nodes > 1 else "", a.sessions, a.connections),
            rps, p99, errors))
    print("%-48s %12s %10s %7s" % ("journaled writes", "per s", "p99 ms",
                                   "non-2xx"))
    for name, rate, p99, errors in rows:
        print("%-48s %12.0f %10s %7d" % (name, rate, "-" if p99 is None
                                          else "%.2f" % p99, errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
