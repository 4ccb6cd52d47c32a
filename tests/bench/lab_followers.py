#!/usr/bin/env python3
"""The lab with a live lesson: N students (300) with --auth on, each with a
token and a session of their own, doing RATE requests a second (5: 40%
op POSTs, 40% state reads, 20% walks, open loop) with an event stream on
their session (tests/bench/lab_load.c); then the same with the class
following a live lesson of the instructor's besides, a step every EVERY
seconds, each student reading its state on each step.  Rounds of the two
interleaved, one daemon; medians of the rounds' p50/p99.

usage: tests/bench/lab_followers.py BUILD_DIR [--students N] [--rate R]
       [--seconds S] [--every E] [--rounds K]"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "api"))
from rmapd_client import Daemon  # noqa: E402
from live_followers import cpu_s  # noqa: E402

ENV = dict(os.environ, RMAPD_TEST_FAST_KDF="1")
BASE = 0x10000000


def setup(rmapd, tmp, n):
    db = os.path.join(tmp, "lab.sqlite")

    def cli(*args):
        return subprocess.run([rmapd] + list(args) + ["--db", db], env=ENV,
                              capture_output=True, text=True,
                              check=True).stdout
    cli("user", "add", "prof")
    cli("class", "create", "lab", "--instructor", "prof")
    roster = os.path.join(tmp, "roster.csv")
    with open(roster, "w") as f:
        f.write("".join("s%d,student,S%d\n" % (i, i) for i in range(n)))
    cli("class", "enrol", "lab", roster)
    prof = cli("token", "create", "prof").strip()
    toks = [cli("token", "create", "s%d" % i).strip() for i in range(n)]
    return db, prof, toks


def session(d, token, body, ops):
    h = {"Authorization": "Bearer " + token}
    s = d.request("POST", "/api/v1/sessions", body, headers=h)[1]
    if ops:
        st, r, _, _, _ = d.request("POST", s["url"] + "/ops", {"ops": ops},
                                   headers=h)
        assert st == 200, r
        return s["id"], r
    return s["id"], None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--students", type=int, default=300)
    ap.add_argument("--rate", type=float, default=5.0)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--every", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    rmapd = os.path.join(a.build, "daemon", "rmapd")
    lab_load = os.path.join(a.build, "tests", "bench", "lab_load")
    tmp = tempfile.mkdtemp(prefix="rmapd-labfollow-")
    db, prof, toks = setup(rmapd, tmp, a.students)
    d = Daemon(rmapd, db=db, args=[
        "--auth", "on", "--max-conns-per-ip", "0", "--max-connections",
        "4096", "--max-streams", "4096"])
    d.start()
    try:
        clients = os.path.join(tmp, "clients")
        with open(clients, "w") as f:
            for t in toks:
                sid, r = session(d, t, {"name": "mine"}, [
                    {"op": "spawn"},
                    {"op": "mmap", "pid": 1, "addr": hex(BASE),
                     "len": 16 * 4096, "prot": "rw-",
                     "flags": ["private", "anonymous", "fixed"]},
                    {"op": "access", "pid": 1, "addr": hex(BASE),
                     "write": True}])
                pfn = r["results"][2]["events"][-1]["pfn"]
                f.write("%d 0x%x %d %s\n" % (sid, BASE, pfn, t))
        lesson, _ = session(d, prof, {"name": "lecture",
                                      "scenario": "fork-cow"}, None)
        st = d.request("POST", "/api/v1/classes/lab/live",
                       {"session": lesson, "step": 0},
                       headers={"Authorization": "Bearer " + prof})[0]
        assert st == 200, st
        livef = os.path.join(tmp, "live")
        with open(livef, "w") as f:
            f.write("lab %d %s %g\n" % (lesson, prof, a.every))
        runs = {"alone": [], "followers": []}
        for _ in range(a.rounds):
            for k, extra in (("alone", []), ("followers", [livef])):
                c0 = cpu_s(d.proc.pid)
                out = subprocess.run([lab_load, str(d.port), clients,
                                      str(a.rate), str(a.seconds)] + extra,
                                     capture_output=True, text=True,
                                     check=True).stdout
                r = json.loads(out)
                r["cpu_us"] = (cpu_s(d.proc.pid) - c0) / max(
                    1, r["answered"] + r["streams"]) * 1e6
                runs[k].append(r)
    finally:
        d.cleanup()

    def med(k, f):
        return statistics.median(f(r) for r in runs[k])
    for k in ("alone", "followers"):
        rs = runs[k]
        line = ("%s: %d students x %g req/s, %d s x %d rounds: p50 %.2f ms, "
                "p99 %.2f ms; %d/%d answered, %d errors, %d stream errors; "
                "rmapd %.0f us CPU per request or stream" % (
                    k, a.students, a.rate, a.seconds, a.rounds,
                    med(k, lambda r: r["p50_ms"]),
                    med(k, lambda r: r["p99_ms"]),
                    sum(r["answered"] for r in rs), sum(r["due"] for r in rs),
                    sum(r["errors"] for r in rs),
                    sum(r["stream_errors"] for r in rs),
                    med(k, lambda r: r["cpu_us"])))
        if k == "followers":
            line += ("; live lesson: %d steps, step-to-state p50 %.1f ms, "
                     "p99 %.1f ms, max %.1f ms over %d reads, %d missed" % (
                         sum(r["steps"] for r in rs),
                         med(k, lambda r: r["follow"]["p50_ms"]),
                         med(k, lambda r: r["follow"]["p99_ms"]),
                         max(r["follow"]["max_ms"] for r in rs),
                         sum(r["follow"]["n"] for r in rs),
                         sum(r["follow_missed"] for r in rs)))
        print(line)


if __name__ == "__main__":
    main()
