#!/usr/bin/env bash
# Side-by-side: our pack (bench/pack.py) vs repomix on the same corpus, alternating runs.
#
#   bash bench/compare.sh [RUNS]
#
# Needs: the corpus from bench/make_corpus.py (built here if missing) and repomix
# installed outside the repository:  mkdir -p /tmp/repomix && cd /tmp/repomix &&
#   npm init -y && npm install repomix@1.18.1
# repomix runs with its defaults, security check (secretlint) ON, on the extracted
# tree; we run on the tar.gz (reading the archive is part of our job).
set -euo pipefail
RUNS="${1:-3}"
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="${PY:-/work/main/.venv/bin/python}"
OUT=/tmp/bench
[ -f "$OUT/corpus.tar.gz" ] || "$PY" "$HERE/make_corpus.py" "$OUT"
for i in $(seq 1 "$RUNS"); do
  /usr/bin/time -f "ours    run $i: wall %e s, cpu user %U s + sys %S s, peak RSS %M KB" \
    "$PY" "$HERE/pack.py" "$OUT/corpus.tar.gz" > "$OUT/ours.$i.log" 2> "$OUT/ours.$i.time"
  tail -1 "$OUT/ours.$i.time"
  rm -f /tmp/out.xml
  (cd "$OUT/corpus" && /usr/bin/time -f "repomix run $i: wall %e s, cpu user %U s + sys %S s, peak RSS %M KB" \
    npx --prefix /tmp/repomix repomix --output /tmp/out.xml > "$OUT/repomix.$i.log" 2> "$OUT/repomix.$i.time")
  tail -1 "$OUT/repomix.$i.time"
done
echo "--- ours (last run)"; cat "$OUT/ours.$RUNS.log"
echo "--- repomix (last run)"; grep -E "Total (Files|Tokens|Chars)|Security" "$OUT/repomix.$RUNS.log"
