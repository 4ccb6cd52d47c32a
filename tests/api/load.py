"""Random but always well-formed operations, for load and durability
tests: each client keeps a few processes busy in one session."""
import random

A = 0x7f0000000000


def random_op(rng, nprocs):
    pid = rng.randint(1, max(1, nprocs))
    addr = A + 4096 * rng.randrange(16)
    r = rng.random()
    if nprocs == 0 or r < 0.04:
        return {"op": "spawn"}
    if r < 0.20:
        return {"op": "mmap", "pid": pid, "addr": hex(A + 4096 * rng.randrange(12)),
                "len": 4096 * rng.randint(1, 4), "prot": rng.choice(["rw-", "r--"]),
                "flags": ["private", "anonymous", "fixed"]}
    if r < 0.26 and nprocs < 6:
        return {"op": "fork", "pid": pid}
    if r < 0.30:
        return {"op": "mprotect", "pid": pid, "addr": hex(addr), "len": 8192,
                "prot": rng.choice(["rw-", "r--"])}
    if r < 0.33:
        return {"op": "munmap", "pid": pid, "addr": hex(addr), "len": 4096}
    return {"op": "access", "pid": pid, "addr": hex(addr + rng.randrange(4096)),
            "write": rng.random() < 0.6}


def processes(result, nprocs):
    """Track the process count from one op's result."""
    op = result["op"]["op"]
    if op == "spawn" or (op == "fork" and result.get("child")):
        return nprocs + 1
    return nprocs
