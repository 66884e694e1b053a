#!/usr/bin/env bash
# Side-by-side: our pack (bench/pack.py) vs repomix on the same tree, alternating runs.
#
#   bash bench/compare.sh [RUNS] [CORPUS]      CORPUS: corpus (default) or django
#
# Each round runs, each immediately followed by repomix on the same tree:
#   cold     both token caches emptied first (what a first review pays); repomix
#            1.18.1 keeps token counts in a JSON file (default
#            $TMPDIR/repomix/cache/token-counts.json), pointed here by
#            REPOMIX_TOKEN_CACHE_PATH to a file deleted before each cold run
#   warm     same archive again, both caches filled by "cold" (preview, then the
#            worker; for repomix, its second run)
#   changed  corpus-changed.tar.gz (one line added to one file), caches from "warm"
#            (a re-review after a small change); "corpus" only
# Every ratio compares runs made one after the other, under the same machine load.
# Before and after the rounds: uptime, and how much of a second core two GIL-free
# threads get (sha256 of 200 MB each; 2.0x = two free cores).
#
# Needs: the corpora from bench/make_corpus.py and bench/make_real_corpus.py (built
# here if missing) and repomix installed outside the repository:
#   mkdir -p /tmp/repomix && cd /tmp/repomix && npm init -y && npm install repomix@1.18.1
# repomix runs with its defaults, security check (secretlint) ON, on the extracted
# tree; we run on the tar.gz (reading the archive is part of our job).
# BENCH_OUT (default /tmp/bench) holds corpora, caches and logs.
set -euo pipefail
RUNS="${1:-3}"
NAME="${2:-corpus}"
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="${PY:-$HERE/../.venv/bin/python}"
OUT="${BENCH_OUT:-/tmp/bench}"
CACHE="$OUT/token-cache-$NAME"
RCACHE="$OUT/repomix-cache-$NAME"
export REPOMIX_TOKEN_CACHE_PATH="$RCACHE/token-counts.json"
if [ "$NAME" = corpus ]; then
  SCENARIOS="cold warm changed"
  [ -f "$OUT/corpus.tar.gz" ] && [ -f "$OUT/corpus-changed.tar.gz" ] || "$PY" "$HERE/make_corpus.py" "$OUT"
else
  SCENARIOS="cold warm"
  [ -f "$OUT/$NAME.tar.gz" ] || "$PY" "$HERE/make_real_corpus.py" "$OUT"
fi
FMT="wall %e s, cpu user %U s + sys %S s, peak RSS %M KB"
cores() {
  "$PY" -c '
import hashlib, threading, time
d = b"x" * 200_000_000
f = lambda: hashlib.sha256(d).digest()
t = time.perf_counter(); f(); one = time.perf_counter() - t
ts = [threading.Thread(target=f) for _ in range(2)]
t = time.perf_counter(); [x.start() for x in ts]; [x.join() for x in ts]
print(f"two GIL-free threads: {2 * one / (time.perf_counter() - t):.2f}x of one core")'
}
uptime; cores
for i in $(seq 1 "$RUNS"); do
  rm -rf "$CACHE" "$RCACHE"
  for scen in $SCENARIOS; do
    tree=$NAME; [ "$scen" = changed ] && tree=corpus-changed
    /usr/bin/time -f "ours    $scen run $i: $FMT" \
      "$PY" "$HERE/pack.py" "$OUT/$tree.tar.gz" --cache-dir "$CACHE" \
      > "$OUT/ours.$NAME.$scen.$i.log" 2> "$OUT/ours.$NAME.$scen.$i.time"
    tail -1 "$OUT/ours.$NAME.$scen.$i.time"
    rm -f "$OUT/repomix-out.xml"
    (cd "$OUT/$tree" && /usr/bin/time -f "repomix $scen run $i: $FMT" \
      npx --prefix /tmp/repomix repomix --output "$OUT/repomix-out.xml" \
      > "$OUT/repomix.$NAME.$scen.$i.log" 2> "$OUT/repomix.$NAME.$scen.$i.time")
    tail -1 "$OUT/repomix.$NAME.$scen.$i.time"
  done
done
uptime; cores
echo "--- ours (last cold run)"; cat "$OUT/ours.$NAME.cold.$RUNS.log"
echo "--- ours (last warm run)"; tail -5 "$OUT/ours.$NAME.warm.$RUNS.log"
echo "--- repomix (last cold run)"; grep -E "Total (Files|Tokens|Chars)|Security|suspicious" "$OUT/repomix.$NAME.cold.$RUNS.log" || true
# Medians per scenario: ours wall, repomix wall, median of the per-pair ratios.
"$PY" - "$OUT" "$RUNS" "$NAME" "$SCENARIOS" <<'PYEOF'
import re, statistics, sys
out, runs, name, scenarios = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split()
def parse(path):
    m = re.search(r"wall ([\d.]+) s, cpu user ([\d.]+) s \+ sys ([\d.]+) s, peak RSS (\d+) KB", open(path).read())
    return float(m[1]), float(m[2]) + float(m[3]), int(m[4]) / 1024
def tree_mb(path):
    # pack.py's bound for this process + its worker processes (largest child x children).
    m = re.search(r"this process \+ children <= (\d+)\)", open(path).read())
    return int(m[1]) if m else None
print(f"{'scenario':8} {'ours wall':>10} {'ours cpu':>9} {'ours RSS':>9} {'+workers':>9} {'repomix wall':>13} {'repomix cpu':>12} {'repomix RSS':>12} {'ours/repomix':>13}")
for scen in scenarios:
    o = [parse(f"{out}/ours.{name}.{scen}.{i}.time") for i in range(1, runs + 1)]
    r = [parse(f"{out}/repomix.{name}.{scen}.{i}.time") for i in range(1, runs + 1)]
    med = lambda xs, k: statistics.median(x[k] for x in xs)
    ratios = [a[0] / b[0] for a, b in zip(o, r)]
    trees = [t for i in range(1, runs + 1) if (t := tree_mb(f"{out}/ours.{name}.{scen}.{i}.log"))]
    tree = f"{max(trees):7d}MB" if trees else f"{'-':>9}"
    print(f"{scen:8} {med(o,0):9.2f}s {med(o,1):8.2f}s {max(x[2] for x in o):7.0f}MB {tree} {med(r,0):12.2f}s {med(r,1):11.2f}s {max(x[2] for x in r):10.0f}MB"
          f" {statistics.median(ratios):12.2f}x  (per-pair ratios {', '.join(f'{x:.2f}' for x in ratios)})")
PYEOF
