"""The fidelity scenarios through a daemon: the suite compares the real
kernel with `rmapd run`; here each scenario's ops go to a running rmapd
(POST /api/v1/sessions, then one batch) on either backend
(RMAPD_TEST_BACKEND), and the state it serves must be the very state
`rmapd run` gives for them - live, and again after a restart, rebuilt
from the database (snapshots every 3 ops, plus the journal's replay).
So what the kernel was compared with is what a daemon on that backend
serves.  Needs no root: the kernel is not run here."""
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
from fidelity import machine_overcommit, resolve  # noqa: E402
from rmapd_client import Daemon, run_state  # noqa: E402

RMAPD = sys.argv[1]


def scenarios():
    for path in sorted(glob.glob(os.path.join(HERE, "scenarios", "*.json"))):
        with open(path) as f:
            scenario = json.load(f)
        # observe is `rmapd run --observe`'s own step, not an op
        ops = [op for op in resolve(scenario)["ops"] if op["op"] != "observe"]
        yield scenario["name"], ops


def main():
    config = {"overcommit_memory": machine_overcommit(), "zero_page": True}
    d = Daemon(RMAPD, args=["--snapshot-every", "3"]).start()
    failed, sessions = [], {}
    try:
        for name, ops in scenarios():
            sid = d.json("POST", "/api/v1/sessions", dict(name=name, **config),
                         expect=201)["id"]
            d.json("POST", "/api/v1/sessions/%d/ops" % sid, {"ops": ops})
            sessions[name] = (sid, run_state(RMAPD, ops, config))
        for when in ("live", "after a restart"):
            for name, (sid, want) in sessions.items():
                if d.state(sid) != want:
                    failed.append("%s (%s)" % (name, when))
            if when == "live":
                d.stop()
                d.start()
    finally:
        d.cleanup()
    for f in failed:
        print("FAIL " + f)
    print("through the daemon: %d/%d scenarios serve the state `rmapd run` "
          "gives, live and after a restart" % (len(sessions) - len(
              {f.split(" (")[0] for f in failed}), len(sessions)))
    return 1 if failed or not sessions else 0


if __name__ == "__main__":
    sys.exit(main())
