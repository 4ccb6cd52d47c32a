"""One rmapd (or bare_mhd) process for a benchmark: started on a free
loopback port with its database in a directory of its own, asked over a
keep-alive HTTP connection, measured through /proc (RSS, CPU), stopped.
Shared by run.py and budget.py."""
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

WEB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "web")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def proc_cpu_s(pid):
    """CPU seconds the process has used (utime + stime): on a busy machine
    a request's wall time is mostly waiting for a core."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """A process serving HTTP on 127.0.0.1:port, up once /healthz (or /)
    answers."""

    def __init__(self, argv, tmp, probe="/healthz"):
        self.tmp = tmp
        self.log = open(os.path.join(tmp, "log"), "ab")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log)
        self.conn = None
        for _ in range(400):
            try:
                if self.call("GET", probe)[0] == 200:
                    return
            except OSError:
                self.conn = None
                if self.proc.poll() is not None:
                    break
                time.sleep(0.025)
        self.stop(keep=True)
        raise RuntimeError("%s did not start (log in %s)" % (argv[0], tmp))

    def call(self, method, path, body=None):
        """(status, payload bytes, seconds) over the kept connection."""
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data else {}
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=900)
            try:
                t0 = time.monotonic()
                self.conn.request(method, path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                payload = resp.read()
                dt = time.monotonic() - t0
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status, payload, dt
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def rss_kib(self):
        return proc_status_kib(self.proc.pid, "VmRSS")

    def hwm_kib(self):
        return proc_status_kib(self.proc.pid, "VmHWM")

    def cpu_s(self):
        return proc_cpu_s(self.proc.pid)

    def stop(self, keep=False):
        if self.conn:
            self.conn.close()
            self.conn = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if not keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


class Daemon(Server):
    """rmapd with its database in dbdir (a new temporary directory if
    none; then removed by stop()), and any more flags in args."""

    def __init__(self, rmapd, args=(), dbdir=None):
        self.own_dir = dbdir is None
        tmp = dbdir or tempfile.mkdtemp(prefix="rmapd-bench-",
                                        dir=os.environ.get("RMAPD_BENCH_DIR"))
        self.db = os.path.join(tmp, "rmapd.sqlite")
        self.port = free_port()
        super().__init__([rmapd, "--listen", "127.0.0.1:%d" % self.port,
                          "--db", self.db, "--web-root", WEB] + list(args),
                         tmp)

    def ops(self, sid, ops, check=True):
        st, payload, dt = self.call("POST", "/api/v1/sessions/%d/ops" % sid,
                                    {"ops": ops})
        if check and st != 200:
            raise RuntimeError("%d %s" % (st, payload[:300]))
        return st, payload, dt

    def session(self, name="b"):
        st, payload, _ = self.call("POST", "/api/v1/sessions", {"name": name})
        if st != 201:
            raise RuntimeError("%d %s" % (st, payload[:300]))
        return json.loads(payload)["id"]

    def db_bytes(self):
        return sum(os.path.getsize(self.db + s) for s in ("", "-wal")
                   if os.path.exists(self.db + s))

    def stop(self, keep=False):
        super().stop(keep=keep or not self.own_dir)


class Bare(Server):
    """bare_mhd (the anchor of the HTTP paths) on a free port."""

    def __init__(self, binary, threads=8, mode=()):
        """mode: bare_mhd's mode words -- ["held"] (each POST's answer
        suspended and resumed by a second thread), ["held-sync", FILE]
        (resumed after one write and fdatasync of the group's records, the
        durable floor), ["held-sqlite", FILE, SESSIONS] (after the group is
        committed into SQLite as rmapd's journal, its design's floor)."""
        self.port = free_port()
        mode = list(mode)
        super().__init__([binary, str(self.port), str(threads)] + mode,
                         tempfile.mkdtemp(prefix="bare-mhd-"), probe="/")
