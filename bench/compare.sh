#!/usr/bin/env bash
# Side-by-side: our pack (bench/pack.py) vs repomix on the same corpus, alternating runs.
#
#   bash bench/compare.sh [RUNS]
#
# Each round runs, each immediately followed by repomix on the same tree:
#   cold     our token cache emptied first (what a first review pays)
#   warm     same archive again, cache filled by "cold" (preview, then the worker)
#   changed  corpus-changed.tar.gz (one line added to one file), cache from "warm"
#            (a re-review after a small change)
# repomix has no cache: its three runs are the same work, reported per scenario so
# every ratio compares runs made under the same machine load.
#
# Needs: the corpus from bench/make_corpus.py (built here if missing) and repomix
# installed outside the repository:  mkdir -p /tmp/repomix && cd /tmp/repomix &&
#   npm init -y && npm install repomix@1.18.1
# repomix runs with its defaults, security check (secretlint) ON, on the extracted
# tree; we run on the tar.gz (reading the archive is part of our job).
set -euo pipefail
RUNS="${1:-3}"
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="${PY:-$HERE/../.venv/bin/python}"
OUT=/tmp/bench
CACHE="$OUT/token-cache"
[ -f "$OUT/corpus.tar.gz" ] && [ -f "$OUT/corpus-changed.tar.gz" ] || "$PY" "$HERE/make_corpus.py" "$OUT"
FMT="wall %e s, cpu user %U s + sys %S s, peak RSS %M KB"
uptime
for i in $(seq 1 "$RUNS"); do
  rm -rf "$CACHE"
  for scen in cold warm changed; do
    tree=corpus; [ "$scen" = changed ] && tree=corpus-changed
    /usr/bin/time -f "ours    $scen run $i: $FMT" \
      "$PY" "$HERE/pack.py" "$OUT/$tree.tar.gz" --cache-dir "$CACHE" \
      > "$OUT/ours.$scen.$i.log" 2> "$OUT/ours.$scen.$i.time"
    tail -1 "$OUT/ours.$scen.$i.time"
    rm -f /tmp/out.xml
    (cd "$OUT/$tree" && /usr/bin/time -f "repomix $scen run $i: $FMT" \
      npx --prefix /tmp/repomix repomix --output /tmp/out.xml \
      > "$OUT/repomix.$scen.$i.log" 2> "$OUT/repomix.$scen.$i.time")
    tail -1 "$OUT/repomix.$scen.$i.time"
  done
done
uptime
echo "--- ours (last cold run)"; cat "$OUT/ours.cold.$RUNS.log"
echo "--- ours (last warm run)"; tail -3 "$OUT/ours.warm.$RUNS.log"
echo "--- repomix (last run)"; grep -E "Total (Files|Tokens|Chars)|Security" "$OUT/repomix.cold.$RUNS.log"
# Medians per scenario: ours wall, repomix wall, ratio of medians.
"$PY" - "$OUT" "$RUNS" <<'PYEOF'
import re, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
def parse(path):
    m = re.search(r"wall ([\d.]+) s, cpu user ([\d.]+) s \+ sys ([\d.]+) s, peak RSS (\d+) KB", open(path).read())
    return float(m[1]), float(m[2]) + float(m[3]), int(m[4]) / 1024
print(f"{'scenario':8} {'ours wall':>10} {'ours cpu':>9} {'ours RSS':>9} {'repomix wall':>13} {'repomix cpu':>12} {'ours/repomix':>13}")
for scen in ("cold", "warm", "changed"):
    o = [parse(f"{out}/ours.{scen}.{i}.time") for i in range(1, runs + 1)]
    r = [parse(f"{out}/repomix.{scen}.{i}.time") for i in range(1, runs + 1)]
    med = lambda xs, k: statistics.median(x[k] for x in xs)
    ratios = [a[0] / b[0] for a, b in zip(o, r)]
    print(f"{scen:8} {med(o,0):9.2f}s {med(o,1):8.2f}s {max(x[2] for x in o):7.0f}MB {med(r,0):12.2f}s {med(r,1):11.2f}s"
          f" {statistics.median(ratios):12.2f}x  (per-pair ratios {', '.join(f'{x:.2f}' for x in ratios)})")
PYEOF
