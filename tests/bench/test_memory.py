#!/usr/bin/env python3
"""What a frame + PTE costs in the daemon's RSS, measured as run.py's
`memory` benchmark does: 1000 VMAs x 64 pages mapped, then all 64,000
pages written over the API in batches of 1,000 ops; the RSS delta per
written page.  The engine holds about 67 B of them and SQLite's page cache
up to 2 MiB; a daemon that let glibc keep every batch's freed buffers
resident measured 230 B.  The bound is 140 B.  Only in builds without a
sanitizer (their allocators keep freed memory on purpose).

    test_memory.py RMAPD"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402
from daemon import Daemon  # noqa: E402

NVMAS, PAGES, BOUND = 1000, 64, 140


def main():
    limits = ["--max-frames", str(4 * NVMAS * PAGES),
              "--max-ptes", str(8 * NVMAS * PAGES),
              "--max-vmas", str(4 * NVMAS)]
    d = Daemon(sys.argv[1], run.daemon_args(run.FULL, limits))
    try:
        sid = run.map_session(d, NVMAS, PAGES)
        before = d.rss_kib()
        run.write_all(d, sid, NVMAS, PAGES)
        after = d.rss_kib()
        st, body, _ = d.call("GET", "/api/v1/sessions/%s?view=summary" % sid)
    finally:
        d.stop()
    per_page = (after - before) * 1024 / (NVMAS * PAGES)
    print("RSS %d -> %d KiB: %.0f B per frame + PTE (bound %d B)"
          % (before, after, per_page, BOUND))
    ok = st == 200 and b'"frames":%d' % (NVMAS * PAGES) in body
    if not ok:
        print("FAIL: the session does not hold %d frames: %s"
              % (NVMAS * PAGES, body[:300]))
    if per_page > BOUND:
        print("FAIL: %.0f B per frame + PTE > %d B" % (per_page, BOUND))
        ok = False
    print("%d passed, %d failed" % (ok, not ok))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
