"""PostgreSQL's counterpart of the SQLite file faults (test_storage.py):
the server stopped under a running rmapd, with a client writing all along.
While it is away, writes get 503 storage-unavailable (io-error, with the
reason), /readyz says 503 with the same reason, reads of loaded sessions
go on; once it is back, readiness and writes return by themselves.  No
acknowledged op is lost: after a restart of rmapd every one of them is in
the journal, in order, and the state equals a fresh replay of it.  Needs
PostgreSQL's binaries (initdb, pg_ctl)."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
import rmapd_client  # noqa: E402
from rmapd_client import Daemon, Results  # noqa: E402
from test_storage import (PROBLEM, RMAPD, Session, not_ready,  # noqa: E402
                          ready_again, refused, survives_restart, write_op,
                          writes_work)

# a generous bound: CI runs this under sanitizers on a loaded machine
BACK_WITHIN = 30.0


class Writer(threading.Thread):
    """Posts ops to its session until told to stop; keeps every answer."""

    def __init__(self, sess):
        super().__init__(daemon=True)
        self.sess = sess
        self.stop = threading.Event()
        self.answers = []		# (status, reason or None)

    def run(self):
        while not self.stop.is_set():
            status, body, ctype = self.sess.post(
                write_op(len(self.sess.acked) + 1))
            if status != 200:
                assert status == 503, (status, body)
                assert ctype == "application/problem+json", ctype
                assert body["type"] == PROBLEM, body
            self.answers.append((status, None if status == 200 else
                                 body["reason"]))
            time.sleep(0.01)


def reads_go_on(sess, state):
    """A loaded session that no write touched reads as it was."""
    assert sess.version() == len(sess.acked)
    assert sess.state() == state


def stopped_server_refuses_writes_and_loses_nothing():
    """pg_ctl stop (fast: every connection cut) while a client writes,
    then start: 503s meanwhile, nothing acknowledged lost."""
    pg = rmapd_client.pg_cluster()
    d = Daemon(RMAPD, db=rmapd_client.new_db(None, "postgresql")).start()
    try:
        busy, idle = Session(d, "busy"), Session(d, "idle")
        idle_state = idle.state()
        w = Writer(busy)
        w.start()
        time.sleep(1.0)
        pg.stop()
        try:
            time.sleep(1.5)
            body = refused(idle, "io-error")
            assert "PostgreSQL" in body["detail"], body
            assert "PostgreSQL" in not_ready(d, "io-error")["detail"]
            reads_go_on(idle, idle_state)
            status, _, _, _, _ = d.request("POST", "/api/v1/sessions",
                                           body={"name": "x"})
            assert status == 503, status
        finally:
            pg._pg_ctl("start")
        ready_again(d, within=BACK_WITHIN)
        deadline = time.time() + BACK_WITHIN
        while w.answers[-1][0] != 200:
            assert time.time() < deadline, w.answers[-5:]
            time.sleep(0.1)
        w.stop.set()
        w.join()
        codes = [a[0] for a in w.answers]
        assert 200 in codes and 503 in codes, codes
        assert {a[1] for a in w.answers if a[0] == 503} == {"io-error"}
        writes_work(busy)
        writes_work(idle)
        survives_restart(d, [busy, idle])
    finally:
        d.cleanup()


def restarted_server_is_ridden_out():
    """pg_ctl restart between two writes: the connections rmapd holds are
    stale, and the next write and read make them again without a 503."""
    pg = rmapd_client.pg_cluster()
    d = Daemon(RMAPD, db=rmapd_client.new_db(None, "postgresql")).start()
    try:
        sess = Session(d)
        writes_work(sess)
        pg.restart()
        writes_work(sess)
        status, body, _, _, _ = d.request("GET", "/readyz")
        assert status == 200, body
        survives_restart(d, [sess])
    finally:
        d.cleanup()


if __name__ == "__main__":
    res = Results()
    res.run(stopped_server_refuses_writes_and_loses_nothing)
    res.run(restarted_server_is_ridden_out)
    sys.exit(res.summary())
