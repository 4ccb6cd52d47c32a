"""The operator's commands (rmapd user|token|class ...) on the database,
with and without a daemon running on it: what they print, their exit
codes, their errors, and that they are idempotent where they say so."""
import os
import re
import subprocess
import sys
import tempfile

import rmapd_client
from rmapd_client import Daemon, Results, db_rows

RMAPD = sys.argv[1]
ENV = dict(os.environ, RMAPD_TEST_FAST_KDF="1")


def run(db, *args, stdin=None):
    p = subprocess.run([RMAPD] + list(args) + ["--db", db], input=stdin,
                       capture_output=True, text=True, env=ENV, timeout=60)
    return p.returncode, p.stdout, p.stderr


def new_db():
    return rmapd_client.new_db(tempfile.mkdtemp(prefix="rmapd-cli-"))


def login(d, name, password):
    return d.request("POST", "/api/v1/login", {"name": name,
                                               "password": password})[0]


def users_are_added_listed_changed_and_removed():
    db = new_db()
    rc, out, err = run(db, "user", "add", "alice", "--display", "Alice A.")
    name, password = out.strip().split("\t")
    assert rc == 0 and name == "alice" and len(password) == 20, (out, err)
    rc, out, err = run(db, "user", "add", "root", "--admin", "--password-stdin",
                       stdin="long-enough\n")
    assert rc == 0 and out == "" and "added admin 'root'" in err, (out, err)
    rc, out, err = run(db, "user", "add", "alice")
    assert rc == 1 and "exists already" in err and out == "", err
    rc, out, _ = run(db, "user", "list")
    assert out == ("alice\tuser\tpassword\tAlice A.\n"
                   "root\tadmin\tpassword\t\n"), out
    rc, _, err = run(db, "user", "add", "-bad")
    assert rc == 1 and "user name" in err
    rc, _, err = run(db, "user", "add", "x", "--password-stdin", stdin="short\n")
    assert rc == 1 and "at least 8" in err
    d = Daemon(RMAPD, db=db, args=["--auth", "on"]).start()
    try:
        assert login(d, "alice", password) == 200
        # while the daemon runs
        rc, out, _ = run(db, "user", "passwd", "alice", "--password-stdin",
                         stdin="the-new-one\n")
        assert rc == 0 and out == ""
        assert login(d, "alice", password) == 401
        assert login(d, "alice", "the-new-one") == 200
        rc, tok, _ = run(db, "token", "create", "alice")
        h = {"Authorization": "Bearer " + tok.strip()}
        assert d.request("GET", "/api/v1/me", headers=h)[0] == 200
        rc, _, err = run(db, "user", "remove", "alice")
        assert rc == 0 and "removed 'alice'" in err
        assert d.request("GET", "/api/v1/me", headers=h)[0] == 401
        assert login(d, "alice", "the-new-one") == 401
    finally:
        d.cleanup()
    rc, _, err = run(db, "user", "remove", "alice")
    assert rc == 1 and "no user 'alice'" in err
    rc, _, err = run(db, "user", "passwd", "ghost")
    assert rc == 1 and "no user 'ghost'" in err


def tokens_are_created_listed_and_revoked():
    db = new_db()
    run(db, "user", "add", "bob")
    rc, out, err = run(db, "token", "create", "bob", "--scope", "read",
                       "--expires", "30d", "--name", "ci")
    assert rc == 0 and out.startswith("rmt_") and len(out.strip()) == 47, out
    assert "token 1 for 'bob' (read)" in err, err
    # only the token's 32-byte hash is kept, never its text
    assert db_rows(db, "SELECT length(hash) FROM tokens") == [("32",)]
    assert db_rows(db, "SELECT COUNT(*) FROM tokens WHERE hash = '%s'"
                   % out.strip()) == [("0",)]
    run(db, "token", "create", "bob")
    rc, out, _ = run(db, "token", "list", "bob")
    rows = [r.split("\t") for r in out.strip().splitlines()]
    assert [(r[0], r[1], r[2], r[5]) for r in rows] == [
        ("1", "ci", "read", "live"), ("2", "token", "write", "live")], rows
    assert rows[1][4] == "never" and rows[0][4].endswith("Z")
    assert run(db, "token", "revoke", "1")[0] == 0
    rc, _, err = run(db, "token", "revoke", "1")
    assert rc == 1 and "no live token 1" in err
    rc, out, _ = run(db, "token", "list", "bob")
    assert out.splitlines()[0].endswith("\trevoked"), out
    for bad, msg in ((["--scope", "admin"], "--scope"),
                     (["--expires", "3y"], "--expires"),
                     (["--expires", "0d"], "--expires")):
        rc, out, err = run(db, "token", "create", "bob", *bad)
        assert rc == 1 and msg in err and out == "", (bad, err)
    rc, _, err = run(db, "token", "create", "nobody")
    assert rc == 1 and "no user 'nobody'" in err
    rc, _, err = run(db, "token", "revoke", "x1")
    assert rc == 1 and "number" in err


def rosters_enrol_all_or_nothing_and_again_changes_nothing():
    db = new_db()
    run(db, "user", "add", "prof")
    rc, _, err = run(db, "class", "create", "os101", "--instructor", "nobody")
    assert rc == 1 and "no user 'nobody'" in err
    assert run(db, "class", "create", "os101", "--instructor", "prof")[0] == 0
    rc, _, err = run(db, "class", "create", "os101", "--instructor", "prof")
    assert rc == 0 and "exists" in err
    tmp = tempfile.mkdtemp(prefix="rmapd-cli-")
    roster = os.path.join(tmp, "r.csv")
    with open(roster, "w") as f:
        f.write('user,role,display name\nann,student,"Ann, the first"\n'
                'ben,ta,Ben\nprof,instructor,Prof\ncid,professor,Cid\n')
    rc, out, err = run(db, "class", "enrol", "os101", roster)
    assert rc == 1 and out == "" and "r.csv:5" in err and \
        "nobody was enrolled" in err, err
    assert db_rows(db, "SELECT COUNT(*) FROM users") == [("1",)]
    with open(roster, "w") as f:
        f.write('user,role,display name\nann,student,"Ann, the first"\n'
                'ben,ta,Ben\n\nprof,instructor,Prof\n')
    rc, out, err = run(db, "class", "enrol", "os101", roster)
    created = dict(line.split("\t") for line in out.strip().splitlines())
    assert rc == 0 and sorted(created) == ["ann", "ben"], (out, err)
    assert "3 enrolled" in err
    rc, out, _ = run(db, "user", "list")
    assert "ann\tuser\tpassword\tAnn, the first\n" in out, out
    roles = db_rows(db, "SELECT u.name, m.role FROM memberships m JOIN users "
                    "u ON u.id = m.user_id ORDER BY u.name")
    assert roles == [("ann", "student"), ("ben", "ta"),
                     ("prof", "instructor")], roles
    # again: nobody new, no password printed, the same roles
    rc, out, err = run(db, "class", "enrol", "os101", roster)
    assert rc == 0 and out == "", out
    d = Daemon(RMAPD, db=db, args=["--auth", "on"]).start()
    try:
        st, me, _, _, _ = d.request("POST", "/api/v1/login", {
            "name": "ann", "password": created["ann"]})
        assert st == 200 and me["classes"] == [{"name": "os101",
                                                "role": "student"}], me
    finally:
        d.cleanup()
    rc, _, err = run(db, "class", "enrol", "os999", roster)
    assert rc == 1 and "no class 'os999'" in err


def a_new_user_never_inherits_a_removed_users_sessions():
    db = new_db()
    run(db, "user", "add", "old")
    _, tok, _ = run(db, "token", "create", "old")
    d = Daemon(RMAPD, db=db, args=["--auth", "on"]).start()
    try:
        s = d.request("POST", "/api/v1/sessions", {"name": "olds"}, headers={
            "Authorization": "Bearer " + tok.strip()})[1]
        assert run(db, "user", "remove", "old")[0] == 0
        run(db, "user", "add", "new")
        _, tok, _ = run(db, "token", "create", "new")
        h = {"Authorization": "Bearer " + tok.strip()}
        assert d.request("GET", s["url"], headers=h)[0] == 404
        assert d.request("GET", "/api/v1/sessions", headers=h)[1] == []
    finally:
        d.cleanup()


README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                      "README.md")


def readme_operator_block_runs_as_written():
    text = open(README).read()
    part = text.split("## People, classes and who may do what", 1)[1]
    block = re.findall(r"```sh\n(.*?)```", part, re.S)[0]
    tmp = tempfile.mkdtemp(prefix="rmapd-readme-")
    out = subprocess.run(
        ["bash", "-euo", "pipefail", "-c",
         'rmapd() { "$RMAPD_BIN" "$@"; }\n' + block + '\necho "T=$TOKEN"'],
        cwd=tmp, capture_output=True, text=True, timeout=120,
        env=dict(ENV, RMAPD_BIN=os.path.abspath(RMAPD)))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("root\t") and lines[1].startswith("prof\t")
    assert lines[2].startswith("bea\t") and lines[3].startswith("1\tlaptop"
                                                                "\tread\t")
    assert "root\tadmin\tpassword\t" in out.stdout
    assert "bea\tuser\tpassword\tBea, the TA" in out.stdout
    assert lines[-1].startswith("T=rmt_"), lines[-1]
    assert "token 1 revoked" in out.stderr and "removed 'ann'" in out.stderr


def usage_errors_are_exit_2():
    db = new_db()
    for args in (["user"], ["user", "frobnicate"], ["token", "list"],
                 ["user", "add", "a", "--colour", "red"]):
        rc, _, err = run(db, *args)
        assert rc == 2 and err, (args, rc, err)
    run(db, "user", "add", "q")
    for args, msg in ((["sessions", "5"], "--user NAME or --class"),
                      (["--user", "nobody", "sessions", "1"], "no user"),
                      (["--class", "none", "sessions", "1"], "no class"),
                      (["--user", "q", "disk", "1"], "sessions or ops_rate"),
                      (["--user", "q", "sessions", "-1"], "a number")):
        rc, _, err = run(db, "quota", "set", *args)
        assert rc == 1 and msg in err, (args, err)
    rc, _, err = run(db, "quota", "set", "--user", "q", "ops_rate", "7")
    assert rc == 0 and "ops_rate of user 'q' is 7" in err, err
    assert db_rows(db, "SELECT user_id, class_id, kind, value FROM quotas"
                   ) == [("1", None, "ops_rate", "7")]
    rc, out, _ = run(db, "user", "--help")
    assert rc == 0 and "rmapd class enrol CLASS FILE.csv" in out


def main():
    res = Results()
    for t in (users_are_added_listed_changed_and_removed,
              tokens_are_created_listed_and_revoked,
              rosters_enrol_all_or_nothing_and_again_changes_nothing,
              a_new_user_never_inherits_a_removed_users_sessions,
              readme_operator_block_runs_as_written,
              usage_errors_are_exit_2):
        res.run(t)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
