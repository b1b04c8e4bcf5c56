"""Seeded synthetic request traces for the hit-ratio benchmark (no downloads).

Each trace is a sequence of object ids (uint32, little-endian) written to
<dir>/<name>.bin. Names and shapes:
  zipf-0.6 ... zipf-1.2   Zipf popularity over a fixed universe
  zipf-scan               Zipf 0.8 with a one-pass scan of new ids every 100k requests
  shifting                Zipf 1.0 whose popular set moves every 100k requests
  loop-<c>                a loop over 1.1 x c ids (one per capacity c)
  mix                     Zipf 0.9, scans and a loop interleaved
Usage: python3 traces.py DIR [--requests N] [--capacities 1000,10000,100000]
"""
import argparse
import bisect
import os
import random
import struct

UNIVERSE = 1_000_000
SEED = 20261201


def zipf_sampler(rng, alpha, n):
    weights = [1.0 / (i + 1) ** alpha for i in range(n)]
    total = sum(weights)
    cdf, acc = [], 0.0
    for w in weights:
        acc += w / total
        cdf.append(acc)
    cdf[-1] = 1.0
    # A fixed random permutation: popular ids are not the small ones.
    perm = list(range(n))
    rng.shuffle(perm)
    return lambda: perm[bisect.bisect_left(cdf, rng.random())]


def zipf(alpha, requests, seed):
    rng = random.Random(seed)
    draw = zipf_sampler(rng, alpha, UNIVERSE)
    return [draw() for _ in range(requests)]


def zipf_scan(requests, seed):
    rng = random.Random(seed)
    draw = zipf_sampler(rng, 0.8, UNIVERSE)
    out, next_new = [], UNIVERSE
    while len(out) < requests:
        for _ in range(80_000):
            out.append(draw())
        for _ in range(20_000):  # a one-pass scan of ids never seen again
            out.append(next_new)
            next_new += 1
    return out[:requests]


def shifting(requests, seed):
    rng = random.Random(seed)
    draw = zipf_sampler(rng, 1.0, UNIVERSE)
    out = []
    for i in range(requests):
        phase = i // 100_000
        out.append((draw() + phase * 7_919) % UNIVERSE)  # the popular set moves
    return out


def loop(capacity, requests):
    n = int(capacity * 1.1)
    return [UNIVERSE + (i % n) for i in range(requests)]


def mix(requests, seed):
    rng = random.Random(seed)
    draw = zipf_sampler(rng, 0.9, UNIVERSE)
    out, scan_next, loop_i = [], 2 * UNIVERSE, 0
    while len(out) < requests:
        r = rng.random()
        if r < 0.7:
            out.append(draw())
        elif r < 0.85:
            out.append(3 * UNIVERSE + loop_i % 5_500)
            loop_i += 1
        else:
            out.append(scan_next)
            scan_next += 1
    return out


def traces(requests, capacities):
    yield "zipf-0.6", zipf(0.6, requests, SEED)
    yield "zipf-0.8", zipf(0.8, requests, SEED + 1)
    yield "zipf-1.0", zipf(1.0, requests, SEED + 2)
    yield "zipf-1.2", zipf(1.2, requests, SEED + 3)
    yield "zipf-scan", zipf_scan(requests, SEED + 4)
    yield "shifting", shifting(requests, SEED + 5)
    yield "mix", mix(requests, SEED + 6)
    for c in capacities:
        yield f"loop-{c}", loop(c, requests)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--capacities", default="1000,10000,100000")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    caps = [int(x) for x in a.capacities.split(",")]
    for name, ids in traces(a.requests, caps):
        if a.only and name not in a.only.split(","):
            continue
        with open(os.path.join(a.dir, name + ".bin"), "wb") as f:
            f.write(struct.pack(f"<{len(ids)}I", *ids))
        print(f"  trace {name}: {len(ids)} requests", flush=True)


if __name__ == "__main__":
    main()
