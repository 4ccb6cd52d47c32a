"""Differential testing: random scenarios, each played on the machine's kernel
and through rmapd exactly as the fidelity suite plays its own (fidelity.play,
compare.py).  A scenario that disagrees is shrunk (ops dropped while it still
disagrees) and written as a scenario file the suite can keep.

    differential.py --runner R --rmapd D [--seed S] [--count N] [--ops K]
                    [--out DIR] [--quiet]

Scenario i of a run is generated from seed S+i alone, so `--seed S+i
--count 1` replays it.  Exit status 0 when every scenario agreed, 1 when one
disagreed or could not be run."""
import argparse
import json
import os
import random
import subprocess
import sys
import time

import fidelity

# what a side that cannot run a scenario raises (fidelity.run): a failed
# command, output that is not JSON, a time-out
CANNOT_RUN = (RuntimeError, ValueError, subprocess.TimeoutExpired)

PAGE = 0x1000
# Every address falls in a zone of ZONE pages of the runner's window: small
# enough that mappings keep meeting (merges, splits, moves onto each other),
# large enough for room to move.  It straddles a 2 MiB line, so that page
# tables end there (fault-around stops at PTRS_PER_PTE, mremap moves page
# tables of two PMDs).
ZONE = 48
ZONE_START = 0x200000 - ZONE // 2 * 0x1000
MAX_ALIVE = 6
MAX_PIDS = 30           # the runner's MAX_PROCS is 32
FILE_PAGES = (4, 12)
PROTS = ["rw-", "rw-", "rw-", "r--", "r--", "---", "r-x", "rwx"]
ADVICE = ["dontfork", "dofork", "wipeonfork", "keeponfork", "dontneed"]


class Gen:
    """A random scenario, op by op.  It does not predict outcomes, so
    refused calls (EINVAL, ENOMEM, EFAULT, SIGSEGV...) are generated and
    compared too; but it remembers, per process, the ranges it asked to map
    (inherited at fork, never forgotten), and aims most addresses at them, so
    that most calls meet memory that is really there: faulted pages shared
    across forks, COW, splits and merges of VMAs that hold pages."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.alive = []
        self.pids = 0
        self.files = {}
        self.hints = {}         # pid -> [(first page, pages)] it mapped

    def addr(self, pid, in_page=True):
        ranges = self.hints.get(pid)
        if ranges and self.r.random() < 0.8:
            first, n = self.r.choice(ranges)
            page = min(ZONE - 1, first + self.r.randrange(n))
        else:
            page = self.r.randrange(ZONE)
        off = page * PAGE
        if in_page and self.r.random() < 0.03:
            off += 0x800        # unaligned: EINVAL for most calls
        return "w+0x%x" % off if off else "w"

    def hint(self, pid, addr, length):
        page = int(addr.partition("+")[2] or "0", 0) // PAGE
        if length:
            self.hints.setdefault(pid, []).append((page, length // PAGE))

    def pages(self, most=8):
        if self.r.random() < 0.02:
            return 0
        return self.r.randint(1, most) * PAGE

    def pid(self):
        return self.r.choice(self.alive)

    def spawn(self):
        self.pids += 1
        self.alive.append(self.pids)
        return {"op": "spawn"}

    def file(self):
        name = "f%d" % len(self.files)
        self.files[name] = self.r.randint(*FILE_PAGES)
        return {"op": "file", "name": name, "pages": self.files[name]}

    def mmap(self, pid=None):
        pid = pid or self.pid()
        kind = self.r.random()
        op = {"op": "mmap", "pid": pid, "addr": self.addr(pid),
              "len": self.pages(), "prot": self.r.choice(PROTS)}
        shared = self.r.random() < 0.3
        flags = ["shared" if shared else "private"]
        if kind < 0.55 or not self.files:
            flags.append("anonymous")
        else:
            name = self.r.choice(sorted(self.files))
            op["file"] = name
            # now and then past the end of the file: SIGBUS on access
            op["offset"] = self.r.randrange(self.files[name] + 2) * PAGE
        flags.append("fixed_noreplace" if self.r.random() < 0.12 else "fixed")
        if self.r.random() < 0.25:
            flags.append("noreserve")
        op["flags"] = flags
        self.hint(pid, op["addr"], op["len"])
        return op

    def access(self):
        pid = self.pid()
        return {"op": "access", "pid": pid, "addr": self.addr(pid, False),
                "write": self.r.random() < 0.6}

    def range_op(self, name):
        pid = self.pid()
        return {"op": name, "pid": pid, "addr": self.addr(pid),
                "len": self.pages()}

    def mprotect(self):
        op = self.range_op("mprotect")
        op["prot"] = self.r.choice(PROTS)
        return op

    def madvise(self):
        op = self.range_op("madvise")
        op["advice"] = self.r.choice(ADVICE)
        return op

    def mremap(self):
        pid = self.pid()
        old = self.r.randint(1, 6) * PAGE
        op = {"op": "mremap", "pid": pid, "addr": self.addr(pid), "old_len": old}
        how = self.r.random()
        if how < 0.2:                           # shrink in place
            op["new_len"] = self.r.randint(0, old // PAGE - 1) * PAGE or PAGE
            op["flags"] = []
        elif how < 0.4:                         # grow in place, or fail
            op["new_len"] = old + self.r.randint(1, 4) * PAGE
            op["flags"] = []
        elif how < 0.8:                         # move, maybe resized
            op["new_len"] = old if self.r.random() < 0.6 else self.r.randint(1, 6) * PAGE
            op["flags"] = ["maymove", "fixed"]
            op["new_addr"] = self.addr(pid)
        else:                                   # move, leaving the old range mapped
            op["new_len"] = old
            op["flags"] = ["maymove", "fixed", "dontunmap"]
            op["new_addr"] = self.addr(pid)
        self.hint(pid, op.get("new_addr", op["addr"]), op["new_len"])
        return op

    def fork(self):
        if len(self.alive) >= MAX_ALIVE or self.pids >= MAX_PIDS:
            return self.access()
        parent = self.pid()
        self.pids += 1
        self.alive.append(self.pids)
        self.hints[self.pids] = list(self.hints.get(parent, []))
        return {"op": "fork", "pid": parent}

    def exit(self):
        if len(self.alive) < 2:
            return self.access()
        pid = self.pid()
        self.alive.remove(pid)
        return {"op": "exit", "pid": pid}

    def one(self):
        # a process with nothing mapped first maps something
        empty = [p for p in self.alive if p not in self.hints]
        if empty and self.r.random() < 0.7:
            return self.mmap(self.r.choice(empty))
        choices = [
            (30, self.access), (15, self.mmap), (7, lambda: self.range_op("munmap")),
            (10, self.mprotect), (10, self.mremap), (9, self.madvise),
            (6, self.fork), (3, self.exit), (4, lambda: {"op": "observe"}),
        ]
        if self.pids < MAX_PIDS and len(self.alive) < MAX_ALIVE:
            choices.append((1, self.spawn))
        x = self.r.uniform(0, sum(w for w, _ in choices))
        for w, f in choices:
            x -= w
            if x < 0:
                return f()
        return choices[0][1]()


def generate(seed, nops):
    g = Gen(seed)
    ops = [g.file() for _ in range(g.r.randint(0, 2))] + [g.spawn()]
    while len(ops) < nops:
        ops.append(g.one())
    return {"name": "differential_seed%d" % seed,
            "description": "found by differential.py --seed %d --ops %d" % (seed, nops),
            "regions": {"w": hex(ZONE_START)}, "ops": ops}


def renumbered(scenario, ops):
    """The scenario with only `ops`, their pids renumbered as the kept spawns
    and forks number them; None when an op names a process that, without the
    dropped ops, does not exist (or no longer does)."""
    pid_map, alive, n = {}, set(), 0
    orig_n = 0
    out = []
    for op in scenario["ops"]:
        kept = any(op is o for o in ops)
        if op["op"] in ("spawn", "fork"):
            orig_n += 1
        if not kept:
            continue
        op = dict(op)
        if "pid" in op:
            if op["pid"] not in pid_map or pid_map[op["pid"]] not in alive:
                return None
            op["pid"] = pid_map[op["pid"]]
        if op["op"] in ("spawn", "fork"):
            n += 1
            pid_map[orig_n] = n
            alive.add(n)
        if op["op"] == "exit":
            alive.discard(op["pid"])
        out.append(op)
    return dict(scenario, ops=out)


def shrink(scenario, disagrees):
    """Delta debugging: drop chunks of ops, halving the chunk, then single
    ops until no single op can be dropped, while the scenario still
    disagrees."""
    ops, best = list(scenario["ops"]), scenario
    chunk = max(1, len(ops) // 2)
    while True:
        i, progress = 0, False
        while i < len(ops):
            trial_ops = ops[:i] + ops[i + chunk:]
            trial = renumbered(scenario, trial_ops)
            if trial is not None and trial["ops"] and disagrees(trial):
                ops, best, progress = trial_ops, trial, True
            else:
                i += chunk
        if chunk == 1 and not progress:
            return best
        chunk = max(1, chunk // 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runner", required=True)
    ap.add_argument("--rmapd", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--ops", type=int, default=30)
    ap.add_argument("--out", help="directory for shrunk scenarios (default: print them)")
    ap.add_argument("--quiet", action="store_true", help="print only disagreements and the tally")
    a = ap.parse_args()
    why = fidelity.can_observe()
    if why:
        print(why + "; failing")
        return 1
    zero = fidelity.kernel_has_zero_page(a.runner)
    print("differential: seeds %d..%d, %d ops each; rmapd runs with %s" % (
        a.seed, a.seed + a.count - 1, a.ops, fidelity.rmapd_zero_flag(zero)))

    def diffs_of(scenario):
        return fidelity.play(scenario, a.runner, a.rmapd, zero)

    def disagrees(scenario):
        try:
            return bool(diffs_of(scenario))
        except CANNOT_RUN:
            return False        # a side could not run it: not the same case

    start = time.time()
    bad = errors = 0
    for seed in range(a.seed, a.seed + a.count):
        scenario = generate(seed, a.ops)
        try:
            diffs = diffs_of(scenario)
        except CANNOT_RUN as e:
            errors += 1
            print("ERROR seed %d could not be run: %s" % (seed, e))
            continue
        if not diffs:
            if not a.quiet:
                print("ok   seed %d" % seed)
            continue
        bad += 1
        small = shrink(scenario, disagrees)
        small["name"] = "differential_seed%d" % seed
        print("DISAGREE seed %d (%d ops, shrunk to %d):" % (seed, len(scenario["ops"]), len(small["ops"])))
        kernel, sim = fidelity.sides(small, a.runner, a.rmapd, zero)
        for d in fidelity.compare(small, kernel, sim):
            print("     " + d)
        # a kernel that answers differently from run to run is the
        # runner's problem, not rmapd's: say so
        unstable = fidelity.kernel_unstable(small, a.runner, kernel, 5)
        if unstable:
            print("     UNSTABLE: " + unstable)
        text = json.dumps(small, indent=1) + "\n"
        if a.out:
            os.makedirs(a.out, exist_ok=True)
            path = os.path.join(a.out, small["name"] + ".json")
            with open(path, "w") as f:
                f.write(text)
            print("     written to %s" % path)
        else:
            print(text)
    print("differential: %d/%d scenarios agree, %d disagree, %d could not be run (%.1f s)" % (
        a.count - bad - errors, a.count, bad, errors, time.time() - start))
    return 0 if not bad and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
