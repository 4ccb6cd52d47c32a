"""PostgreSQL's counterpart of the SQLite file faults (test_storage.py):
the server stopped under a running rmapd, with a client writing all along.
While it is away, writes get 503 storage-unavailable (io-error, with the
reason), /readyz says 503 with the same reason, reads of loaded sessions
go on; once it is back, readiness and writes return by themselves.  No
acknowledged op is lost: after a restart of rmapd every one of them is in
the journal, in order, and the state equals a fresh replay of it.  A
password in the URL never reaches the log.  Needs
PostgreSQL's binaries (initdb, pg_ctl)."""
import os
import subprocess
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
            # the busy one's failed commit left it to be rebuilt from a
            # database that is away: 503 until it is back, never 404
            status, body, _, _, _ = d.request("GET", busy.url)
            assert status == 503 and body["type"] == PROBLEM, (status, body)
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


def cli(db, *argv):
    return subprocess.run([RMAPD] + list(argv) + ["--db", db], check=True,
                          capture_output=True, text=True).stdout.strip()


def auth_on_verified_callers_read_on(grace=None):
    """--auth on, the server stopped: a caller whose token (or login) was
    verified before reads the sessions loaded in memory on, from the
    credential cache (the epochs as last read), for --credential-grace
    seconds; their writes are 503, not 401, and so is GET /me (a user's
    name and classes are in the database).  A token never seen before
    cannot be checked: 503 with Retry-After, not 401.  Past the grace (or
    with --credential-grace 0) no cached credential is taken: 503.  Once
    the server is back everything works as before."""
    pg = rmapd_client.pg_cluster()
    db = rmapd_client.new_db(None, "postgresql")
    for user in ("ann", "bob"):
        cli(db, "user", "add", user)
    tok = {u: {"Authorization": "Bearer " + cli(db, "token", "create", u)}
           for u in ("ann", "bob")}
    # None: a grace long enough for the test (none is the default)
    args = ["--auth", "on", "--credential-grace",
            str(grace) if grace is not None else "300"]
    d = Daemon(RMAPD, db=db, args=args).start()

    def req(user, method, path, body=None):
        st, reply, _, _, hdrs = d.request(method, path, body, headers=tok[user])
        return st, reply, hdrs
    try:
        st, made, _ = req("ann", "POST", "/api/v1/sessions",
                          {"name": "lab", "scenario": "fork-cow"})
        assert st == 201, (st, made)
        url = "/api/v1/sessions/%d" % made["id"]
        st, state, _ = req("ann", "GET", url)
        assert st == 200
        pg.stop()
        try:
            if grace:
                time.sleep(grace + 0.5)
            st, now, hdrs = req("ann", "GET", url)
            if grace == 0 or grace:
                assert st == 503 and now["type"] == PROBLEM, (st, now)
                assert hdrs.get("Retry-After") == "1", hdrs
            else:
                assert st == 200 and now == state, (st, now)
                st, summary, _ = req("ann", "GET", url + "?view=summary")
                assert st == 200 and summary["version"] == state["version"]
                st, body, _ = req("ann", "POST", url + "/ops", {"op": "spawn"})
                assert st == 503 and body["type"] == PROBLEM, (st, body)
                # who ann is lives in the database: 503, not a blank user
                st, body, hdrs = req("ann", "GET", "/api/v1/me")
                assert st == 503 and body["type"] == PROBLEM, (st, body)
                assert hdrs.get("Retry-After") == "1", hdrs
            # never verified: cannot be checked now
            st, body, hdrs = req("bob", "GET", "/api/v1/me")
            assert st == 503 and body["type"] == PROBLEM, (st, body)
            assert hdrs.get("Retry-After") == "1", hdrs
        finally:
            pg._pg_ctl("start")
        ready_again(d, within=BACK_WITHIN)
        deadline = time.time() + BACK_WITHIN
        while req("ann", "POST", url + "/ops", {"op": "spawn"})[0] != 200:
            assert time.time() < deadline, "writes did not come back"
            time.sleep(0.2)
        assert req("bob", "GET", "/api/v1/me")[0] == 200
        assert req("bob", "GET", url)[0] == 404
    finally:
        d.cleanup()


def auth_on_no_grace_no_cached_reads():
    auth_on_verified_callers_read_on(grace=0)


def auth_on_grace_runs_out():
    auth_on_verified_callers_read_on(grace=2)


def url_password_is_never_logged():
    """A password in the URL works (the test cluster trusts loopback, so
    any does) and the log shows it as ***."""
    url = rmapd_client.new_db(None, "postgresql").replace(
        "rmapd@", "rmapd:s3cret-pw@")
    d = Daemon(RMAPD, db=url).start()
    try:
        writes_work(Session(d))
        d.stop()
        log = d.log_text()
        assert "s3cret-pw" not in log, log
        assert "postgresql://rmapd:***@127.0.0.1:" in log, log
    finally:
        d.cleanup()


if __name__ == "__main__":
    res = Results()
    res.run(stopped_server_refuses_writes_and_loses_nothing)
    res.run(restarted_server_is_ridden_out)
    res.run(url_password_is_never_logged)
    res.run(auth_on_verified_callers_read_on)
    res.run(auth_on_no_grace_no_cached_reads)
    res.run(auth_on_grace_runs_out)
    sys.exit(res.summary())
