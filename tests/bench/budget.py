#!/usr/bin/env python3
"""What one request may cost the daemon: prints figures, passes or fails
nothing (a benchmark, not a test).

    python3 tests/bench/budget.py build/daemon/rmapd [more rmapd binaries]

For each binary (e.g. this build and main's, for a before/after table):

1. the batch of issue 8: 100 fork/exit pairs of a process with 4,096
   written pages; its answer size, the database growth it causes (main file
   and WAL), the time of the request, and the daemon's peak RSS (VmHWM of
   /proc/PID/status) after it;
2. the worst batches the default limits allow: a process as large as a
   fork may copy under --max-ptes (half the entry limit), then batches of
   --max-batch ops of the costliest kinds (fork/exit pairs, mprotect flips
   of the whole range, exits of forked children); for each, the request
   time, which is the time the session's lock is held, and the status.

Every daemon runs with its default limits; nothing else is passed."""
import json
import sys

from daemon import Daemon

PAGE = 4096
BASE = 0x10000000


def process_with(d, sid, pages, write=True):
    """pid 1 with `pages` faulted pages in one VMA at BASE."""
    d.ops(sid, [{"op": "spawn"},
                {"op": "mmap", "pid": 1, "addr": hex(BASE), "len": pages * PAGE,
                 "prot": "rw-", "flags": ["private", "anonymous", "fixed"]}])
    for at in range(0, pages, 1000):
        d.ops(sid, [{"op": "access", "pid": 1, "addr": hex(BASE + i * PAGE),
                     "write": write}
                    for i in range(at, min(pages, at + 1000))])


def fork_exit_pairs(first_child, pairs):
    ops = []
    for i in range(pairs):
        ops += [{"op": "fork", "pid": 1}, {"op": "exit", "pid": first_child + i}]
    return ops


def mb(n):
    return "%.2f MB" % (n / 1e6)


def issue_batch(rmapd):
    d = Daemon(rmapd)
    try:
        sid = d.session()
        process_with(d, sid, 4096)
        before = d.db_bytes()
        body = fork_exit_pairs(2, 100)
        cpu = d.cpu_s()
        st, payload, dt = d.ops(sid, body, check=False)
        cpu = d.cpu_s() - cpu
        after = d.db_bytes()
        print("  100 fork/exit pairs, 4,096 written pages (a %d-byte request):"
              % len(json.dumps({"ops": body})))
        print("    status %d, answer %s, database +%s, %.2f s (daemon CPU %.2f s), "
              "peak RSS %.1f MB" % (st, mb(len(payload)), mb(after - before),
                                    dt, cpu, d.hwm_kib() / 1024))
        if st != 200:
            print("    answer: %s" % payload[:200].decode(errors="replace"))
    finally:
        d.stop()


def worst_batches(rmapd):
    """The costliest batches of --max-batch (1000) ops on the largest
    process a fork may copy under the default --max-ptes (65,536): 32,768
    PTEs, 16,000 of them written (under the frame limit of 16,384), the
    rest read faults that map the zero page."""
    d = Daemon(rmapd)
    try:
        sid = d.session()
        process_with(d, sid, 16000, write=True)
        d.ops(sid, [{"op": "mmap", "pid": 1, "addr": hex(BASE + 16000 * PAGE),
                     "len": 16768 * PAGE, "prot": "rw-",
                     "flags": ["private", "anonymous", "fixed"]}])
        for at in range(16000, 32768, 1000):
            d.ops(sid, [{"op": "access", "pid": 1,
                         "addr": hex(BASE + i * PAGE), "write": False}
                        for i in range(at, min(32768, at + 1000))])
        cases = [
            ("500 fork/exit pairs", fork_exit_pairs(2, 500)),
            ("1000 mprotect flips of 32,768 PTEs",
             [{"op": "mprotect", "pid": 1, "addr": hex(BASE),
               "len": 32768 * PAGE, "prot": "r--" if i % 2 == 0 else "rw-"}
              for i in range(1000)]),
            ("1 fork + 999 mprotect flips of the child",
             [{"op": "fork", "pid": 1}] +
             [{"op": "mprotect", "pid": 2, "addr": hex(BASE),
               "len": 32768 * PAGE, "prot": "r--" if i % 2 == 0 else "rw-"}
              for i in range(999)]),
        ]
        worst = worst_cpu = 0.0
        for name, body in cases:
            hwm0 = d.hwm_kib()
            cpu = d.cpu_s()
            st, payload, dt = d.ops(sid, body, check=False)
            cpu = d.cpu_s() - cpu
            worst = max(worst, dt)
            worst_cpu = max(worst_cpu, cpu)
            detail = ""
            if st != 200:
                try:
                    detail = json.loads(payload).get("detail", "")[:60]
                except ValueError:
                    pass
            print("    %-40s status %d, %.2f s (CPU %.2f s), answer %s, "
                  "peak RSS %.0f->%.0f MB %s"
                  % (name, st, dt, cpu, mb(len(payload)), hwm0 / 1024,
                     d.hwm_kib() / 1024, detail))
            # undo a batch that went through, so the next starts alike
            if st == 200:
                d.call("POST", "/api/v1/sessions/%d/rewind" % sid,
                       {"to": json.loads(payload)["version"] - len(body)})
        print("    worst request (the session's lock held): %.2f s, daemon "
              "CPU %.2f s" % (worst, worst_cpu))
    finally:
        d.stop()


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    for rmapd in sys.argv[1:]:
        print("%s" % rmapd)
        issue_batch(rmapd)
        print("  worst batches under the default limits:")
        worst_batches(rmapd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
