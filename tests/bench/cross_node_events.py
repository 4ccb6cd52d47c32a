"""How soon a stream on node B hears of an op acknowledged through node A
(two nodes on one database, --shared-db): PostgreSQL (LISTEN/NOTIFY wakes
B's streams at A's commit) and a shared SQLite file (no notices: B's
once-a-second poll).  Prints p50 / p90 / max over ROUNDS ops; a benchmark,
asserts nothing.

    python3 tests/bench/cross_node_events.py build/daemon/rmapd [ROUNDS]
"""
import http.client
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
from rmapd_client import Daemon, new_db  # noqa: E402


def one_round(a, b, sid, version):
    got = {}

    def listen():
        c = http.client.HTTPConnection("127.0.0.1", b.port, timeout=30)
        c.request("GET", "/api/v1/sessions/%d/events?since=%d"
                  % (sid, version))
        c.getresponse().read()
        got["at"] = time.time()
    t = threading.Thread(target=listen)
    t.start()
    time.sleep(0.2)     # the stream waits
    sent = time.time()
    a.json("POST", "/api/v1/sessions/%d/ops" % sid, {"op": "spawn"})
    t.join(30)
    return got["at"] - sent


def measure(backend, rmapd, rounds):
    tmp = tempfile.mkdtemp(prefix="rmapd-xnode-")
    db = new_db(tmp, backend)
    nodes = [Daemon(rmapd, db=db, args=["--shared-db"]) for _ in range(2)]
    try:
        a, b = (d.start() for d in nodes)
        sid = a.json("POST", "/api/v1/sessions", {"name": "x"},
                     expect=201)["id"]
        b.json("GET", "/api/v1/sessions/%d?view=summary" % sid)
        took = sorted(one_round(a, b, sid, v) for v in range(rounds))
    finally:
        for d in nodes:
            d.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    return took


def main():
    rmapd = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    for backend, how in (("postgresql", "LISTEN/NOTIFY"),
                         ("sqlite", "poll once a second")):
        t = measure(backend, rmapd, rounds)
        print("%-10s (%s): op through A to B's stream p50 %.1f ms, p90 "
              "%.1f ms, max %.1f ms over %d ops" % (
                  backend, how, 1000 * statistics.median(t),
                  1000 * t[int(0.9 * (len(t) - 1))], 1000 * t[-1], len(t)))


if __name__ == "__main__":
    main()
