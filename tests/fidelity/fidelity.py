"""The fidelity suite: each scenario on the real kernel (kernel_runner) and
through rmapd (`rmapd run --observe`), compared; prints every difference and
`fidelity: N/M scenarios agree`, and fails unless all agree."""
import argparse
import glob
import json
import os
import subprocess
import tempfile
import sys

from compare import compare


# The runner reserves [WINDOW, WINDOW + WINDOW_SIZE) in every process it
# starts (kernel_runner.c: WIN_START, WIN_END); a scenario names regions as
# offsets inside it and gives every address as "region" or "region+0xN".
WINDOW = 0x200000000000
WINDOW_SIZE = 0x40000000


def resolve(scenario):
    """The scenario with each region-relative address made absolute: the op
    format the API, `rmapd run` and the kernel runner all take."""
    regions = {}
    for name, off in scenario.get("regions", {}).items():
        off = int(off, 0)
        if not 0 <= off < WINDOW_SIZE:
            raise ValueError("region %s is outside the runner's window" % name)
        regions[name] = WINDOW + off

    def absolute(v):
        name, _, rest = v.partition("+")
        if name not in regions:
            raise ValueError("address %r names no region of the scenario" % v)
        return "0x%x" % (regions[name] + (int(rest, 0) if rest else 0))
    ops = []
    for op in scenario["ops"]:
        op = dict(op)
        for key in ("addr", "new_addr"):
            if isinstance(op.get(key), str):
                op[key] = absolute(op[key])
        ops.append(op)
    return {"name": scenario["name"], "ops": ops,
            "config": {"overcommit_memory": machine_overcommit()}}


def machine_overcommit():
    """vm.overcommit_memory of this machine: it decides whether MAP_NORESERVE
    leaves VM_ACCOUNT off (modes 0 and 1) or is ignored (2), so rmapd runs
    with the same mode."""
    with open("/proc/sys/vm/overcommit_memory") as f:
        return int(f.read())


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), out.stderr.strip()[-500:]))
    return json.loads(out.stdout)


PROBE = {"name": "probe", "regions": {"a": "0x0"}, "ops": [
    {"op": "spawn"},
    {"op": "mmap", "pid": 1, "addr": "a", "len": 4096, "prot": "rw-",
     "flags": ["private", "anonymous", "fixed"]},
    {"op": "access", "pid": 1, "addr": "a", "write": False}]}


def write_resolved(scenario):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(resolve(scenario), f)
    return f.name


def kernel_has_zero_page(runner):
    """Probe once: does an anonymous read map the zero page here?"""
    path = write_resolved(PROBE)
    try:
        obs = run([runner, path])
    finally:
        os.unlink(path)
    return obs["observations"][-1]["processes"][0]["pages"][0]["frame"] == "Z"


def can_observe():
    """The runner reads /proc/kpagecount and /proc/kpageflags: root only.
    None when it can, else why not."""
    for probe in ("/proc/kpagecount", "/proc/kpageflags"):
        try:
            with open(probe, "rb") as f:
                f.read(8)
        except OSError as e:
            return "cannot read %s (%s): the fidelity suite needs root" % (probe, e)
    return None


def rmapd_zero_flag(zero):
    return "--zero-page" if zero else "--no-zero-page"


def sides(scenario, runner, rmapd, zero):
    """What the kernel and what rmapd show for one scenario (their
    observation documents).  Raises when either side cannot run it."""
    resolved = write_resolved(scenario)
    try:
        kernel = run([runner, resolved])
        sim = run([rmapd, "run", "--observe", rmapd_zero_flag(zero), resolved])
    finally:
        os.unlink(resolved)
    return kernel, sim


def play(scenario, runner, rmapd, zero):
    """Run one scenario on the kernel and through rmapd and compare: the
    differences in words, none when they agree."""
    kernel, sim = sides(scenario, runner, rmapd, zero)
    return compare(scenario, kernel, sim)


def kernel_unstable(scenario, runner, first, repeat):
    """Replay the kernel side repeat-1 more times: a difference from the
    first answer (in words), or None when every run gave the same."""
    path = write_resolved(scenario)
    try:
        for i in range(2, repeat + 1):
            again = run([runner, path])
            diffs = compare(scenario, first, again, ("run 1", "run %d" % i))
            if diffs:
                return "the kernel's answer changed: " + "; ".join(diffs)
    finally:
        os.unlink(path)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runner", required=True)
    ap.add_argument("--rmapd", required=True)
    ap.add_argument("--repeat", type=int, default=1,
                    help="run the kernel side N times and fail if its answer ever changes")
    ap.add_argument("scenarios", nargs="*")
    a = ap.parse_args()
    files = a.scenarios or sorted(glob.glob(os.path.join(os.path.dirname(__file__), "scenarios", "*.json")))
    why = can_observe()
    if why:
        print(why + "; failing")
        print("fidelity: 0/%d scenarios agree" % len(files))
        print("0 passed, %d failed" % len(files))
        return 1
    zero = kernel_has_zero_page(a.runner)
    print("this kernel %s the zero page on anonymous reads; rmapd runs with %s" % (
        "maps" if zero else "does not map", rmapd_zero_flag(zero)))
    agree = 0
    for path in files:
        with open(path) as f:
            scenario = json.load(f)
        try:
            kernel, sim = sides(scenario, a.runner, a.rmapd, zero)
            diffs = compare(scenario, kernel, sim)
            unstable = kernel_unstable(scenario, a.runner, kernel, a.repeat)
            if unstable:
                diffs.append(unstable)
        except Exception as e:  # noqa: BLE001 - a broken scenario is a failure
            diffs = ["could not run: %s" % e]
        if diffs:
            print("FAIL %s" % scenario["name"])
            for d in diffs:
                print("     " + d)
        else:
            agree += 1
            print("ok   %s" % scenario["name"])
    print("fidelity: %d/%d scenarios agree" % (agree, len(files)))
    print("%d passed, %d failed" % (agree, len(files) - agree))
    return 0 if agree == len(files) else 1


if __name__ == "__main__":
    sys.exit(main())
