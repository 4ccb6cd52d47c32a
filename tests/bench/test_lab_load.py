#!/usr/bin/env python3
"""lab_load counts a stall against every request due during it (open
loop), not only against the one each client had in flight: 4 clients at
50 requests/s for 5 s against bare_mhd, stopped (SIGSTOP) from the 1st to
the 3rd second.  About 40% of the requests are due in the stall, so the
p99 is near 2 s; a closed-loop generator would have 4 slow requests in
1,000, a p99 of a few ms.  Every request must still be answered.

    test_lab_load.py BUILD_DIR"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon import Bare  # noqa: E402


def main():
    bench = os.path.join(sys.argv[1], "tests", "bench")
    bare = Bare(os.path.join(bench, "bare_mhd"))
    port = bare.port
    try:
        clients = os.path.join(bare.tmp, "clients")
        with open(clients, "w") as f:
            f.write("".join("%d 0x10000000 1\n" % i for i in range(1, 5)))
        gen = subprocess.Popen([os.path.join(bench, "lab_load"), str(port),
                                clients, "50", "5"], stdout=subprocess.PIPE,
                               text=True)
        time.sleep(1)
        os.kill(bare.proc.pid, signal.SIGSTOP)
        time.sleep(2)
        os.kill(bare.proc.pid, signal.SIGCONT)
        out, _ = gen.communicate(timeout=30)
        r = json.loads(out)
    finally:
        bare.stop()
    print(out.strip())
    failed = []
    if r["errors"] or r["answered"] != r["due"] or r["due"] < 800:
        failed.append("every due request answered, none in error")
    if not 1000 <= r["p99_ms"] <= 3000:
        failed.append("p99 %.1f ms, not the 2 s stall" % r["p99_ms"])
    if r["p50_ms"] > 500:
        failed.append("p50 %.1f ms: the stall is not 40%%" % r["p50_ms"])
    for f in failed:
        print("FAIL:", f)
    print("%d passed, %d failed" % (3 - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
