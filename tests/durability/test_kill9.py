"""kill -9 of rmapd at a random moment under load from many clients (single
ops, batches, snapshots and rewinds), then a restart on the same database:
every acknowledged operation is in its session's journal, unchanged, and
each session's state equals a fresh replay of its journal.  Also: a snapshot
left beyond the end of its journal (a rewind cut short) is not used, and a
kill -9 while sessions are created from scenarios and clones leaves none
half-made."""
import json
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
from load import processes, random_op  # noqa: E402
from rmapd_client import Daemon, Results, db_exec, run_state  # noqa: E402

RMAPD = sys.argv[1]
SESSIONS = 8        # each shared by two clients
CLIENTS = 16
REWINDERS = 4       # each alone on its session, so its rewinds are exact


def replay_state(journal):
    return run_state(RMAPD, [e["op"] for e in journal])


def pid1_op(rng):
    # two clients share a session, and a rewind may undo any later spawn:
    # keep to ops valid for pid 1
    op = random_op(rng, 1)
    if op["op"] in ("spawn", "fork"):
        op = {"op": "access", "pid": 1, "addr": "0x7f0000001000", "write": True}
    return op


def snapshot_beyond_the_journal_is_not_used():
    """A crash between the journal cut and the snapshot cut of a rewind
    left a snapshot past the journal's end; the ops journaled later must not
    be skipped over by loading it."""
    d = Daemon(RMAPD).start()
    try:
        sid = d.json("POST", "/api/v1/sessions", {"name": "cut"}, expect=201)["id"]
        donor = d.json("POST", "/api/v1/sessions", {"name": "donor"}, expect=201)["id"]
        mm = {"op": "mmap", "pid": 1, "addr": "0x7f0000000000", "len": 8192,
              "prot": "rw-", "flags": ["private", "anonymous", "fixed"]}
        wr = {"op": "access", "pid": 1, "addr": "0x7f0000000000", "write": True}
        d.json("POST", "/api/v1/sessions/%d/ops" % sid,
               {"ops": [{"op": "spawn"}, mm, wr]})
        d.json("POST", "/api/v1/sessions/%d/ops" % donor,
               {"ops": [{"op": "spawn"}, mm, wr, {"op": "fork", "pid": 1},
                        dict(wr, pid=2)]})
        d.json("POST", "/api/v1/sessions/%d/snapshots" % donor, {"name": "at5"},
               expect=201)
        d.stop()
        db_exec(d.db, "INSERT INTO snapshots(session, seq, name, dump) "
                "SELECT %d, seq, NULL, dump FROM snapshots WHERE session = %d "
                "AND name = 'at5'" % (sid, donor))
        d.start()
        d.json("POST", "/api/v1/sessions/%d/ops" % sid,
               {"ops": [{"op": "spawn"}, {"op": "spawn"}]})
        d.stop()
        d.start()   # the state at op 5 is rebuilt from the database
        live = d.json("GET", "/api/v1/sessions/%d" % sid)
        live.pop("id")
        live.pop("name")
        assert live["version"] == 5
        assert live == replay_state(d.journal(sid))
    finally:
        d.cleanup()


def kill9_under_load(d, res):
    seed = int(os.environ.get("KILL9_SEED", random.SystemRandom().randrange(1 << 30)))
    rng = random.Random(seed)
    d.start()
    sids = [d.json("POST", "/api/v1/sessions", {"name": "k%d" % i}, expect=201)["id"]
            for i in range(SESSIONS + REWINDERS)]
    for sid in sids:
        d.json("POST", "/api/v1/sessions/%d/ops" % sid, {"op": "spawn"})
    acked = {sid: {1: {"op": "spawn"}} for sid in sids}
    # a rewind sent but not answered: it happened whole or not at all
    pending_rewind = {}
    done = {"batches": 0, "snapshots": 0, "rewinds": 0}
    lock = threading.Lock()
    stop = threading.Event()

    def client(i):
        crng = random.Random(seed + i)
        owner = i >= CLIENTS
        sid = sids[SESSIONS + i - CLIENTS] if owner else sids[i % SESSIONS]
        version, nsnap = 1, 0
        while not stop.is_set():
            r = crng.random()
            try:
                if r < 0.03:
                    nsnap += 1
                    d.json("POST", "/api/v1/sessions/%d/snapshots" % sid,
                           {"name": "c%d-%d" % (i, nsnap)}, expect=201)
                    with lock:
                        done["snapshots"] += 1
                    continue
                if owner and r < 0.08:
                    to = crng.randint(1, version)
                    pending_rewind[sid] = to
                    version = d.json("POST", "/api/v1/sessions/%d/rewind" % sid,
                                     {"to": to})["version"]
                    with lock:
                        done["rewinds"] += 1
                        del pending_rewind[sid]
                        for seq in [q for q in acked[sid] if q > to]:
                            del acked[sid][seq]
                    continue
                batch = [pid1_op(crng) for _ in range(crng.randint(2, 6))]
                body = {"ops": batch} if r < 0.4 else batch[0]
                reply = d.json("POST", "/api/v1/sessions/%d/ops" % sid, body)
            except Exception:  # noqa: BLE001 - the daemon was killed
                return
            version = reply["version"]
            with lock:
                done["batches"] += len(reply["results"]) > 1
                for result in reply["results"]:
                    acked[sid][result["seq"]] = result["op"]

    threads = [threading.Thread(target=client, args=(i,))
               for i in range(CLIENTS + REWINDERS)]
    for t in threads:
        t.start()
    start = time.time()
    time.sleep(rng.uniform(0.5, 2.5))
    # a slow (sanitized) build may need longer for every kind of request
    while min(done.values()) == 0 and time.time() < start + 10:
        time.sleep(0.05)
    delay = time.time() - start
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.proc = None
    stop.set()
    for t in threads:
        t.join()
    n_acked = sum(len(v) for v in acked.values())
    d.start()
    n_journal = 0
    lost = []
    differs = []
    for sid in sids:
        journal = d.journal(sid)
        n_journal += len(journal)
        by_seq = {e["seq"]: e["op"] for e in journal}
        assert sorted(by_seq) == list(range(1, len(journal) + 1))
        cut = pending_rewind.get(sid)
        for seq, op in acked[sid].items():
            if cut is not None and len(journal) == cut and seq > cut:
                continue    # the unanswered rewind was done
            if by_seq.get(seq) != op:
                lost.append((sid, seq))
        live = d.json("GET", "/api/v1/sessions/%d" % sid)
        live.pop("id")
        live.pop("name")
        if live != replay_state(journal):
            differs.append(sid)
    print("kill -9 after %.2fs (seed %d): %d ops acknowledged, %d in the "
          "journals after restart, %d acknowledged ops lost, %d of %d sessions "
          "differ from a fresh replay; the load had %d batches, %d snapshots "
          "and %d rewinds" % (delay, seed, n_acked, n_journal, len(lost),
                              len(differs), len(sids), done["batches"],
                              done["snapshots"], done["rewinds"]))

    def every_acknowledged_op_survived():
        assert not lost, lost[:5]

    def every_state_equals_a_fresh_replay():
        assert not differs, differs

    def load_really_ran():
        assert n_acked > 100, n_acked
        assert min(done.values()) > 0, done
    res.run(every_acknowledged_op_survived)
    res.run(every_state_equals_a_fresh_replay)
    res.run(load_really_ran)


def kill_and_restart(d, stop, threads):
    """kill -9 under load; the clients stop, then rmapd starts again."""
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.proc = None
    d.log.close()
    stop.set()
    for t in threads:
        t.join()
    d.start()


def unique_mmap(n):
    """An op no other op of the test repeats: a page mapped at its own
    address (one page apart from the next, so that no two merge)."""
    return {"op": "mmap", "pid": 1, "addr": hex(0x100000000 + 2 * 4096 * n),
            "len": 4096, "prot": "rw-", "flags": ["private", "anonymous", "fixed"]}


def kill9_many_writers_over_many_sessions():
    """32 writers over 64 sessions, each request to a random session (so
    that groups mix sessions and sessions mix writers), single ops and
    batches, every op unique; kill -9 mid-run.  After the restart every
    acknowledged op is in its session's journal, no op is there twice or
    was never sent, seqs run 1..n, and each state equals a fresh replay."""
    writers, nsessions = 32, 64
    d = Daemon(RMAPD, args=["--snapshot-every", "10", "--max-sessions", "1000"])
    try:
        d.start()
        sids = [d.json("POST", "/api/v1/sessions", {"name": "w%d" % i},
                       expect=201)["id"] for i in range(nsessions)]
        for sid in sids:
            d.json("POST", "/api/v1/sessions/%d/ops" % sid, {"op": "spawn"})
        lock = threading.Lock()
        sent, acked = set(), {}
        counter = [0]
        stop = threading.Event()

        def writer(k):
            rng = random.Random(k)
            while not stop.is_set():
                sid = rng.choice(sids)
                with lock:
                    first = counter[0]
                    counter[0] += rng.randint(1, 3)
                    batch = [unique_mmap(n) for n in range(first, counter[0])]
                    sent.update((sid, json.dumps(op, sort_keys=True))
                                for op in batch)
                body = {"ops": batch} if len(batch) > 1 else batch[0]
                try:
                    reply = d.json("POST", "/api/v1/sessions/%d/ops" % sid, body)
                except Exception:  # noqa: BLE001 - the daemon was killed
                    return
                with lock:
                    for r in reply["results"]:
                        acked[(sid, r["seq"])] = r["op"]

        threads = [threading.Thread(target=writer, args=(k,))
                   for k in range(writers)]
        for t in threads:
            t.start()
        start = time.time()
        while len(acked) < 300 and time.time() < start + 20:
            time.sleep(0.02)
        time.sleep(random.uniform(0.1, 0.5))
        kill_and_restart(d, stop, threads)
        lost, doubled, unsent, differs, total = [], [], [], [], 0
        for sid in sids:
            journal = d.journal(sid)
            total += len(journal)
            assert [e["seq"] for e in journal] == list(range(1, len(journal) + 1))
            seen = set()
            for e in journal[1:]:
                key = json.dumps(e["op"], sort_keys=True)
                if key in seen:
                    doubled.append((sid, e["seq"]))
                seen.add(key)
                if (sid, key) not in sent:
                    unsent.append((sid, e["seq"]))
            by_seq = {e["seq"]: e["op"] for e in journal}
            lost += [(s, q) for (s, q), op in acked.items()
                     if s == sid and by_seq.get(q) != op]
            if d.state(sid) != replay_state(journal):
                differs.append(sid)
        print("%d writers over %d sessions, kill -9 after %.2fs: %d ops "
              "acknowledged, %d in the journals, %d lost, %d doubled, %d never "
              "sent, %d sessions differ from a replay" % (
                  writers, nsessions, time.time() - start, len(acked), total,
                  len(lost), len(doubled), len(unsent), len(differs)))
        assert len(acked) >= 300, len(acked)
        assert not lost, lost[:5]
        assert not doubled, doubled[:5]
        assert not unsent, unsent[:5]
        assert not differs, differs
    finally:
        d.cleanup()


def kill9_during_creates_and_clones_leaves_only_whole_sessions():
    """kill -9 while clients create scenario sessions and clone a snapshot,
    three times over: after each restart every session has the whole
    journal it was made with (none is left empty, as a session created in
    one transaction and filled in another would be), and every
    acknowledged one is there."""
    d = Daemon(RMAPD, args=["--snapshot-every", "0", "--max-sessions", "100000"])
    try:
        d.start()
        src = d.json("POST", "/api/v1/sessions", {"name": "src"}, expect=201)["id"]
        base = "/api/v1/sessions/%d" % src
        d.json("POST", base + "/ops", {"ops": [{"op": "spawn"}] * 30})
        d.json("POST", base + "/snapshots", {"name": "s"}, expect=201)
        lesson = d.json("GET", "/api/v1/scenarios/fork-cow")
        want = {"clone": 30, "scenario": sum(1 for s in lesson["steps"] if "op" in s)}
        acked = {}
        rng = random.Random()
        for _ in range(3):
            stop = threading.Event()

            def client(k):
                while not stop.is_set():
                    try:
                        if k % 2:
                            st, j = d.request("POST", "/api/v1/sessions",
                                              {"scenario": "fork-cow"})[:2]
                            kind = "scenario"
                        else:
                            st, j = d.request("POST", base + "/snapshots/s/clone")[:2]
                            kind = "clone"
                    except Exception:  # noqa: BLE001 - the daemon was killed
                        return
                    if st == 201:
                        acked[j["id"]] = kind
            threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
            for t in threads:
                t.start()
            n = len(acked)
            deadline = time.time() + rng.uniform(0.3, 1.0)
            while time.time() < deadline or (len(acked) == n and
                                             time.time() < deadline + 10):
                time.sleep(0.02)
            kill_and_restart(d, stop, threads)
            listed = {s["id"]: s for s in d.json("GET", "/api/v1/sessions")}
            assert set(acked) <= set(listed), set(acked) - set(listed)
            for sid, s in listed.items():
                if sid == src:
                    continue
                kind = "scenario" if s["name"] == "fork-cow" else "clone"
                assert s["version"] == want[kind], s
                assert len(d.journal(sid)) == want[kind], s
        assert len(acked) > 20, len(acked)
        print("%d sessions made across three kill -9s, none half-made" % len(acked))
    finally:
        d.cleanup()


def main():
    res = Results()
    d = Daemon(RMAPD, args=["--snapshot-every", "25"])
    try:
        kill9_under_load(d, res)
    finally:
        d.cleanup()
    res.run(kill9_many_writers_over_many_sessions)
    res.run(snapshot_beyond_the_journal_is_not_used)
    res.run(kill9_during_creates_and_clones_leaves_only_whole_sessions)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
