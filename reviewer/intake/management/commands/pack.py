"""`manage.py pack ARCHIVE [--spec PDF] [--model M] [--output FILE]`: what a review would send."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reviewer import llm
from reviewer.packing import PackingError, pack
from reviewer.runs import library_settings


def format_summary(summary, model, cost):
    budget = summary["budget"]
    coverage = summary.get("coverage") or {}
    core = [d["path"] for d in coverage.get("dropped", []) if d["core"]]
    core_line = f"Core left out: {len(core)}: {', '.join(core[:5])}" + (
        " …" if len(core) > 5 else ""
    )
    lines = [
        f"Model:      {model.label} ({model.id})",
        f"Reviewed:   {coverage.get('headline', '')}",
        *([core_line] if core else []),
        f"Included:   {summary['included_count']} files, {summary['included_bytes']:,} bytes",
        f"Excluded:   {summary['excluded_count']} files"
        + "".join(f"\n  {reason}: {n}" for reason, n in summary["excluded_by_reason"].items()),
        f"Tokens:     {budget['prompt_tokens']:,} prompt + {budget['spec_tokens']:,} spec "
        f"= {budget['total_input_tokens']:,} of {budget['context_tokens']:,} "
        f"(repository budget {budget['budget_tokens']:,}, "
        f"{budget['max_output_tokens']:,} kept for the answer)",
        f"Est. cost:  up to ${cost:.4f}",
        "Top files by tokens:",
        *(f"  {f['tokens']:>9,}  {f['path']}" for f in summary["top_files"][:10]),
        f"Redactions: {summary['redaction_count']}",
        *(f"  {r['path']}:{r['line']}:{r['kind']}" for r in summary["redactions"]),
    ]
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Pack an archive and a spec as a review would, print a summary, write the request."

    def add_arguments(self, parser):
        parser.add_argument("archive")
        parser.add_argument("--spec", help="the specification PDF")
        parser.add_argument("--model", default=None, help="catalogue id (default: LLM_MODEL)")
        parser.add_argument("--output", help="where to write the JSON request body")
        parser.add_argument("--ignore", action="append", default=[], help="extra ignore pattern")

    def handle(self, *args, **options):
        model = library_settings.model_for(options["model"] or library_settings.default_model_id())
        try:
            packed = pack(
                Path(options["archive"]),
                Path(options["spec"]) if options["spec"] else None,
                library_settings.budget_for(model),
                # The worker's limits and token-count cache (PACK_CACHE_DIR).
                library_settings.pack_options(ignores=options["ignore"]),
            )
            body = llm.build_body(
                model,
                library_settings.review_request(
                    packed, Path(options["spec"]).name if options["spec"] else None, model
                ),
            )
        except (PackingError, llm.LLMError, OSError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            self.stderr.write(message)
            sys.exit(2)
        summary = packed.summary()
        cost = llm.estimate_cost(
            model, summary["budget"]["total_input_tokens"], model.max_output_tokens
        )
        self.stdout.write(format_summary(summary, model, cost))
        if options["output"]:
            try:
                with open(options["output"], "w", encoding="utf-8") as out:
                    json.dump(body, out)
            except OSError as exc:
                raise CommandError(f"Could not write {options['output']}: {exc.strerror}.")
            self.stdout.write(f"Request:    {options['output']}")
