"""Benchmark: pack a real archive end to end and report files, tokens, time, peak RSS.

Reads, selects, decodes, scans for secrets, counts tokens exactly, fits the budget
and writes the request (instructions, prompt, summary) as JSON to a temp file,
as the Celery worker would before sending it. Not a test.

Usage: python bench/pack.py ARCHIVE [--spec PDF] [--context N] [--output N] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reviewer.packing import Budget, pack  # noqa: E402
from reviewer.packing.tokens import get_encoding  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("archive")
    ap.add_argument("--spec")
    # Default: big enough that nothing is dropped, to compare with tools that pack everything.
    ap.add_argument("--context", type=int, default=10_000_000)
    ap.add_argument("--output", type=int, default=32_000)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument(
        "--verify", action="store_true", help="also count the joined prompt in one piece"
    )
    args = ap.parse_args()

    t0 = time.perf_counter()
    get_encoding()  # once per worker process; reported separately
    t_enc = time.perf_counter() - t0

    def run():
        result = pack(args.archive, args.spec, Budget(args.context, args.output))
        fd, out = tempfile.mkstemp(suffix=".json", prefix="pack-")
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
    s = result.summary()
    print(f"archive            {args.archive} ({os.path.getsize(args.archive):,} bytes)")
    print(f"files included     {s['included_count']:,}")
    print(f"files excluded     {s['excluded_count']:,} {s['excluded_by_reason']}")
    print(f"file tokens        {s['included_file_tokens']:,}")
    print(f"prompt tokens      {result.prompt_tokens:,} (budget {result.budget_tokens:,})")
    print(f"redactions         {s['redaction_count']}")
    print(f"request JSON       {out} ({os.path.getsize(out):,} bytes)")
    print(f"encoding load s    {t_enc:.2f}")
    print(f"pack seconds       {t_pack:.2f}")
    print(f"total seconds      {t_enc + t_pack:.2f}")
    print(f"peak RSS MB        {peak_mb:.0f}")
    if args.verify:
        from reviewer.packing import count_tokens

        whole = count_tokens(result.instructions) + count_tokens(result.prompt)
        print(f"verify             whole-prompt count {whole:,}: {whole == result.prompt_tokens}")
    os.unlink(out)


if __name__ == "__main__":
    main()
