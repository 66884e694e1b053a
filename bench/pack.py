"""Benchmark: pack a real archive end to end and report files, tokens, time, peak RSS.

Reads, selects, decodes, scans for secrets, counts tokens exactly, fits the budget
and writes the request (instructions, prompt, summary) as JSON to a temp file,
as the Celery worker would before sending it. Not a test.

Usage: python bench/pack.py ARCHIVE [--spec PDF] [--context N] [--output N]
                             [--cache-dir DIR] [--profile] [--verify]

--cache-dir: use (and fill) the persistent token-count cache there, as the web app
does; an empty or missing folder is a cold run, a second run a warm one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# reviewer/__init__.py starts the Celery app (0.15 s of imports). The packing
# library does not need it - it is plain Python - and in the web app and the
# worker it is loaded already, so this CLI loads reviewer.packing on its own.
_pkg = types.ModuleType("reviewer")
_pkg.__path__ = [str(ROOT / "reviewer")]
sys.modules.setdefault("reviewer", _pkg)

from reviewer.packing import (  # noqa: E402
    Budget,
    PackOptions,
    pack,
    tokens,  # noqa: E402
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("archive")
    ap.add_argument("--spec")
    # Default: big enough that nothing is dropped, to compare with tools that pack everything.
    ap.add_argument("--context", type=int, default=10_000_000)
    ap.add_argument("--output", type=int, default=32_000)
    ap.add_argument("--cache-dir", help="token-count cache folder (default: no cache)")
    ap.add_argument(
        "--workers", type=int, help="PackOptions.workers (default: every core; 1 = serial)"
    )
    ap.add_argument("--profile", action="store_true")
    ap.add_argument(
        "--verify", action="store_true", help="also count the joined prompt in one piece"
    )
    args = ap.parse_args()

    def run():
        options = PackOptions(cache_dir=args.cache_dir, workers=args.workers)
        result = pack(args.archive, args.spec, Budget(args.context, args.output), options)
        fd, out = tempfile.mkstemp(suffix=".json", prefix="pack-")
        # Streamed with ensure_ascii (the baseline's way). Note: json.dumps(...,
        # ensure_ascii=False) of a prompt holding one emoji builds a 4-byte-per-char
        # copy first (+140 MB peak here).
        with os.fdopen(fd, "w") as fh:
            json.dump(
                {
                    "instructions": result.instructions,
                    "prompt": result.prompt,
                    "summary": result.summary(),
                },
                fh,
            )
        return result, out

    t1 = time.perf_counter()
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        result, out = prof.runcall(run)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    else:
        result, out = run()
    t_pack = time.perf_counter() - t1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The worker processes (parallel.py) have exited by now: the largest of them.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_mb = children.ru_maxrss / 1024
    s = result.summary()
    print(f"archive            {args.archive} ({os.path.getsize(args.archive):,} bytes)")
    print(f"files included     {s['included_count']:,}")
    print(f"files excluded     {s['excluded_count']:,} {s['excluded_by_reason']}")
    print(f"file tokens        {s['included_file_tokens']:,}")
    print(f"prompt tokens      {result.prompt_tokens:,} (budget {result.budget_tokens:,})")
    print(f"redactions         {s['redaction_count']}")
    print(f"request JSON       {out} ({os.path.getsize(out):,} bytes)")
    print(f"token cache        {args.cache_dir or 'off'}")
    # Built lazily, once per process; a fully warm cache never needs it. Worker
    # processes build their own when they count (a changed file may be theirs).
    built = "yes" if tokens._encoding is not None else "no"
    print(f"tokenizer built    {built} (in this process)")
    print(f"pack+write seconds {t_pack:.2f}")
    print(f"peak RSS MB        {peak_mb:.0f}")
    if child_mb:
        # Upper bound on the whole pack's memory: forked pages shared with this
        # process are counted twice.
        print(
            f"worker peak RSS MB {child_mb:.0f} (largest child; this process + children"
            f" <= {peak_mb + child_mb * max(1, (args.workers or os.cpu_count() or 1) - 1):.0f})"
        )
        print(f"worker CPU seconds {children.ru_utime + children.ru_stime:.2f}")
    if args.verify:
        from reviewer.packing import count_tokens

        whole = count_tokens(result.instructions) + count_tokens(result.prompt)
        print(f"verify             whole-prompt count {whole:,}: {whole == result.prompt_tokens}")
    os.unlink(out)


if __name__ == "__main__":
    main()
