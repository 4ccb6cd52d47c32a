"""Start a real rmapd on a free loopback port with a temporary database, and
talk to it over HTTP.  Used by every API, concurrency and durability test."""
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time


def run_state(rmapd, ops, config=None):
    """The state a fresh `rmapd run` gives for these ops (op objects)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"config": config or {}, "ops": ops}, f)
    try:
        out = subprocess.run([rmapd, "run", f.name], capture_output=True,
                             check=True)
    finally:
        os.unlink(f.name)
    return json.loads(out.stdout)["state"]


def recv_all(s):
    """Everything the peer sends until it closes; the socket is closed."""
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# RMAPD_TEST_BACKEND=postgresql: every Daemon (and new_db) gets a fresh
# database of one throwaway PostgreSQL cluster, started once per test
# process and stopped when it exits.
BACKEND = os.environ.get("RMAPD_TEST_BACKEND", "sqlite")
_pg = None
_pg_dbs = 0


def pg_cluster():
    """The test process's PostgreSQL (pgtmp.PgTmp), started on first use."""
    global _pg
    if _pg is None:
        import atexit
        import pgtmp
        # the server is never crashed here: its own fsyncs are not tested
        _pg = pgtmp.PgTmp(fsync=os.environ.get("RMAPD_TEST_PG_FSYNC") == "1"
                          ).start()
        atexit.register(_pg.__exit__, None, None, None)
    return _pg


def is_pg(db):
    return db.startswith(("postgresql://", "postgres://"))


def new_db(tmp, backend=None):
    """A fresh, empty database for --db: a file in tmp, or (PostgreSQL
    backend) a new database of the test cluster, as a URL."""
    global _pg_dbs
    if (backend or BACKEND) != "postgresql":
        return os.path.join(tmp, "rmapd.sqlite")
    pg = pg_cluster()
    _pg_dbs += 1
    name = "t%d_%d" % (os.getpid(), _pg_dbs)
    pg.psql("CREATE DATABASE %s" % name)
    return "postgresql://rmapd@127.0.0.1:%d/%s" % (pg.port, name)


def db_rows(db, sql):
    """The rows of a query (no parameters) on either backend, as tuples of
    strings (None for NULL), for tests that look inside the database."""
    if not is_pg(db):
        import sqlite3
        with sqlite3.connect(db) as c:
            return [tuple(None if v is None else str(v) for v in row)
                    for row in c.execute(sql)]
    # CSV with its header (an empty string is an empty field, NULL the
    # sentinel): a row of one empty column is a line of its own, which
    # psql's unaligned output would leave indistinguishable from none
    import csv
    import io
    out = pg_cluster()._run("psql", db, "-X", "--csv", "-P", "null=\x1e",
                            "-v", "ON_ERROR_STOP=1", "-c", sql).stdout.decode()
    rows = list(csv.reader(io.StringIO(out)))
    # csv gives [] for the blank line of one empty column
    rows = [row or [""] for row in rows[1:]]
    return [tuple(None if v == "\x1e" else v for v in row) for row in rows]


def text_bytes(db, column):
    """SQL for the bytes of a text column, as each backend says it."""
    if is_pg(db):
        return "OCTET_LENGTH(%s)" % column
    return "LENGTH(CAST(%s AS BLOB))" % column


def blob_hex(db, column):
    """SQL for a blob column as hex, as each backend says it (bytes back
    with bytes.fromhex)."""
    if is_pg(db):
        return "encode(%s, 'hex')" % column
    return "hex(%s)" % column


def blob_literal(db, data):
    """A blob (bytes, or None) as an SQL literal for either backend."""
    if data is None:
        return "NULL"
    if is_pg(db):
        return "'\\x%s'::bytea" % data.hex()
    return "X'%s'" % data.hex()


def db_exec(db, sql):
    """Statements that change the database, on either backend."""
    if not is_pg(db):
        import sqlite3
        c = sqlite3.connect(db)
        c.executescript(sql)
        c.close()
        return
    pg_cluster()._run("psql", db, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql)


class Daemon:
    def __init__(self, rmapd, db=None, args=(), web_root=None):
        self.rmapd = rmapd
        self.tmp = tempfile.mkdtemp(prefix="rmapd-test-")
        self.db = db or new_db(self.tmp)
        self.args = list(args)
        self.web_root = web_root or os.path.join(
            os.path.dirname(__file__), "..", "..", "web")
        self.proc = None
        self.port = None

    def start(self, port=None):
        """Started on port (a restart keeps its address), else a free one."""
        self.port = port or free_port()
        self.log = open(os.path.join(self.tmp, "rmapd.log"), "ab")
        self.proc = subprocess.Popen(
            [self.rmapd, "--listen", "127.0.0.1:%d" % self.port, "--db",
             self.db, "--web-root", self.web_root] + self.args,
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("rmapd did not start")

    def stop(self, sig=None):
        """SIGTERM (and a clean exit, so that a sanitizer's report at exit
        fails the test), or the signal given."""
        if self.proc:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            rc = self.proc.wait(timeout=60)
            self.proc = None
            self.log.close()
            if sig is None and rc != 0:
                raise RuntimeError("rmapd exited with %d; its log: %s" % (
                    rc, os.path.join(self.tmp, "rmapd.log")))

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log_text(self):
        with open(os.path.join(self.tmp, "rmapd.log"), encoding="utf-8",
                  errors="replace") as f:
            return f.read()

    def request(self, method, path, body=None, raw=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        data = raw if raw is not None else (
            json.dumps(body).encode() if body is not None else None)
        headers = dict(headers or {})
        # rmapd takes a body only as JSON (415 otherwise): say so unless
        # the test sends a Content-Type of its own
        if data is not None and not any(k.lower() == "content-type"
                                        for k in headers):
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        ctype = resp.getheader("Content-Type") or ""
        hdrs = dict(resp.getheaders())
        conn.close()
        parsed = None
        if "json" in ctype and payload:
            parsed = json.loads(payload)
        return resp.status, parsed, ctype, payload, hdrs

    def journal(self, sid):
        """Every entry of a session's journal, page after page."""
        entries, frm = [], 0
        while True:
            page = self.json("GET", "/api/v1/sessions/%d/ops?from=%d&limit=1000"
                             % (sid, frm))
            entries += page["ops"]
            if page["next"] is None:
                return entries
            frm = page["next"]

    def state(self, sid):
        """A session's whole state, without its id and name (as a fresh
        replay gives it)."""
        live = self.json("GET", "/api/v1/sessions/%d" % sid)
        live.pop("id")
        live.pop("name")
        return live

    def json(self, method, path, body=None, expect=200):
        status, parsed, ctype, payload, _ = self.request(method, path, body)
        if status != expect:
            raise AssertionError("%s %s -> %d (expected %d): %s" % (
                method, path, status, expect, payload[:300]))
        return parsed


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, fn, *args):
        try:
            fn(*args)
            self.passed += 1
            print("ok   " + fn.__name__, flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure
            self.failed += 1
            print("FAIL %s: %r" % (fn.__name__, e), flush=True)

    def summary(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


def metric(d, name):
    for line in d.request("GET", "/metrics")[3].decode().splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise AssertionError("no metric " + name)


def wait_for(what, cond, within=10.0):
    deadline = time.time() + within
    while not cond():
        assert time.time() < deadline, "waited too long for " + what
        time.sleep(0.01)


class Hooks:
    """The files of the test hooks."""

    def __init__(self, d, tmp):
        self.d = d
        self.dir = tmp

    def put(self, name, value):
        path = os.path.join(self.dir, name)
        with open(path + ".tmp", "w") as f:
            f.write("%d\n" % value)
        os.rename(path + ".tmp", path)

    def get(self, name):
        """The number a hook wrote into the file name (0: no file)."""
        try:
            with open(os.path.join(self.dir, name)) as f:
                return int(f.read())
        except FileNotFoundError:
            return 0

    def holding(self, index, what="holding"):
        """The jobs of group `index` once it is held ("pausing": before its
        transaction): (session, seq, fenced)."""
        path = os.path.join(self.dir, what)

        def held():
            try:
                with open(path) as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                return None
            return lines if lines and lines[0] == "group %d" % index else None
        wait_for("group %d to be %s" % (index, what),
                 lambda: held() is not None)
        return [(int(ln.split()[0]), int(ln.split()[1]), ln.endswith("fenced"))
                for ln in held()[1:]]

    def queued(self, n):
        wait_for("%d queued writes" % n,
                 lambda: metric(self.d, "rmapd_commit_queued_total") >= n)
