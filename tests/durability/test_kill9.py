"""kill -9 of rmapd at a random moment under load from many clients, then a
restart on the same database: every acknowledged operation is in its
session's journal, unchanged, and each session's state equals a fresh
replay of its journal."""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
from load import processes, random_op  # noqa: E402
from rmapd_client import Daemon, Results  # noqa: E402

RMAPD = sys.argv[1]
SESSIONS = 8
CLIENTS = 16


def journal_of(d, sid):
    out, frm = [], 0
    while True:
        page = d.json("GET", "/api/v1/sessions/%d/ops?from=%d&limit=1000" % (sid, frm))
        out += page["ops"]
        if page["next"] is None:
            return out
        frm = page["next"]


def replay_state(journal):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"ops": [e["op"] for e in journal]}, f)
    out = subprocess.run([RMAPD, "run", f.name], capture_output=True, check=True)
    os.unlink(f.name)
    return json.loads(out.stdout)["state"]


def main():
    seed = int(os.environ.get("KILL9_SEED", random.SystemRandom().randrange(1 << 30)))
    rng = random.Random(seed)
    d = Daemon(RMAPD, args=["--snapshot-every", "25"]).start()
    sids = [d.json("POST", "/api/v1/sessions", {"name": "k%d" % i}, expect=201)["id"]
            for i in range(SESSIONS)]
    for sid in sids:
        d.json("POST", "/api/v1/sessions/%d/ops" % sid, {"op": "spawn"})
    acked = {sid: {1: {"op": "spawn"}} for sid in sids}
    lock = threading.Lock()
    stop = threading.Event()

    def client(i):
        crng = random.Random(seed + i)
        sid = sids[i % SESSIONS]
        while not stop.is_set():
            # sessions are shared by two clients: keep to ops valid for pid 1
            op = random_op(crng, 1)
            if op["op"] in ("spawn", "fork"):
                op = {"op": "access", "pid": 1, "addr": "0x7f0000001000", "write": True}
            try:
                r = d.json("POST", "/api/v1/sessions/%d/ops" % sid, op)
            except Exception:  # noqa: BLE001 - the daemon was killed
                return
            res = r["results"][0]
            with lock:
                acked[sid][res["seq"]] = res["op"]

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    delay = rng.uniform(0.5, 2.5)
    time.sleep(delay)
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.proc = None
    stop.set()
    for t in threads:
        t.join()
    n_acked = sum(len(v) for v in acked.values())
    d.start()
    res = Results()
    n_journal = 0
    lost = []
    differs = []
    for sid in sids:
        journal = journal_of(d, sid)
        n_journal += len(journal)
        by_seq = {e["seq"]: e["op"] for e in journal}
        assert sorted(by_seq) == list(range(1, len(journal) + 1))
        for seq, op in acked[sid].items():
            if by_seq.get(seq) != op:
                lost.append((sid, seq))
        live = d.json("GET", "/api/v1/sessions/%d" % sid)
        live.pop("id")
        live.pop("name")
        if live != replay_state(journal):
            differs.append(sid)
    print("kill -9 after %.2fs (seed %d): %d ops acknowledged, %d in the "
          "journals after restart, %d acknowledged ops lost, %d of %d sessions "
          "differ from a fresh replay" % (delay, seed, n_acked, n_journal,
                                          len(lost), len(differs), SESSIONS))

    def every_acknowledged_op_survived():
        assert not lost, lost[:5]

    def every_state_equals_a_fresh_replay():
        assert not differs, differs

    def load_really_ran():
        assert n_acked > 100, n_acked
    res.run(every_acknowledged_op_survived)
    res.run(every_state_equals_a_fresh_replay)
    res.run(load_really_ran)
    d.cleanup()
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
