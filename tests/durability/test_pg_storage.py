"""PostgreSQL's analogs of the SQLite file's faults (test_storage.py) under
a running rmapd: the server made read-only, the role's write privileges
revoked, the journal table renamed away, the database renamed away, and
another client holding a lock that writes need.  In each case a write gets
503 storage-unavailable with the reason and changes nothing, /readyz says
503 with the same reason, reads of loaded sessions go on, and writes and
readiness come back by themselves once the fault is gone; after a restart
every acknowledged op is in the journal and the state is its replay.
(The server stopped outright is test_pg_outage.py.)  Not here, being about
the file itself: its unlinking and rescue, chattr, chmod, a full disk."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
import rmapd_client  # noqa: E402
from rmapd_client import Daemon, Results  # noqa: E402
from test_storage import (RMAPD, Session, not_ready, ready_again,  # noqa: E402
                          refused, survives_restart, writes_work,
                          busy_database_stalls_no_read_and_bounds_writes)

# the probe runs at most once a second; CI runs this under sanitizers
BACK_WITHIN = 30.0


def pg():
    return rmapd_client.pg_cluster()


def resumes(d, *sessions):
    """Readiness and writes back by themselves; nothing acknowledged lost."""
    ready_again(d, within=BACK_WITHIN)
    for sess in sessions:
        writes_work(sess)
    survives_restart(d, list(sessions))


def dbname(url):
    return url.rsplit("/", 1)[1]


def server_made_read_only_refuses_writes_until_writable():
    """default_transaction_read_only on for the whole server (ALTER SYSTEM
    and a reload, as an operator fencing a primary would): writes are
    refused as read-only; reset, they work again."""
    d = Daemon(RMAPD).start()
    try:
        sess = Session(d)
        pg().psql("ALTER SYSTEM SET default_transaction_read_only = on")
        try:
            pg().psql("SELECT pg_reload_conf()")
            # the postmaster reloaded (a new session shows it) has told
            # every backend, which reloads before its next command
            rmapd_client.wait_for("the reload", lambda: pg().psql(
                "SHOW default_transaction_read_only").strip() == "on")
            body = refused(sess, "read-only")
            assert "read-only transaction" in body["detail"], body
            not_ready(d, "read-only")
            assert len(d.journal(sess.id)) == len(sess.acked)
        finally:
            # ALTER SYSTEM runs alone, outside a transaction block
            pg()._run("psql", d.db, "-X", "-v", "ON_ERROR_STOP=1", "-c",
                      "SET default_transaction_read_only = off", "-c",
                      "ALTER SYSTEM RESET default_transaction_read_only",
                      "-c", "SELECT pg_reload_conf()")
        resumes(d, sess)
    finally:
        d.cleanup()


def revoked_privileges_refuse_writes_until_granted():
    """rmapd as an ordinary role owning its database (as the README sets
    it up), its INSERT/UPDATE/DELETE revoked: writes are refused as
    read-only, reads go on; granted back, writes work again."""
    url = rmapd_client.new_db(None, "postgresql")
    name = dbname(url)
    pg().psql("CREATE ROLE lab_%s LOGIN" % name)
    pg().psql("ALTER DATABASE %s OWNER TO lab_%s" % (name, name))
    d = Daemon(RMAPD, db=url.replace("rmapd@", "lab_%s@" % name)).start()
    try:
        sess = Session(d)
        grant = "ON ALL TABLES IN SCHEMA public %s lab_" + name
        rmapd_client.db_exec(url, "REVOKE INSERT, UPDATE, DELETE " +
                             grant % "FROM")
        body = refused(sess, "read-only")
        assert "permission denied" in body["detail"], body
        not_ready(d, "read-only")
        assert d.json("GET", "/api/v1/sessions")[0]["version"] == \
            len(sess.acked)
        rmapd_client.db_exec(url, "GRANT INSERT, UPDATE, DELETE " +
                             grant % "TO")
        resumes(d, sess)
    finally:
        d.cleanup()


def renamed_table_refuses_writes_until_it_is_back():
    """The journal table renamed away (a table missing): writes fail with
    io-error naming it, /readyz too (its probe writes what writes need);
    renamed back, service resumes."""
    d = Daemon(RMAPD).start()
    try:
        busy, idle = Session(d, "busy"), Session(d, "idle")
        state = idle.state()
        rmapd_client.db_exec(d.db, "ALTER TABLE journal RENAME TO away")
        try:
            # the first write finds the fault and leaves its session to be
            # rebuilt from a journal that is not there: 503 meanwhile
            status, body, _ = busy.post({"op": "spawn"})
            assert status == 503 and body["reason"] == "io-error", body
            assert 'relation "journal" does not exist' in body["detail"], body
            assert d.request("GET", busy.url)[0] == 503
            refused(idle, "io-error")
            assert "journal" in not_ready(d, "io-error")["detail"]
            assert idle.state() == state
        finally:
            rmapd_client.db_exec(d.db, "ALTER TABLE away RENAME TO journal")
        resumes(d, busy, idle)
    finally:
        d.cleanup()


def rename_database(frm, to):
    """ALTER DATABASE ... RENAME once rmapd's connections to it are cut
    (they come back by themselves: try until none is in the way)."""
    deadline = time.time() + BACK_WITHIN
    while True:
        try:
            pg().psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = '%s'" % frm)
            pg().psql("ALTER DATABASE %s RENAME TO %s" % (frm, to))
            return
        except subprocess.CalledProcessError as e:
            assert b"being accessed by other users" in e.stdout, e.stdout
            assert time.time() < deadline, "rmapd's connections stayed"


def renamed_database_refuses_writes_until_it_is_back():
    """The database renamed away under rmapd (its connections cut, and
    made again to a name that is gone): writes get io-error saying so,
    /readyz too, loaded sessions that no write touched read on; renamed
    back, service resumes without a restart."""
    d = Daemon(RMAPD).start()
    name = dbname(d.db)
    try:
        busy, idle = Session(d, "busy"), Session(d, "idle")
        state = idle.state()
        rename_database(name, name + "_away")
        try:
            # the first write finds the fault; it leaves its session to be
            # rebuilt from the database (503 meanwhile, as in an outage)
            status, body, _ = busy.post({"op": "spawn"})
            assert status == 503 and body["reason"] == "io-error", body
            body = refused(idle, "io-error")
            assert "does not exist" in body["detail"], body
            assert "does not exist" in not_ready(d, "io-error")["detail"]
            assert idle.state() == state
        finally:
            rename_database(name + "_away", name)
        resumes(d, busy, idle)
    finally:
        d.cleanup()


def hold_pg_journal_lock(d, held, release):
    """Another client's transaction holding the journal's EXCLUSIVE lock
    (reads still go, inserts wait), until release (at most 5 s)."""
    cmd = [os.path.join(pg().bindir, "psql"), d.db, "-X", "-q", "-v",
           "ON_ERROR_STOP=1"]
    if pg().as_root:
        cmd = ["setpriv", "--reuid", pg().user, "--regid", "nogroup",
               "--clear-groups", "--"] + cmd
    psql = subprocess.Popen(cmd, stdin=subprocess.PIPE, cwd=pg().dir)
    psql.stdin.write(b"BEGIN; LOCK TABLE journal IN EXCLUSIVE MODE;\n")
    psql.stdin.flush()
    rmapd_client.wait_for("the journal's lock", lambda: rmapd_client.db_rows(
        d.db, "SELECT 1 FROM pg_locks WHERE mode = 'ExclusiveLock' AND "
        "granted AND relation = 'journal'::regclass"), within=10)
    held.set()
    release.wait(5)
    psql.stdin.write(b"ROLLBACK;\n")
    psql.stdin.close()
    assert psql.wait(timeout=30) == 0


def held_lock_stalls_no_read_and_bounds_writes():
    busy_database_stalls_no_read_and_bounds_writes(hold_pg_journal_lock)


if __name__ == "__main__":
    res = Results()
    res.run(server_made_read_only_refuses_writes_until_writable)
    res.run(revoked_privileges_refuse_writes_until_granted)
    res.run(renamed_table_refuses_writes_until_it_is_back)
    res.run(renamed_database_refuses_writes_until_it_is_back)
    res.run(held_lock_stalls_no_read_and_bounds_writes)
    sys.exit(res.summary())
