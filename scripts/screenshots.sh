#!/usr/bin/env bash
# Full-page screenshots of every page a user reaches, at 390 px and 1280 px, written to a
# fresh temporary folder (or the folder given). Needs the test requirements and Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-$(mktemp -d -t reviewer-screenshots-XXXXXX)}"
mkdir -p "$out"
SCREENSHOTS="$out" .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_browser_pages.py \
  -k "fits or keyboard or invite_link"
echo "screenshots: $out"
