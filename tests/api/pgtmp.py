"""A throwaway PostgreSQL for tests: initdb in a temporary directory, listening
on a free loopback port only, run as an unprivileged user when we are root
(PostgreSQL refuses to run as root), stopped and removed afterwards.

    with PgTmp() as pg:
        url = pg.url            # postgresql://rmapd@127.0.0.1:PORT/rmapd
        pg.restart()            # e.g. to test that rmapd rides out a restart
"""
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

PG_BINS = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"]


def _bindir():
    for d in PG_BINS:
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(found)
    raise RuntimeError("PostgreSQL's initdb not found (apt-get install postgresql)")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgTmp:
    def __init__(self, user="nobody", fsync=True):
        # fsync off: for tests of rmapd, which never crash the server (a
        # benchmark keeps it on, to measure real commits)
        self.fsync = fsync
        self.bindir = _bindir()
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="rmapd-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.as_root = os.geteuid() == 0
        self.user = user if self.as_root else pwd.getpwuid(os.geteuid()).pw_name
        if self.as_root:
            pw = pwd.getpwnam(user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o700)
        self.url = "postgresql://rmapd@127.0.0.1:%d/rmapd" % self.port

    def _run(self, *argv, check=True, timeout=120):
        cmd = [os.path.join(self.bindir, argv[0])] + list(argv[1:])
        if self.as_root:
            cmd = ["setpriv", "--reuid", self.user, "--regid", "nogroup",
                   "--clear-groups", "--"] + cmd
        return subprocess.run(cmd, check=check, timeout=timeout, cwd=self.dir,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def start(self):
        # trust on loopback only: a throwaway cluster nobody else can reach
        self._run("initdb", "-D", self.data, "-U", "rmapd", "-A", "trust",
                  "-E", "UTF8", "--no-sync")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = '127.0.0.1'\nport = %d\n"
                    "unix_socket_directories = '%s'\nfsync = %s\n"
                    "max_connections = 200\n" % (
                        self.port, self.dir, "on" if self.fsync else "off"))
        self._pg_ctl("start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port),
                  "-U", "rmapd", "rmapd")
        return self

    def _pg_ctl(self, what):
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60",
                  "-m", "fast", what)

    def stop(self):
        self._pg_ctl("stop")

    def restart(self):
        self._pg_ctl("restart")

    def psql(self, sql):
        out = self._run("psql", "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", "rmapd", "-d", "rmapd", "-At", "-v",
                        "ON_ERROR_STOP=1", "-c", sql)
        return out.stdout.decode()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop",
                  check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def serve():
    """For test programs that are not Python (tests/browser/lib.mjs): one
    cluster for as long as stdin stays open.  Prints `ready`, then answers
    each line `db` with the URL of a new, empty database; EOF stops and
    removes the cluster."""
    import sys
    # fsync off: the server is never crashed by these tests
    with PgTmp(fsync=False) as pg:
        print("ready", flush=True)
        n = 0
        for line in sys.stdin:
            if line.strip() != "db":
                print("error: say db", flush=True)
                continue
            n += 1
            name = "b%d" % n
            pg.psql("CREATE DATABASE %s" % name)
            print("postgresql://rmapd@127.0.0.1:%d/%s" % (pg.port, name),
                  flush=True)


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--serve"]:
        serve()
        sys.exit(0)
    t0 = time.monotonic()
    with PgTmp() as pg:
        print("up in %.1f s at %s" % (time.monotonic() - t0, pg.url))
        print(pg.psql("select version()").strip())
        pg.restart()
        print(pg.psql("select 1+1").strip())
