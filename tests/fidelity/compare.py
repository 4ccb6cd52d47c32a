"""Compare what the kernel showed with what rmapd computed, and say every
difference in words.  Frames are compared by which (pid, page) share them,
never by their class names."""


def _pages(proc):
    return {p["addr"]: p for p in proc["pages"]}


def _groups(obs):
    """frame class -> sorted list of (pid, addr) that map it"""
    g = {}
    for proc in obs["processes"]:
        for p in proc["pages"]:
            if p.get("present") and "frame" in p:
                g.setdefault(p["frame"], []).append((proc["pid"], p["addr"]))
    return g


def _sharers(obs, frame_of):
    g = _groups(obs)
    return {key: sorted(g.get(cls, [])) for key, cls in frame_of.items()}


def _vmas_text(vmas):
    return "[" + ", ".join("%s-%s %s%s%s%s" % (v["start"], v["end"], v["prot"],
                                              "s" if v["shared"] else "p",
                                              " " + v["file"] if v["file"] else "",
                                              "".join(" " + f for f in v.get("flags", [])))
                           for v in vmas) + "]"


def compare(scenario, kernel, sim, names=("kernel", "rmapd")):
    """Every difference between two observation documents, in words; the
    two sides are called by `names` (the kernel and rmapd, or two runs of
    the kernel)."""
    ka, sa = names
    ops = scenario["ops"]
    diffs = []

    def opname(i):
        return "op %d (%s)" % (i, ops[i]["op"]) if 0 <= i < len(ops) else "the start"
    kres = {r["index"]: r for r in kernel["results"]}
    sres = {r["index"]: r for r in sim["results"]}
    for i in sorted(set(kres) | set(sres)):
        k, s = kres.get(i, {}).get("result"), sres.get(i, {}).get("result")
        if k != s:
            diffs.append("%s: %s returned %s, %s %s" % (opname(i), ka, k, sa, s))
    if len(kernel["observations"]) != len(sim["observations"]):
        diffs.append("%s made %d observations, %s %d" % (
            ka, len(kernel["observations"]), sa, len(sim["observations"])))
    for ko, so in zip(kernel["observations"], sim["observations"]):
        when = "after " + opname(ko["after"])
        kp = {p["pid"]: p for p in ko["processes"]}
        sp = {p["pid"]: p for p in so["processes"]}
        if set(kp) != set(sp):
            diffs.append("%s: %s has pids %s, %s %s" % (when, ka, sorted(kp), sa, sorted(sp)))
        kframe, sframe = {}, {}
        for pid in sorted(set(kp) & set(sp)):
            if kp[pid]["vmas"] != sp[pid]["vmas"]:
                diffs.append("%s, pid %d: %s has VMAs %s, %s has %s" % (
                    when, pid, ka, _vmas_text(kp[pid]["vmas"]), sa, _vmas_text(sp[pid]["vmas"])))
                continue
            kpg, spg = _pages(kp[pid]), _pages(sp[pid])
            for addr in kpg:
                k, s = kpg[addr], spg.get(addr, {})
                where = "%s, pid %d, page %s" % (when, pid, addr)
                if k.get("present") != s.get("present"):
                    diffs.append("%s: %s %s, %s %s" % (
                        where, ka, "maps it" if k.get("present") else "has no page", sa,
                        "maps it" if s.get("present") else "has no page"))
                    continue
                if k.get("swapped") != s.get("swapped"):
                    diffs.append("%s: swapped in the %s %s, in %s %s" % (
                        where, ka, k.get("swapped"), sa, s.get("swapped")))
                if not k.get("present"):
                    continue
                for field, what in (("mapcount", "mapcount"), ("exclusive", "mapped exclusively"),
                                    ("anon", "anonymous")):
                    if k.get(field) != s.get(field):
                        diffs.append("%s: %s is %s in the %s, %s in %s" % (
                            where, what, k.get(field), ka, s.get(field), sa))
                if (k["frame"] == "Z") != (s["frame"] == "Z"):
                    first, other = (ka, sa) if k["frame"] == "Z" else (sa, ka)
                    diffs.append("%s: %s maps the zero page, %s a page" % (where, first, other))
                kframe[(pid, addr)] = k["frame"]
                sframe[(pid, addr)] = s["frame"]
        ksh, ssh = _sharers(ko, kframe), _sharers(so, sframe)
        for key in sorted(kframe):
            kothers = [x for x in ksh[key] if x != key]
            sothers = [x for x in ssh[key] if x != key]
            if kothers != sothers:
                fmt = lambda xs: ", ".join("pid %d page %s" % x for x in xs) or "nobody"
                diffs.append("%s, pid %d, page %s: %s shares the frame with %s, "
                             "%s with %s" % (when, key[0], key[1], ka, fmt(kothers), sa, fmt(sothers)))
    return diffs
