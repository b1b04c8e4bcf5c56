"""Hit ratios of libCacheSim's reference policies on the traces of traces.py.

Usage: python3 reference.py DIR CAPACITY[,CAPACITY...] [POLICY,...] > out.json
Prints {"trace": {"capacity": {"policy": hits}}, ...} with the request count.
"""
import json
import os
import struct
import sys

import libcachesim as lcs

POLICIES = {
    "LRU": lcs.LRU,
    "S3-FIFO": lcs.S3FIFO,
    "W-TinyLFU": lcs.WTinyLFU,
    "ARC": lcs.ARC,
    "SIEVE": lcs.Sieve,
    "Belady": lcs.Belady,
}


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    return struct.unpack(f"<{len(data) // 4}I", data)


def next_access(ids):
    """Belady needs each request's next access time."""
    nxt, seen = [0] * len(ids), {}
    for i in range(len(ids) - 1, -1, -1):
        nxt[i] = seen.get(ids[i], -1)
        seen[ids[i]] = i
    return nxt


def hits(policy, ids, capacity, nxt):
    cache = POLICIES[policy](capacity)
    req = lcs.Request()
    req.obj_size = 1
    h = 0
    for i, x in enumerate(ids):
        req.obj_id = x
        if nxt is not None:
            n = nxt[i]
            req.next_access_vtime = n if n >= 0 else 2**62
        if cache.get(req):
            h += 1
    return h


def main():
    d = sys.argv[1]
    caps = [int(c) for c in sys.argv[2].split(",")]
    policies = sys.argv[3].split(",") if len(sys.argv) > 3 else list(POLICIES)
    only = sys.argv[4].split(",") if len(sys.argv) > 4 else None
    out = {}
    for f in sorted(os.listdir(d)):
        if not f.endswith(".bin"):
            continue
        name = f[:-4]
        if only and name not in only:
            continue
        ids = read(os.path.join(d, f))
        nxt = next_access(ids) if "Belady" in policies else None
        row = out.setdefault(name, {"requests": len(ids)})
        for c in caps:
            if name.startswith("loop-") and int(name[5:]) != c:
                continue
            row[str(c)] = {p: hits(p, ids, c, nxt if p == "Belady" else None) for p in policies}
            print(f"  libCacheSim {name} @ {c}: " + ", ".join(f"{p} {v / len(ids):.4f}" for p, v in row[str(c)].items()), file=sys.stderr, flush=True)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
