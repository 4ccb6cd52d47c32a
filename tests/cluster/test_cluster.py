"""The cluster on loopback: a throwaway PostgreSQL, three rmapd nodes on it
behind nginx (the shipped nginx-rmapd.conf), users with tokens (--auth on),
and a mixed load through nginx: single ops, batches, rewinds, named
snapshots, reads, /events watchers.  One node is killed with SIGKILL
mid-run and restarted later; PostgreSQL is restarted once.  Then: every
acknowledged op is in its journal (read from the database itself), in
order, and nothing else is; every session, asked
through nginx and through each node, equals a fresh replay of its journal;
no answer was built on a stale state (each answer's version is the one its
client's journal gives); every watcher saw every version, in order,
one event each (a rewind as one event at the version it left), and the
last one.  Prints ops acknowledged, lost (0), and how long a dead
node's sessions took to answer again."""
import http.client
import json
import os
import random
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from cluster import NODE_HEADER, Cluster  # noqa: E402
from rmapd_client import db_rows, pg_cluster, run_state  # noqa: E402

RMAPD = sys.argv[1]
LOAD_S = float(os.environ.get("RMAPD_CLUSTER_LOAD_S", "24"))
USERS, SESSIONS_EACH, WATCHED = 3, 3, 4
BASE = 0x7f0000000000
PAGES = 16


def make_op(rng):
    page = BASE + 4096 * rng.randrange(PAGES)
    kind = rng.random()
    if kind < 0.6:
        return {"op": "access", "pid": 1, "addr": hex(page),
                "write": rng.random() < 0.7}
    if kind < 0.8:
        return {"op": "mprotect", "pid": 1, "addr": hex(page), "len": 4096,
                "prot": rng.choice(["r--", "rw-"])}
    return {"op": "madvise", "pid": 1, "addr": hex(page), "len": 4096,
            "advice": "dontneed"}


START = [{"op": "spawn"},
         {"op": "mmap", "pid": 1, "addr": hex(BASE), "len": 4096 * PAGES,
          "prot": "rw-", "flags": ["private", "anonymous", "fixed"]}]


class Client:
    """Keep-alive HTTP through nginx with a user's token."""

    def __init__(self, port, token):
        self.port = port
        self.token = token
        self.conn = None

    def request(self, method, path, body=None):
        """(status, parsed body, node) or (None, error, None)."""
        headers = {"Authorization": "Bearer " + self.token}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                       timeout=30)
            self.conn.request(method, path, body=data, headers=headers)
            r = self.conn.getresponse()
            payload = r.read()
            parsed = json.loads(payload) if payload and "json" in (
                r.getheader("Content-Type") or "") else None
            return r.status, parsed, r.getheader(NODE_HEADER)
        except (OSError, http.client.HTTPException) as e:
            self.conn = None
            return None, repr(e), None


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = 0
        self.uncertain = 0
        self.stale = []
        self.errors = []
        self.answers = []       # (time, session, node, ok)

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)


class Writer(threading.Thread):
    """The one writer of its session: it knows the journal exactly, so
    every answer's version is checked against it."""

    def __init__(self, port, token, sid, seed, stats, stop):
        super().__init__(daemon=True)
        self.c = Client(port, token)
        self.sid = sid
        self.rng = random.Random(seed)
        self.stats = stats
        self.stop = stop
        self.journal = list(START)
        self.cuts = 0           # the rewinds the session's journal had
        self.versions = {0: {0, 1, 2}}  # each history's versions, by cuts
        self.url = "/api/v1/sessions/%d" % sid

    def note(self, status, node):
        with self.stats.lock:
            self.stats.answers.append((time.time(), self.sid, node,
                                       status is not None and status < 500))

    def stale(self, what):
        with self.stats.lock:
            self.stats.stale.append("session %d: %s" % (self.sid, what))

    def resync(self, pending):
        """After an answer lost (a node died with the request): the journal
        is ours, or ours with the pending change applied, nothing else."""
        self.stats.add(uncertain=1)
        deadline = time.time() + 30
        while time.time() < deadline:
            got = journal_via(self.c, self.sid)
            if got is not None:
                if got != self.journal and got != pending:
                    self.stale("journal after a lost answer is neither "
                               "before nor after it")
                if got == pending and len(pending) > len(self.journal):
                    self.stats.add(acked=len(pending) - len(self.journal))
                    self.had(len(self.journal) + 1, len(got))
                elif got == pending and got != self.journal:
                    self.cut(len(got))      # the rewind was done
                self.journal = got
                return
            time.sleep(0.2)
        self.stale("journal unreadable for 30 s")

    def had(self, first, last):
        self.versions[self.cuts].update(range(first, last + 1))

    def cut(self, to):
        self.cuts += 1
        self.versions[self.cuts] = {to}

    def post_ops(self, ops):
        body = ops[0] if len(ops) == 1 else {"ops": ops}
        status, got, node = self.c.request("POST", self.url + "/ops", body)
        self.note(status, node)
        if status == 200:
            want = len(self.journal) + len(ops)
            if got["version"] != want or [r["seq"] for r in got["results"]] != \
                    list(range(len(self.journal) + 1, want + 1)):
                self.stale("ops answered at version %d, journal says %d"
                           % (got["version"], want))
            self.had(len(self.journal) + 1, want)
            self.journal += ops
            self.stats.add(acked=len(ops))
        elif status in (None, 502, 503, 504):
            self.resync(self.journal + ops)
        else:
            self.stats.errors.append((status, got))

    def rewind(self):
        # always shorter: after a lost answer the journal tells if it was done
        if len(self.journal) <= 2:
            return
        to = max(2, len(self.journal) - self.rng.randrange(1, 4))
        status, got, node = self.c.request("POST", self.url + "/rewind",
                                           {"to": to})
        self.note(status, node)
        if status == 200:
            if got != {"version": to}:
                self.stale("rewind answered %r" % (got,))
            self.journal = self.journal[:to]
            self.cut(to)
        elif status in (None, 502, 503, 504):
            self.resync(self.journal[:to])
        else:
            self.stats.errors.append((status, got))

    def snapshot(self, n):
        status, got, node = self.c.request(
            "POST", self.url + "/snapshots", {"name": "s%d" % n})
        self.note(status, node)
        if status == 201 and got["seq"] != len(self.journal):
            self.stale("snapshot at %d, journal says %d" % (got["seq"],
                                                             len(self.journal)))
        elif status not in (201, None, 502, 503, 504):
            self.stats.errors.append((status, got))

    def read(self):
        status, got, node = self.c.request("GET", self.url + "?view=summary")
        self.note(status, node)
        if status == 200 and got["version"] != len(self.journal):
            self.stale("read at version %d, journal says %d"
                       % (got["version"], len(self.journal)))
        elif status not in (200, None, 502, 503, 504):
            self.stats.errors.append((status, got))

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            k = self.rng.random()
            if k < 0.45:
                self.post_ops([make_op(self.rng)])
            elif k < 0.65:
                self.post_ops([make_op(self.rng)
                               for _ in range(self.rng.randrange(2, 6))])
            elif k < 0.72:
                self.rewind()
            elif k < 0.76:
                self.snapshot(n)
            else:
                self.read()


def journal_via(c, sid):
    ops, frm = [], 0
    while True:
        status, page, _ = c.request(
            "GET", "/api/v1/sessions/%d/ops?from=%d&limit=1000" % (sid, frm))
        if status != 200:
            return None
        ops += [e["op"] for e in page["ops"]]
        if page["next"] is None:
            return ops
        frm = page["next"]


class Watcher(threading.Thread):
    """An /events client through nginx, as the page's EventSource is:
    each stream tells the versions after the one it knows, each event's id
    (cuts.version) saying where to resume from, and it asks again from
    there."""

    def __init__(self, port, token, sid, stop):
        super().__init__(daemon=True)
        self.port, self.token, self.sid, self.stop = port, token, sid, stop
        self.seen = []          # (cuts, version) of each event
        self.at = (0, 2)
        self.until = None       # the final (cuts, version), once it is over

    def run(self):
        while not (self.until is not None and self.at == self.until):
            if self.stop.is_set() and self.until is None:
                time.sleep(0.05)
                continue
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port,
                                               timeout=30)
                c.request("GET", "/api/v1/sessions/%d/events?since=%d&cuts=%d"
                          % (self.sid, self.at[1], self.at[0]),
                          headers={"Authorization": "Bearer " + self.token})
                text = c.getresponse().read().decode()
                c.close()
            except (OSError, http.client.HTTPException):
                time.sleep(0.2)
                continue
            for c, v in re.findall(r'id: (\d+)\.(\d+)\nevent: version\n'
                                   r'data: \{"version":\2\}', text):
                self.at = (int(c), int(v))
                self.seen.append(self.at)

    def gaps(self, versions):
        """Where the events are not every version in order: within one
        history each is the one after; a cut's is a version of the
        history it starts."""
        bad, at = [], (0, 2)
        for c, v in self.seen:
            if (c, v) != (at[0], at[1] + 1) and not (
                    c > at[0] and v in versions.get(c, ())):
                bad.append((at, (c, v)))
            at = (c, v)
        return bad


def db_journal(db, sid):
    return [json.loads(r[0]) for r in db_rows(
        db, "SELECT op FROM journal WHERE session = %d ORDER BY seq" % sid)]


def make_users(db):
    tokens = []
    for i in range(USERS):
        subprocess.run([RMAPD, "user", "add", "u%d" % i, "--db", db],
                       check=True, capture_output=True)
        out = subprocess.run([RMAPD, "token", "create", "u%d" % i, "--db", db],
                             check=True, capture_output=True, text=True)
        tokens.append(out.stdout.strip())
    out = subprocess.run([RMAPD, "token", "create", "u0", "--scope", "scrape",
                          "--db", db], check=True, capture_output=True,
                         text=True)
    return tokens, out.stdout.strip()


def node_metric(port, token, name):
    c = Client(port, token)
    c.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.conn.request("GET", "/metrics",
                   headers={"Authorization": "Bearer " + token})
    text = c.conn.getresponse().read().decode()
    c.conn.close()
    return int(re.search(r"^%s (\d+)" % name, text, re.M).group(1))


def same_origin_rules(cl, token):
    """Through nginx a page of the cluster's own origin may change state,
    another origin may not (rmapd sees the client's Host)."""
    results = {}
    for origin in ("http://127.0.0.1:%d" % cl.port, "http://evil.example"):
        c = http.client.HTTPConnection("127.0.0.1", cl.port, timeout=10)
        c.request("POST", "/api/v1/sessions", body=b'{"name":"o"}',
                  headers={"Content-Type": "application/json",
                           "Origin": origin,
                           "Authorization": "Bearer " + token})
        results[origin] = c.getresponse().status
        c.close()
    assert list(results.values()) == [201, 403], results


def main():
    cl = Cluster(RMAPD, args=["--auth", "on", "--snapshot-every", "16"])
    failures = []
    try:
        cl.nodes[0].start(cl.ports[0])      # makes the schema
        tokens, scrape = make_users(cl.db)
        for d, p in list(zip(cl.nodes, cl.ports))[1:]:
            d.start(p)
        cl.start_nginx()
        same_origin_rules(cl, tokens[0])
        stats, stop = Stats(), threading.Event()
        writers, watchers = [], []
        for u, tok in enumerate(tokens):
            c = Client(cl.port, tok)
            for k in range(SESSIONS_EACH):
                status, got, _ = c.request("POST", "/api/v1/sessions",
                                           {"name": "u%d-%d" % (u, k)})
                assert status == 201, (status, got)
                sid = got["id"]
                status, got, _ = c.request(
                    "POST", "/api/v1/sessions/%d/ops" % sid, {"ops": START})
                assert status == 200 and got["version"] == 2, got
                writers.append(Writer(cl.port, tok, sid, u * 100 + k, stats,
                                      stop))
        for w in writers[:WATCHED]:
            watchers.append(Watcher(cl.port, w.c.token, w.sid, stop))
        t0 = time.time()
        for t in writers + watchers:
            t.start()
        time.sleep(LOAD_S * 0.3)
        with stats.lock:
            last = {}
            for at, sid, node, ok in stats.answers:
                last[sid] = node
        # the node holding the most sessions dies
        victim = max(range(len(cl.ports)), key=lambda i: sum(
            1 for n in last.values() if n == "127.0.0.1:%d" % cl.ports[i]))
        victim_addr = "127.0.0.1:%d" % cl.ports[victim]
        killed_at = time.time()
        cl.kill(victim)
        on_victim = {sid for sid, node in last.items() if node == victim_addr}
        time.sleep(LOAD_S * 0.35)
        cl.restart(victim)
        restarted_at = time.time()
        time.sleep(LOAD_S * 0.15)
        pg_at = time.time()
        pg_cluster().restart()
        pg_took = time.time() - pg_at
        time.sleep(max(0.0, t0 + LOAD_S - time.time()))
        stop.set()
        for w in writers:
            w.join(60)
        for wt, w in zip(watchers, writers):
            wt.until = (w.cuts, len(w.journal))
        for wt in watchers:
            wt.join(30)

        # what the dead node held answered again, and when; and went back
        back, home = {}, set()
        with stats.lock:
            for at, sid, node, ok in stats.answers:
                if sid in on_victim and ok and at > killed_at and \
                        sid not in back:
                    back[sid] = at - killed_at
                if sid in on_victim and ok and at > restarted_at and \
                        node == victim_addr:
                    home.add(sid)
        conflicts = sum(node_metric(p, scrape, "rmapd_commit_conflicts_total")
                        for p in cl.ports)
        lost = 0
        for w in writers:
            stored = db_journal(cl.db, w.sid)
            if stored != w.journal:
                lost += sum(1 for i, op in enumerate(w.journal)
                            if i >= len(stored) or stored[i] != op)
                failures.append("session %d: journal differs from what was "
                                "acknowledged" % w.sid)
            want = run_state(RMAPD, stored)
            for name, port in [("nginx", cl.port)] + [
                    ("node %d" % i, p) for i, p in enumerate(cl.ports)]:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("GET", "/api/v1/sessions/%d" % w.sid,
                          headers={"Authorization": "Bearer " + w.c.token})
                live = json.loads(c.getresponse().read())
                c.close()
                live.pop("id")
                live.pop("name")
                if live != want:
                    failures.append("session %d through %s is not its "
                                    "replay" % (w.sid, name))
        for wt, w in zip(watchers, writers):
            if not wt.seen or wt.seen[-1] != (w.cuts, len(w.journal)):
                failures.append("watcher of %d ended at %r, session at %r"
                                % (w.sid, wt.seen[-1:],
                                   (w.cuts, len(w.journal))))
            gaps = wt.gaps(w.versions)
            if gaps:
                failures.append("watcher of %d missed or misordered "
                                "versions (%d places, first %r)"
                                % (w.sid, len(gaps), gaps[:3]))
        failures += stats.stale
        failures += ["unexpected answer %r" % (e,) for e in stats.errors]
        if not on_victim:
            failures.append("the killed node held no session in use")
        if len(back) < len(on_victim):
            failures.append("sessions of the dead node never answered "
                            "again: %r" % sorted(on_victim - set(back)))
        if home != on_victim:
            failures.append("sessions that did not go back to the restarted "
                            "node: %r" % sorted(on_victim - home))
        print("ops acknowledged: %d in %.1f s (%d sessions, %d users, %d "
              "watchers seeing %d versions)" % (
                  stats.acked, LOAD_S, len(writers), USERS, len(watchers),
                  sum(len(wt.seen) for wt in watchers)))
        print("lost: %d; answers lost with the dead node (client re-read "
              "the journal): %d" % (lost, stats.uncertain))
        print("node %d killed with %d of its sessions in use, restarted "
              "after %.1f s; its sessions answered again after %s, and "
              "%d of them went back to it" % (
                  victim, len(on_victim), restarted_at - killed_at,
                  ", ".join("%.3f s" % v for v in sorted(back.values()))
                  or "-", len(home)))
        print("PostgreSQL restarted once (%.1f s down); conflicts (a node's "
              "append fenced, made again): %d" % (pg_took, conflicts))
    finally:
        cl.cleanup()
    for f in failures:
        print("FAIL " + f)
    print("%d passed, %d failed" % (0 if failures else 1, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
