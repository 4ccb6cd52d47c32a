#!/usr/bin/env python3
"""What a frame + PTE costs in the daemon's RSS, measured as run.py's
`memory` benchmark does: 1000 VMAs x 256 pages mapped, 64 pages of each
written over the API in batches of 1,000 ops, then the other 192; the cost
is the slope of the RSS between the 64,000 and the 256,000 pages written,
past the fixed costs of a session (SQLite's page cache, up to 2 MiB a
connection).  The engine holds about 53 B of it (a 40-byte folio, 4 bytes
of radix leaf, an 8-byte PTE and its block's share); the bound is issue
9's 64 B.  A 48-byte folio measured 61 B, and a daemon that let glibc keep
every batch's freed buffers resident 230 B over the first 64,000.  Only in
builds without a sanitizer (their allocators keep freed memory on purpose).

    test_memory.py RMAPD"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402
from daemon import Daemon  # noqa: E402

NVMAS, PAGES, BOUND = 1000, 64, 64


def main():
    d = Daemon(sys.argv[1], run.daemon_args(run.FULL,
                                            run.memory_args(NVMAS, PAGES)))
    try:
        first, slope = run.rss_per_frame(d, NVMAS, PAGES)
    except RuntimeError as e:
        print("FAIL: %s" % e)
        print("0 passed, 1 failed")
        return 1
    finally:
        d.stop()
    print("%.1f B per frame + PTE from %d to %d pages written (bound %d B); "
          "the first %d: %.1f B" % (slope, NVMAS * PAGES,
                                    run.MEM_GROWTH * NVMAS * PAGES, BOUND,
                                    NVMAS * PAGES, first))
    ok = slope <= BOUND
    if not ok:
        print("FAIL: %.1f B per frame + PTE > %d B" % (slope, BOUND))
    print("%d passed, %d failed" % (ok, not ok))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
