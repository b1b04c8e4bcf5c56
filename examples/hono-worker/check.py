#!/usr/bin/env python3
"""Checks the example worker after a load run (used by scripts/test-workerd.sh).

    python3 check.py BASE METRICS_BEFORE.txt LOAD1.json LOAD2.json WASM_AFTER_WARMUP

BASE is the worker's loopback URL; METRICS_BEFORE.txt its /metrics text before
the load; LOAD1.json / LOAD2.json the summaries load.mjs wrote for the warm-up
and the measured phase; WASM_AFTER_WARMUP the Wasm memory size read between
them. Prints one line per check and exits 1 if any failed.
"""
import json
import subprocess
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ROUTE_PATTERNS = {
    "/",
    "/api/moods/:userId",
    "/api/boom",
    "/api/cache/stats",
    "/api/tiered/moods/:userId",
    "/api/tiered/stats",
    "/api/clock",
    "/api/health/memory",
    "/metrics",
    "/api/monitoring/metrics",
    "/metrics/fleet",
    "/api/fleet/flush",
}
ALLOWED_PROMTOOL_REMARKS = {
    "response_time_ms metric names should not contain abbreviated units",
}
# Requests matching no route are labelled with the middleware's pattern.
FALLBACK_PATTERNS = {"*", "/*"}

base, before_path, load1_path, load2_path, wasm_after_warmup = sys.argv[1:6]
wasm_after_warmup = int(wasm_after_warmup)
passed = 0
failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"  ok   {what}")
    else:
        failed += 1
        print(f"  FAIL {what}{': ' + detail if detail else ''}")


def fetch(path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def samples(text):
    """{(name, frozenset(labels)): value} of every sample in the text."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(smp, name, **labels):
    return smp.get((name, frozenset(labels.items())), 0.0)


load1 = json.load(open(load1_path))
load2 = json.load(open(load2_path))
before = samples(open(before_path).read())

# 1. Every response was right, within the time limit.
for name, ld in (("warm-up", load1), ("measured", load2)):
    check(ld["wrong"] == 0, f"{name} load: all {ld['sent']} responses correct", json.dumps(ld["wrong_examples"]))
    check(not ld["timed_out"], f"{name} load: finished within its time limit")
distinct = load1["distinct_users"] + load2["distinct_users"]
check(distinct >= 2000, f"load used {distinct} distinct user ids (>= 2000)")
invalidated = load1["post_then_get_miss"] + load2["post_then_get_miss"]
check(invalidated > 0, f"POST invalidated the user's cached moods ({invalidated} reads after a POST missed)")

# 2. The cache never held more than its bound.
all_samples = load1["samples"] + load2["samples"]
bound = all_samples[-1]["cache_max_entries"]
max_seen = max(s["cache_size"] for s in all_samples)
check(max_seen <= bound, f"cache size never above its bound ({max_seen} <= {bound}, {len(all_samples)} samples)")
status, _, body = fetch("/api/cache/stats")
stats = json.loads(body)
check(stats["total_entries"] == bound, f"cache full at its bound after the load ({stats['total_entries']})")
check(stats["evictions"] > 0, f"evictions happened ({stats['evictions']})")

# 3. Wasm memory stopped growing after warm-up.
grown = [s["wasm_memory_bytes"] for s in load2["samples"] if s["wasm_memory_bytes"] != wasm_after_warmup]
check(
    not grown,
    f"Wasm memory flat after warm-up ({wasm_after_warmup} bytes over {len(load2['samples'])} samples)",
    f"grew to {sorted(set(grown))}",
)

# 4. The exposition: content type, both routes, parsers.
for path in ("/metrics", "/api/monitoring/metrics"):
    status, ctype, text = fetch(path)
    check(status == 200 and ctype == PROMETHEUS_CONTENT_TYPE, f"GET {path}: 200, {ctype}")
    try:
        fams = list(text_string_to_metric_families(text))
        check(len(fams) > 0, f"GET {path}: prometheus_client parses {len(fams)} families")
    except Exception as e:  # noqa: BLE001
        check(False, f"GET {path}: prometheus_client parses it", repr(e))
    # promtool exits 0 when clean, 3 with lint remarks only, 1 when the text
    # does not parse. The only remark allowed: the unit in the name the
    # original MoodMash module defined (kept for drop-in compatibility); the
    # package's own histogram is in seconds, as Prometheus asks.
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    remarks = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
    unexpected = [l for l in remarks if l not in ALLOWED_PROMTOOL_REMARKS]
    check(
        r.returncode in (0, 3) and not unexpected,
        f"GET {path}: promtool check metrics (exit {r.returncode}, {len(remarks)} allowed remarks)",
        "\n".join(unexpected)[:800],
    )
after = samples(text)

# 5. Error counts match the errors sent.
errors_sent = load1["errors_sent"] + load2["errors_sent"]
d_err = value(after, "http_errors_total", method="GET", path="/api/boom", error="TypeError") - value(
    before, "http_errors_total", method="GET", path="/api/boom", error="TypeError"
)
check(d_err == errors_sent, f"http_errors_total for /api/boom rose by the {errors_sent} errors sent ({d_err:g})")
other_errors = [
    (n, dict(l), v) for (n, l), v in after.items()
    if n == "http_errors_total" and dict(l).get("path") not in (None, "/api/boom") and v > 0
]
check(not other_errors, "no other route counted an error", str(other_errors[:5]))
d_boom = value(after, "http_requests_total", method="GET", path="/api/boom") - value(
    before, "http_requests_total", method="GET", path="/api/boom"
)
check(d_boom == errors_sent, f"http_requests_total for /api/boom rose by {errors_sent} ({d_boom:g})")
gets = sum(ld["gets"] + 2 * ld["posts"] for ld in (load1, load2))
posts = sum(ld["posts"] for ld in (load1, load2))
d_get = value(after, "http_requests_total", method="GET", path="/api/moods/:userId") - value(
    before, "http_requests_total", method="GET", path="/api/moods/:userId"
)
d_post = value(after, "http_requests_total", method="POST", path="/api/moods/:userId") - value(
    before, "http_requests_total", method="POST", path="/api/moods/:userId"
)
check(d_get == gets, f"GET /api/moods/:userId counted {d_get:g} times (sent {gets})")
check(d_post == posts, f"POST /api/moods/:userId counted {d_post:g} times (sent {posts})")

# 6. Route labels are patterns, never raw paths.
paths = {dict(l).get("path") for (n, l) in after if n in ("http_requests_total", "http_errors_total")}
paths.discard(None)
raw = sorted(p for p in paths if p not in ROUTE_PATTERNS | FALLBACK_PATTERNS)
check(not raw, f"path labels are route patterns: {sorted(paths)}", f"raw paths: {raw[:5]}")
status, _, body = fetch("/api/clock")
clock = json.loads(body)
check(
    status == 200 and clock == {"before": "v", "after": None},
    "per-turn clock: a 50 ms entry is served before a 60 ms timer and never after it",
    str(clock),
)
status, _, body = fetch("/api/health/memory")
mem = json.loads(body)
check(
    mem["metrics_series_count"] < 60,
    f"metrics series stay few after {distinct} distinct users ({mem['metrics_series_count']})",
)
check(mem["traps"] == 0, "no Wasm trap in production")

print(f"  {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
