#!/usr/bin/env python3
"""rmapd's benchmarks, each figure printed beside the anchor it is measured
against in the same run: A/B interleaved round by round, medians.

    python3 tests/bench/run.py --build build [--build-b OTHER] [--only ...]
    ninja -C build bench                      (the same, this build alone)

--build DIR is the build whose anchors (bare_mhd, sqlite_commit,
kernel_fork, lab_load) are used and whose rmapd and engine are measured;
--build-b DIR is a second build of rmapd (e.g. main's) measured in the same
rounds.  A build without tests/bench (one from before it) gets engine_bench
compiled here against its own engine library.  --smoke runs every benchmark
at tiny sizes in a few seconds (the bench-smoke test).  Benchmarks print;
they pass or fail nothing.  The database directory is --dir (default
$TMPDIR); each figure says which filesystem it was on.  Needs wrk.
"""
import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon import Bare, Daemon  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE = 4096
BASE = 0x10000000
MAP_ANON = ["private", "anonymous", "fixed"]

# sizes: the full run, and the smoke test's
FULL = dict(rounds=3, wrk_s=8, conns=64, fork_vmas=1000, fork_pages=16,
            walk_sizes=[1000, 10000, 100000], walk_procs=10, walks=20000,
            state_procs=50, http_walk_vmas=100000, mem_pages=64,
            rec_sessions=1000, rec_ops=1000, rec_measured=10,
            lab_clients=300, lab_rate=5.0, lab_s=30, lab_rounds=3,
            sqlite_commits=2000)
SMOKE = dict(rounds=1, wrk_s=1, conns=8, fork_vmas=50, fork_pages=4,
             walk_sizes=[100, 1000], walk_procs=2, walks=200,
             state_procs=4, http_walk_vmas=200, mem_pages=4,
             rec_sessions=4, rec_ops=50, rec_measured=2,
             lab_clients=4, lab_rate=5.0, lab_s=1, lab_rounds=1,
             sqlite_commits=20)

TABLE = []		# (measure, anchor, figure) rows for the summary


def say(*a):
    print(*a, flush=True)


def row(measure, anchor, figure):
    TABLE.append((measure, anchor, figure))
    say("  %-44s | %-30s | %s" % (measure, anchor, figure))


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fs_type(path):
    out = subprocess.run(["df", "--output=fstype", path], capture_output=True,
                         text=True)
    return out.stdout.split()[-1] if out.stdout.split() else "?"


def run_json(argv):
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- builds ------------------------------------------------------------------

class Build:
    """One build directory of rmapd: its daemon and its engine benchmark."""

    def __init__(self, path, label, work):
        self.path = os.path.abspath(path)
        self.label = label
        self.rmapd = os.path.join(self.path, "daemon", "rmapd")
        if not os.access(self.rmapd, os.X_OK):
            sys.exit("run.py: no %s (build it first)" % self.rmapd)
        self.engine = os.path.join(self.path, "tests", "bench", "engine_bench")
        if not os.access(self.engine, os.X_OK):
            self.engine = self.compile_engine_bench(work)

    def source_dir(self):
        info = os.path.join(self.path, "meson-info", "meson-info.json")
        with open(info) as f:
            return json.load(f)["directories"]["source"]

    def compile_engine_bench(self, work):
        """A build from before tests/bench: this engine_bench.c against
        that build's engine library and headers."""
        lib = os.path.join(self.path, "engine", "librmapd-engine.a")
        out = os.path.join(work, "engine_bench-" + self.label)
        subprocess.run(["cc", "-O2", "-std=gnu11", "-D_GNU_SOURCE",
                        "-I", os.path.join(self.source_dir(), "engine"),
                        os.path.join(HERE, "engine_bench.c"), lib, "-o", out],
                       check=True)
        return out


def tool(build, name):
    return os.path.join(build.path, "tests", "bench", name)


# --- wrk ---------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def wrk(port, paths, method, body, seconds, conns, server=None):
    """req/s, p99 ms, non-2xx count and the server's CPU µs per request of
    one wrk run spreading over paths round-robin."""
    script = os.path.join(HERE, "wrk_spread.lua")
    # a slow answer is measured, not cut off at wrk's default 2 s
    argv = ["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds, "--latency",
            "--timeout", "30s",
            "-s", script, "http://127.0.0.1:%d" % port, "--", method,
            body or ""] + paths
    cpu0 = server.cpu_s() if server else 0
    out = subprocess.run(argv, capture_output=True, text=True, check=True,
                         timeout=seconds + 60).stdout
    cpu = (server.cpu_s() - cpu0) if server else 0
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    rps = float(m.group(1)) if m else float("nan")
    m = re.search(r"(\d+) requests in", out)
    total = int(m.group(1)) if m else 0
    m = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out)
    p99 = float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    bad = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    bad += sum(int(x) for x in m.groups()) if m else 0
    return dict(rps=rps, p99=p99, bad=bad,
                cpu_us=cpu / total * 1e6 if total else float("nan"))


def wrk_summary(runs):
    return dict(rps=med([r["rps"] for r in runs]),
                p99=med([r["p99"] for r in runs]),
                cpu_us=med([r["cpu_us"] for r in runs]),
                bad=sum(r["bad"] for r in runs))


def fmt_wrk(r, anchor=None):
    s = "%.0f req/s" % r["rps"]
    if anchor:
        s += " (%.3f)" % (r["rps"] / anchor["rps"])
    s += ", p99 %.2f ms, %.0f µs CPU/req" % (r["p99"], r["cpu_us"])
    if r["bad"]:
        s += ", %d errors" % r["bad"]
    return s


def start_bare(build, *mode):
    return Bare(tool(build, "bare_mhd"), mode=mode)


# --- sessions built over the API ---------------------------------------------

def mmap_op(addr, pages, prot="rw-"):
    return {"op": "mmap", "pid": 1, "addr": hex(addr), "len": pages * PAGE,
            "prot": prot, "flags": MAP_ANON}


def write_op(addr, pid=1, write=True):
    return {"op": "access", "pid": pid, "addr": hex(addr), "write": write}


def batches(d, sid, ops, size=1000):
    for i in range(0, len(ops), size):
        d.ops(sid, ops[i:i + size])


def small_session(d):
    """pid 1 with a 16-page anonymous VMA at BASE, its first page written."""
    sid = d.session()
    d.ops(sid, [{"op": "spawn"}, mmap_op(BASE, 16), write_op(BASE)])
    return sid


def map_session(d, nvmas, pages):
    """kernel_fork's process before its writes: nvmas VMAs a page apart."""
    sid = d.session()
    batches(d, sid, [{"op": "spawn"}] + [mmap_op(vma_addr(i, pages), pages)
                                         for i in range(nvmas)])
    return sid


def vma_addr(i, pages):
    return BASE + i * (pages + 1) * PAGE


def write_all(d, sid, nvmas, pages, lo=0, hi=None):
    """Writes pages lo..hi-1 (all by default) of each of map_session's
    VMAs of `pages` pages."""
    hi = pages if hi is None else hi
    batches(d, sid, [write_op(vma_addr(i, pages) + p * PAGE)
                     for i in range(nvmas) for p in range(lo, hi)])


# the daemon's memory per frame + PTE is the slope of its RSS between
# nvmas x pages and nvmas x 4 pages written: SQLite's page cache (up to
# 2 MiB a connection) and the other costs of a session are paid by then
MEM_GROWTH = 4


def memory_args(nvmas, pages):
    """rmapd's flags for rss_per_frame: limits that hold the session, and
    no automatic snapshots (each would write the whole session again, 3 GB
    over the 192 batches, and free its buffer after)."""
    return ["--max-frames", str(2 * MEM_GROWTH * nvmas * pages),
            "--max-ptes", str(4 * MEM_GROWTH * nvmas * pages),
            "--max-vmas", str(4 * nvmas), "--snapshot-every", "0"]


def rss_per_frame(d, nvmas, pages):
    """(bytes per frame + PTE over the first nvmas x pages written, the
    fixed costs included; bytes per frame + PTE from there to MEM_GROWTH
    times as many: the slope)."""
    total = MEM_GROWTH * pages
    sid = map_session(d, nvmas, total)
    rss0 = d.rss_kib()
    write_all(d, sid, nvmas, total, 0, pages)
    rss1 = d.rss_kib()
    write_all(d, sid, nvmas, total, pages, total)
    rss2 = d.rss_kib()
    st, body, _ = d.call("GET", "/api/v1/sessions/%s?view=summary" % sid)
    if st != 200 or b'"frames":%d' % (nvmas * total) not in body:
        raise RuntimeError("the session does not hold %d frames: %s"
                           % (nvmas * total, body[:300]))
    return ((rss1 - rss0) * 1024 / (nvmas * pages),
            (rss2 - rss1) * 1024 / (nvmas * (total - pages)))


def walk_session(d, nvmas, nprocs):
    """engine_bench walk's session over the API: nvmas VMAs in nprocs
    processes on one anon_vma tree; returns (session, a pfn to walk)."""
    sid = d.session()
    pages = nvmas // nprocs
    d.ops(sid, [{"op": "spawn"}, mmap_op(BASE, pages)])
    batches(d, sid, [write_op(BASE + i * PAGE) for i in range(pages)])
    batches(d, sid, [{"op": "mprotect", "pid": 1, "addr": hex(BASE + i * PAGE),
                      "len": PAGE, "prot": "r--"}
                     for i in range(1, pages, 2)])
    for _ in range(nprocs - 1):
        d.ops(sid, [{"op": "fork", "pid": 1}])
    return sid, pages // 2


def state_session(d, nprocs, pages=24):
    """A process of the conventional layout with `pages` written anonymous
    pages, forked until nprocs processes share them."""
    sid = d.session()
    ops = [{"op": "spawn", "layout": "process"}, mmap_op(BASE, pages)]
    ops += [write_op(BASE + i * PAGE) for i in range(pages)]
    ops += [{"op": "fork", "pid": 1} for _ in range(nprocs - 1)]
    batches(d, sid, ops)
    return sid


# --- the benchmarks ----------------------------------------------------------

def sqlite_commits(a, dbdir, commits):
    path = os.path.join(dbdir, "sqlite-anchor.db")
    try:
        return run_json([tool(a, "sqlite_commit"), path, str(commits), "64"])
    finally:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)


def bench_sqlite(cfg, a, dbdir):
    say("== raw SQLite commits (WAL, synchronous=FULL), %s on %s"
        % (dbdir, fs_type(dbdir)))
    runs = [sqlite_commits(a, dbdir, cfg["sqlite_commits"])
            for _ in range(cfg["rounds"])]
    r = {k: med([x[k] for x in runs]) for k in runs[0]}
    row("SQLite: 1 row per commit", "-", "%.0f commits/s, p50 %.0f µs, "
        "p99 %.0f µs" % (r["commits_per_s"], r["p50_us"], r["p99_us"]))
    row("SQLite: 64 rows per commit", "-", "%.0f commits/s = %.0f rows/s"
        % (r["group_commits_per_s"], r["group_rows_per_s"]))
    row("SQLite: 64 rows per commit, each in a session of its own", "-",
        "%.0f commits/s = %.0f rows/s" % (r["spread_commits_per_s"],
                                          64 * r["spread_commits_per_s"]))
    return r


def bench_fork(cfg, a, builds):
    n, p = cfg["fork_vmas"], cfg["fork_pages"]
    say("== fork, %d private anon VMAs x %d written pages" % (n, p))
    kern, eng = [], {b.label: [] for b in builds}
    for _ in range(cfg["rounds"]):
        kern.append(run_json([tool(a, "kernel_fork"), str(n), str(p), "3"]))
        for b in builds:
            eng[b.label].append(run_json([b.engine, "fork", str(n), str(p),
                                          "3"]))
    k = {x: med([r[x] for r in kern]) for x in ("fork_ms", "cow_fault_us")}
    for b in builds:
        e = {x: med([r[x] for r in eng[b.label]]) for x in eng[b.label][0]}
        row("engine fork [%s]" % b.label, "kernel fork %.3f ms" % k["fork_ms"],
            "%.3f ms (%.2fx the kernel's time)"
            % (e["fork_ms"], e["fork_ms"] / k["fork_ms"]))
        row("engine COW write fault [%s]" % b.label,
            "kernel COW fault %.2f µs" % k["cow_fault_us"],
            "%.2f µs (%.2fx)" % (e["cow_fault_us"],
                                 e["cow_fault_us"] / k["cow_fault_us"]))
        row("engine exit of the child [%s]" % b.label, "-",
            "%.3f ms" % e["exit_ms"])
        row("engine heap per frame + PTE [%s]" % b.label, "-",
            "%.0f B (a PTE alone, by fork: %.0f B)"
            % (e["bytes_per_frame_pte"], e["bytes_per_pte"])
            if e["bytes_per_frame_pte"] > 0 else
            "not measured: mallinfo2 counts nothing (a sanitizer's malloc)")
    return k


def max_map_count():
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read())
    except OSError:
        return 65530


def bench_fork_scaling(cfg, a, builds):
    """fork copies every VMA, so its time grows with n; a COW fault finds
    its VMA and PTE in trees, so it should not."""
    say("== fork and COW fault at n VMAs x 1 written page")
    limit = max_map_count() - 100  # the process's other mappings
    for n in cfg["walk_sizes"]:
        kern, eng = [], {b.label: [] for b in builds}
        for _ in range(cfg["rounds"]):
            if n <= limit:
                kern.append(run_json([tool(a, "kernel_fork"), str(n), "1",
                                      "3"]))
            for b in builds:
                eng[b.label].append(run_json([b.engine, "fork", str(n), "1",
                                              "3"]))
        anchor = ("kernel fork %.3f ms, COW %.2f µs"
                  % (med([r["fork_ms"] for r in kern]),
                     med([r["cow_fault_us"] for r in kern]))
                  if kern else "kernel: over vm.max_map_count")
        for b in builds:
            rs = eng[b.label]
            row("engine fork / COW, %d VMAs [%s]" % (n, b.label), anchor,
                "fork %.3f ms, COW %.2f µs"
                % (med([r["fork_ms"] for r in rs]),
                   med([r["cow_fault_us"] for r in rs])))


def bench_walk(cfg, builds):
    say("== engine rmap walk: n VMAs over %d processes on one anon_vma tree "
        "(k = %d map the page)" % (cfg["walk_procs"], cfg["walk_procs"]))
    for n in cfg["walk_sizes"]:
        res = {b.label: [] for b in builds}
        for _ in range(cfg["rounds"]):
            for b in builds:
                res[b.label].append(run_json(
                    [b.engine, "walk", str(n), str(cfg["walk_procs"]),
                     str(cfg["walks"])]))
        for b in builds:
            rs = res[b.label]
            row("engine walk, %d VMAs [%s]" % (n, b.label), "-",
                "%.3f µs/walk (random frames), %.3f µs (one frame), "
                "%.0f visited, %.1f tree nodes probed"
                % (med([r["walk_us"] for r in rs]),
                   med([r["hot_walk_us"] for r in rs]), rs[0]["visited"],
                   rs[0]["probes"]))


def daemon_args(cfg, extra=()):
    return ["--max-conns-per-ip", "0", "--max-sessions", "4000",
            "--max-streams", "4096"] + list(extra)


def bench_memory_and_http_fork(cfg, builds, kern):
    n, p = cfg["fork_vmas"], cfg["mem_pages"]
    say("== daemon over the API: RSS per frame + PTE (%d VMAs x %d pages), "
        "POST fork / exit of %d x %d" % (n, p, n, cfg["fork_pages"]))
    for b in builds:
        d = Daemon(b.rmapd, daemon_args(cfg, memory_args(n, p)))
        try:
            first, slope = rss_per_frame(d, n, p)
            row("daemon RSS per frame + PTE [%s]" % b.label, "-",
                "%.0f B (slope from %d to %d written pages; the first %d: "
                "%.0f B, fixed costs included)"
                % (slope, n * p, MEM_GROWTH * n * p, n * p, first))
        finally:
            d.stop()
        # durable (the default), then --sync off: the answer's own cost
        # without the group commit's fsync that the first one waits for
        for sync in ("full", "off"):
            d = Daemon(b.rmapd, daemon_args(cfg, ["--sync", sync]))
            try:
                http_fork(cfg, b, kern, d, n, sync)
            finally:
                d.stop()


def http_fork(cfg, b, kern, d, n, sync):
    sid = map_session(d, n, cfg["fork_pages"])
    write_all(d, sid, n, cfg["fork_pages"])
    fork_t, exit_t, fork_b, exit_b = [], [], [], []
    # a millisecond each: more rounds than the others cost nothing
    for _ in range(max(11, cfg["rounds"])):
        st, payload, dt = d.ops(sid, [{"op": "fork", "pid": 1}])
        child = json.loads(payload)["results"][0]["child"]
        fork_t.append(dt)
        fork_b.append(len(payload))
        st, payload, dt = d.ops(sid, [{"op": "exit", "pid": child}])
        exit_t.append(dt)
        exit_b.append(len(payload))
    row("POST fork %dx%d, --sync %s [%s]" % (n, cfg["fork_pages"], sync,
                                            b.label),
        "kernel fork %.3f ms" % kern["fork_ms"],
        "%.2f ms, %d B answer" % (med(fork_t) * 1e3, med(fork_b)))
    row("POST exit of that child, --sync %s [%s]" % (sync, b.label), "-",
        "%.2f ms, %d B answer" % (med(exit_t) * 1e3, med(exit_b)))
    # a batch of several ops: undone only if it fails, not copied before
    both_t = []
    for _ in range(max(11, cfg["rounds"])):
        child = json.loads(d.ops(sid, [{"op": "fork", "pid": 1}])[1])[
            "results"][0]["child"]
        st, payload, dt = d.ops(sid, [{"op": "exit", "pid": child},
                                      {"op": "fork", "pid": 1}])
        both_t.append(dt)
        child = json.loads(payload)["results"][1]["child"]
        d.ops(sid, [{"op": "exit", "pid": child}])
    row("POST exit + fork in one batch, --sync %s [%s]" % (sync, b.label),
        "-", "%.2f ms" % (med(both_t) * 1e3))


POST_BODY = json.dumps(write_op(BASE))


def bench_write_path(cfg, a, builds, dirs):
    conns, secs = cfg["conns"], cfg["wrk_s"]
    for where in dirs:
        say("== journaled op POST (an access write), %d connections, DB in "
            "%s (%s)" % (conns, where, fs_type(where)))
        bare = start_bare(a)
        floors = {}
        ring = tempfile.mkdtemp(prefix="bare-ring-", dir=where)
        ds = {}
        try:
            # the same handler, each answer held for another thread to
            # resume (rmapd's hand-off to its group commit, of no cost)
            floors["held"] = start_bare(a, "held")
            # and held until one write and fdatasync of the group's records
            # on this filesystem: the floor of any durable group commit
            floors["durable"] = start_bare(a, "held-sync",
                                           os.path.join(ring, "ring"))
            # and held until the group is committed into SQLite as rmapd's
            # journal (1 or 64 sessions): the floor of rmapd's design
            for key in ("1", "64"):
                floors[key] = start_bare(a, "held-sqlite", os.path.join(
                    ring, "journal-%s.db" % key), key)
            for b in builds:
                dbdir = tempfile.mkdtemp(prefix="rmapd-bench-", dir=where)
                d = Daemon(b.rmapd, daemon_args(cfg), dbdir=dbdir)
                one = ["/api/v1/sessions/%d/ops" % small_session(d)]
                many = ["/api/v1/sessions/%d/ops" % small_session(d)
                        for _ in range(64)]
                ds[b.label] = (d, one, many)
            runs = {"bare": [], "sqlite": [], "spread": []}
            for _ in range(cfg["rounds"]):
                # the disk is shared: its anchor is taken in every round too
                sq = sqlite_commits(a, where, cfg["sqlite_commits"] // 4)
                runs["sqlite"].append(sq["commits_per_s"])
                runs["spread"].append(sq["spread_commits_per_s"])
                runs["bare"].append(wrk(bare.port, ["/ops"], "POST",
                                        POST_BODY, secs, conns, bare))
                for key, x in floors.items():
                    runs.setdefault(key, []).append(
                        wrk(x.port, ["/ops"], "POST", POST_BODY, secs, conns,
                            x))
                for b in builds:
                    d, one, many = ds[b.label]
                    for key, paths in (("1", one), ("64", many)):
                        runs.setdefault((b.label, key), []).append(
                            wrk(d.port, paths, "POST", POST_BODY, secs,
                                conns, d))
            anchor = wrk_summary(runs["bare"])
            hold = wrk_summary(runs["held"])
            floor = wrk_summary(runs["durable"])
            tag = fs_type(where)
            for b in builds:
                for key in ("1", "64"):
                    got = wrk_summary(runs[(b.label, key)])
                    design = wrk_summary(runs[key])
                    row("op POST, %s session%s, %s [%s]"
                        % (key, "s" if key != "1" else "", tag, b.label),
                        "bare MHD POST %.0f req/s, %.0f µs CPU; held "
                        "%.0f req/s (%.3f), %.0f µs CPU; held until a "
                        "write and fdatasync a group %.0f req/s (%.3f); "
                        "held until committed into a SQLite journal of %s "
                        "session%s %.0f req/s (%.3f), %.0f µs CPU; "
                        "SQLite %.0f commits/s of 1 row, %.0f of 64 rows "
                        "in 64 sessions"
                        % (anchor["rps"], anchor["cpu_us"], hold["rps"],
                           hold["rps"] / anchor["rps"], hold["cpu_us"],
                           floor["rps"], floor["rps"] / anchor["rps"],
                           key, "s" if key != "1" else "", design["rps"],
                           design["rps"] / anchor["rps"], design["cpu_us"],
                           med(runs["sqlite"]), med(runs["spread"])),
                        fmt_wrk(got, anchor) + "; %.3f of held, %.3f of "
                        "the durable floor, %.3f of the design's floor"
                        % (got["rps"] / hold["rps"],
                           got["rps"] / floor["rps"],
                           got["rps"] / design["rps"]))
        finally:
            bare.stop()
            for x in floors.values():
                x.stop()
            shutil.rmtree(ring, ignore_errors=True)
            for d, _, _ in ds.values():
                dbdir = d.tmp
                d.stop()
                shutil.rmtree(dbdir, ignore_errors=True)


def read_round(x, label, runs, secs, conns):
    for key, path in x["paths"].items():
        runs.setdefault((label, key), []).append(
            wrk(x["d"].port, [path], "GET", "", secs, conns, x["d"]))


def bench_read_paths(cfg, a, builds):
    conns, secs = cfg["conns"], cfg["wrk_s"]
    nv = cfg["http_walk_vmas"]
    say("== read paths, %d connections" % conns)
    limits = ["--max-vmas", str(2 * nv), "--max-ptes", str(2 * nv),
              "--max-frames", str(nv)]
    bare = start_bare(a)
    ds = {}
    try:
        for b in builds:
            d = Daemon(b.rmapd, daemon_args(cfg, limits))
            sid = small_session(d)
            big = state_session(d, cfg["state_procs"])
            wsid, wpfn = walk_session(d, nv, cfg["walk_procs"])
            st, body, _ = d.call("GET", "/api/v1/sessions/%d" % big)
            st2, wbody, _ = d.call("GET", "/api/v1/sessions/%d/frames/%d/walk"
                                   % (wsid, wpfn))
            if st != 200 or st2 != 200:
                raise RuntimeError("read path setup: %d %d" % (st, st2))
            ds[b.label] = dict(
                d=d, sizes=(len(body), len(wbody)),
                paths={"summary": "/api/v1/sessions/%d?view=summary" % sid,
                       "state": "/api/v1/sessions/%d" % big,
                       "walk": "/api/v1/sessions/%d/frames/%d/walk"
                               % (wsid, wpfn)})
        runs = {"bare": []}
        for _ in range(cfg["rounds"]):
            # one build measured right after the anchor ran 20% more CPU
            # per full-state GET than the other, whichever it was, the
            # same build on both sides included: each build takes both
            # places in every round
            for order in [builds, builds[::-1]][:len(builds)]:
                runs["bare"].append(wrk(bare.port, ["/"], "GET", "", secs,
                                        conns, bare))
                for b in order:
                    read_round(ds[b.label], b.label, runs, secs, conns)
        anchor = wrk_summary(runs["bare"])
        for b in builds:
            x = ds[b.label]
            row("GET ?view=summary [%s]" % b.label,
                "bare MHD GET %.0f req/s" % anchor["rps"],
                fmt_wrk(wrk_summary(runs[(b.label, "summary")]), anchor))
            row("GET full state, %d processes, %d B [%s]"
                % (cfg["state_procs"], x["sizes"][0], b.label), "-",
                fmt_wrk(wrk_summary(runs[(b.label, "state")])))
            row("GET walk, %d VMAs, %d covering, %d B [%s]"
                % (nv, cfg["walk_procs"], x["sizes"][1], b.label), "-",
                fmt_wrk(wrk_summary(runs[(b.label, "walk")])))
    finally:
        bare.stop()
        for x in ds.values():
            x["d"].stop()


def session_ops(seed, n):
    """n operations a student might send: mappings, writes and reads,
    forks with the child writing then exiting, mprotect flips."""
    rnd = random.Random(seed)
    regions = [BASE + i * 32 * PAGE for i in range(8)]
    ops = [{"op": "spawn"}] + [mmap_op(r, 16) for r in regions]
    child = None
    while len(ops) < n:
        x = rnd.random()
        addr = rnd.choice(regions) + rnd.randrange(16) * PAGE
        if x < 0.04 and child is None:
            ops.append({"op": "fork", "pid": 1})
            child = 2 + sum(1 for o in ops if o["op"] == "fork") - 1
        elif x < 0.08 and child is not None:
            ops.append({"op": "exit", "pid": child})
            child = None
        elif x < 0.12:
            ops.append({"op": "mprotect", "pid": 1, "addr": hex(addr),
                        "len": PAGE, "prot": rnd.choice(["r--", "rw-"])})
        else:
            pid = child if child is not None and x < 0.3 else 1
            ops.append(write_op(addr, pid, x < 0.8))
    return ops[:n]


def fill_sessions(d, count, nops, first_seed):
    for i in range(count):
        sid = d.session("rec%d" % (first_seed + i))
        d.ops(sid, session_ops(first_seed + i, nops))


def first_load_ms(d, sid):
    """The first GET loads the session from the database; the second
    finds it in memory: their difference is the load."""
    path = "/api/v1/sessions/%d?view=summary" % sid
    st, _, cold = d.call("GET", path)
    if st != 200:
        raise RuntimeError("GET %s: %d" % (path, st))
    warm = med([d.call("GET", path)[2] for _ in range(3)])
    return (cold - warm) * 1e3


def bench_recovery(cfg, builds, where):
    ns, nops, nm = cfg["rec_sessions"], cfg["rec_ops"], cfg["rec_measured"]
    say("== recovery: %d sessions x %d ops through the daemon, DB in %s (%s)"
        % (ns, nops, where, fs_type(where)))
    for b in builds:
        dbdir = tempfile.mkdtemp(prefix="rmapd-bench-rec-", dir=where)
        try:
            t0 = time.monotonic()
            # the first nm sessions without snapshots: load = replay of all
            d = Daemon(b.rmapd, daemon_args(cfg, ["--snapshot-every", "0"]),
                       dbdir=dbdir)
            fill_sessions(d, nm, nops, 0)
            d.stop()
            d = Daemon(b.rmapd, daemon_args(cfg), dbdir=dbdir)
            fill_sessions(d, ns - nm, nops, nm)
            d.stop()
            fill_s = time.monotonic() - t0
            size = sum(os.path.getsize(os.path.join(dbdir, f))
                       for f in os.listdir(dbdir)
                       if f.startswith("rmapd.sqlite"))
            d = Daemon(b.rmapd, daemon_args(cfg), dbdir=dbdir)
            replay = [first_load_ms(d, sid) for sid in range(1, nm + 1)]
            snap = [first_load_ms(d, sid)
                    for sid in range(ns - nm + 1, ns + 1)]
            d.stop()
            row("DB size, %d sessions x %d ops [%s]" % (ns, nops, b.label),
                "-",
                "%.1f MB (%.0f B per op; written in %.0f s)"
                % (size / 1e6, size / (ns * nops), fill_s))
            row("load a session of %d ops [%s]" % (nops, b.label), "-",
                "%.2f ms replaying all, %.2f ms from the latest snapshot"
                % (med(replay), med(snap)))
        finally:
            shutil.rmtree(dbdir, ignore_errors=True)


def lab_clients(d, nc):
    """A file of lab_load's clients: a small session each (on bare_mhd,
    which answers every path, ids that name nothing)."""
    fd, path = tempfile.mkstemp(prefix="lab-", dir=d.tmp)
    with os.fdopen(fd, "w") as f:
        for i in range(nc):
            sid = small_session(d) if isinstance(d, Daemon) else i + 1
            f.write("%d 0x%x %d\n" % (sid, BASE, 1))
    return path


def lab_summary(runs):
    r = {k: med([x[k] for x in runs]) for k in ("p50_ms", "p99_ms", "max_ms")}
    for k in ("answered", "due", "errors", "events", "stream_errors"):
        r[k] = sum(x[k] for x in runs)
    for k in ("write", "read", "walk"):
        r[k] = dict(n=sum(x[k]["n"] for x in runs),
                    p99_ms=med([x[k]["p99_ms"] for x in runs]))
    return r


def bench_lab(cfg, a, builds):
    nc, rate, secs = cfg["lab_clients"], cfg["lab_rate"], cfg["lab_s"]
    say("== lab: %d clients x %.0f ops/s (40%% writes, 40%% state reads, "
        "20%% walks) + an event stream each, %d s, open loop, %d rounds"
        % (nc, rate, secs, cfg["lab_rounds"]))
    servers = {"bare": start_bare(a)}
    try:
        for b in builds:
            servers[b.label] = Daemon(b.rmapd, daemon_args(cfg))
        files = {k: lab_clients(d, nc) for k, d in servers.items()}
        runs = {k: [] for k in servers}
        for _ in range(cfg["lab_rounds"]):
            for k, d in servers.items():
                runs[k].append(run_json([tool(a, "lab_load"), str(d.port),
                                         files[k], str(rate), str(secs)]))
        bare = lab_summary(runs["bare"])
        for b in builds:
            r = lab_summary(runs[b.label])
            row("lab, %d clients [%s]" % (nc, b.label),
                "bare MHD p50 %.2f ms, p99 %.2f ms"
                % (bare["p50_ms"], bare["p99_ms"]),
                "p50 %.2f ms, p99 %.2f ms, max %.1f ms, %d/%d answered, "
                "%d errors, %d events, %d stream errors"
                % (r["p50_ms"], r["p99_ms"], r["max_ms"], r["answered"],
                   r["due"], r["errors"], r["events"], r["stream_errors"]))
            say("    per kind: " + ", ".join(
                "%s n=%d p99 %.2f ms" % (k, r[k]["n"], r[k]["p99_ms"])
                for k in ("write", "read", "walk")))
    finally:
        for d in servers.values():
            d.stop()


BENCHES = ["sqlite", "fork", "walk", "memory", "write", "read", "recovery",
           "lab"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--build-b")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--only", help="comma-separated: " + ",".join(BENCHES))
    ap.add_argument("--dir", default=tempfile.gettempdir(),
                    help="where the databases go (on disk)")
    ap.add_argument("--tmpfs", default="/dev/shm",
                    help="a tmpfs for the write path's second run")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--lab-seconds", type=int)
    args = ap.parse_args()
    cfg = dict(SMOKE if args.smoke else FULL)
    if args.rounds:
        cfg["rounds"] = args.rounds
    if args.lab_seconds:
        cfg["lab_s"] = args.lab_seconds
    only = args.only.split(",") if args.only else BENCHES
    if shutil.which("wrk") is None and {"write", "read"} & set(only):
        sys.exit("run.py: wrk is needed (apt-get install wrk)")
    os.makedirs(args.dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="rmapd-bench-work-")
    os.environ["RMAPD_BENCH_DIR"] = args.dir
    try:
        a = Build(args.build, "A", work)
        builds = [a] + ([Build(args.build_b, "B", work)] if args.build_b
                        else [])
        for b in builds:
            say("build %s: %s" % (b.label, b.path))
        say("%s, %d CPUs, load %.2f" % (os.uname().release, os.cpu_count(),
                                        os.getloadavg()[0]))
        say("  %-44s | %-30s | %s" % ("measure", "anchor (same run)",
                                      "figure (median)"))
        if fs_type(args.dir) == "tmpfs":
            say("NOTE: --dir %s is a tmpfs: no figure here is of a disk"
                % args.dir)
        ctx = {}
        dirs = [args.dir] + ([args.tmpfs] if os.path.isdir(args.tmpfs) and
                             not args.smoke else [])
        silent = []
        for name in only:
            before = len(TABLE)
            run_one(name, cfg, args, a, builds, dirs, ctx)
            if len(TABLE) == before or any(
                    "nan" in fig for _, _, fig in TABLE[before:]):
                silent.append(name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say("\n| measure | anchor (same run) | figure (median) |\n|---|---|---|")
    for m, an, fig in TABLE:
        say("| %s | %s | %s |" % (m, an, fig))
    if silent:
        # the smoke test's one check: every benchmark printed its figures
        say("run.py: no figure from: " + ", ".join(silent))
        return 1
    return 0


def kernel_anchor(cfg, a, ctx):
    """kernel_fork's figures: from the fork benchmark if it ran."""
    if "kernel" not in ctx:
        ctx["kernel"] = run_json([tool(a, "kernel_fork"),
                                  str(cfg["fork_vmas"]),
                                  str(cfg["fork_pages"]), "3"])
    return ctx["kernel"]


def run_one(name, cfg, args, a, builds, dirs, ctx):
    if name == "sqlite":
        bench_sqlite(cfg, a, args.dir)
    elif name == "fork":
        ctx["kernel"] = bench_fork(cfg, a, builds)
    elif name == "walk":
        bench_fork_scaling(cfg, a, builds)
        bench_walk(cfg, builds)
    elif name == "memory":
        bench_memory_and_http_fork(cfg, builds, kernel_anchor(cfg, a, ctx))
    elif name == "write":
        bench_write_path(cfg, a, builds, dirs)
    elif name == "read":
        bench_read_paths(cfg, a, builds)
    elif name == "recovery":
        bench_recovery(cfg, builds, args.dir)
    elif name == "lab":
        bench_lab(cfg, a, builds)
    else:
        sys.exit("run.py: no benchmark %r (%s)" % (name, ",".join(BENCHES)))


if __name__ == "__main__":
    sys.exit(main())
