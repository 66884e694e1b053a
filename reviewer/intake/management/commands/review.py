"""`manage.py review ARCHIVE --spec PDF --project NAME [--model M] [--json]` runs a review
through the real worker and prints the answer as it streams; `--repo-url URL [--ref REF]`
reviews a repository by URL instead of an archive (the worker fetches it), `--refetch ID`
runs a review by URL again on the latest commit; `--cancel ID` stops one.
`--sarif FILE` writes the findings as SARIF; `--fail-on SEVERITY` exits 3 when a finding at
or above it is open, for CI gates."""

import json
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from reviewer.intake.services import (
    UploadRejected,
    check_key,
    clone_review,
    create_review,
    submit_url_review,
    validate_uploads,
)
from reviewer.reviews.models import ACTIVE_STATUSES, FINAL_STATUSES, Project, Review, Status
from reviewer.runs import library_settings
from reviewer.runs.lifecycle import request_cancel
from reviewer.splits.events import PART_STATUS, parse
from reviewer.streams.relay import DELTA, DONE, NOTE, STATUS, get_relay


class Command(BaseCommand):
    help = "Run a review through the worker and stream its answer to stdout."

    def add_arguments(self, parser):
        parser.add_argument("archive", nargs="?")
        parser.add_argument("--repo-url", metavar="URL", help="review this repository instead")
        parser.add_argument(
            "--ref", default="", help="with --repo-url: branch, tag or commit (default branch)"
        )
        parser.add_argument(
            "--refetch", type=int, metavar="ID", help="run review ID by URL on the latest commit"
        )
        parser.add_argument("--spec")
        parser.add_argument("--project", help="project name or id")
        parser.add_argument("--model", default=None)
        parser.add_argument(
            "--mode",
            choices=("single", "split"),
            default="single",
            help="split: the whole repository in several requests, then a merge",
        )
        parser.add_argument("--json", action="store_true", help="end with one JSON object")
        parser.add_argument("--sarif", metavar="FILE", help="write the findings as SARIF 2.1.0")
        parser.add_argument(
            "--fail-on",
            choices=["critical", "high", "medium", "low"],
            help="exit 3 when an open finding has this severity or a higher one",
        )
        parser.add_argument("--cancel", type=int, metavar="ID", help="cancel review ID")
        parser.add_argument("--timeout", type=float, default=settings.CELERY_TASK_TIME_LIMIT + 120)

    def handle(self, *args, **options):
        if options["cancel"]:
            return self._cancel(options["cancel"])
        if options["sarif"] and not Path(options["sarif"]).resolve().parent.is_dir():
            self.stderr.write(f"The folder for {options['sarif']} does not exist.")
            sys.exit(2)
        if options["refetch"]:
            return self._finish(self._refetch(options["refetch"]), options)
        if options["archive"] and options["repo_url"]:
            self.stderr.write("Give either an ARCHIVE or --repo-url URL, not both.")
            sys.exit(2)
        if options["ref"] and not options["repo_url"]:
            self.stderr.write("--ref goes with --repo-url.")
            sys.exit(2)
        if not (
            (options["archive"] or options["repo_url"]) and options["spec"] and options["project"]
        ):
            raise CommandError(
                "Give an ARCHIVE or --repo-url URL, --spec PDF and --project NAME "
                "(or --cancel ID, or --refetch ID)."
            )
        project = self._project(options["project"])
        if options["repo_url"]:
            return self._finish(self._by_url(project, options), options)
        archive_path, spec_path = Path(options["archive"]), Path(options["spec"])
        model_id = options["model"] or project.model or library_settings.default_model_id()
        try:
            # Refused files, or a model no key reaches, leave no review behind, as on the
            # upload form.
            check_key(project.team, model_id)
            validate_uploads(project, archive_path, spec_path, model_id)
            archive, spec = archive_path.open("rb"), spec_path.open("rb")
        except (UploadRejected, OSError) as exc:
            self.stderr.write(str(exc) if isinstance(exc, UploadRejected) else exc.strerror)
            sys.exit(2)
        with archive, spec:
            review = create_review(
                project,
                None,
                File(archive, name=archive_path.name),
                File(spec, name=spec_path.name),
                model_id,
                mode=options["mode"],
            )
        self._finish(review, options)

    def _by_url(self, project, options):
        model_id = options["model"] or project.model or library_settings.default_model_id()
        spec_path = Path(options["spec"])
        try:
            with spec_path.open("rb") as spec:
                return submit_url_review(
                    project,
                    None,
                    options["repo_url"],
                    options["ref"],
                    File(spec, name=spec_path.name),
                    model_id,
                    mode=options["mode"],
                )
        except (UploadRejected, OSError) as exc:
            self.stderr.write(str(exc) if isinstance(exc, UploadRejected) else exc.strerror)
            sys.exit(2)

    def _refetch(self, review_id):
        original = Review.objects.select_related("project__team").filter(pk=review_id).first()
        if original is None or not original.repo_url:
            self.stderr.write(f"Review {review_id} is not a review of a repository by URL.")
            sys.exit(2)
        try:
            return clone_review(original, None, refetch=True)
        except UploadRejected as exc:
            self.stderr.write(exc.message)
            sys.exit(2)

    def _finish(self, review, options):
        """Follows the review to its end, prints it and exits as documented."""
        self.stderr.write(f"review {review.pk}: {settings.SITE_URL}{review.get_absolute_url()}")
        self._follow(review.pk, options["timeout"], quiet=options["json"])
        review.refresh_from_db()
        if review.parts.exists() and not options["json"]:
            # A split review streams its parts to the page; here the merged report.
            self.stdout.write(review.report)
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(review)))
        if review.status != Status.DONE:
            self.stderr.write(
                f"review {review.pk} {review.status}: {review.error or review.status_note}"
            )
            sys.exit(1)
        self._gate(review, options["sarif"], options["fail_on"])

    def _gate(self, review, sarif_path, fail_on):
        from reviewer.findings.gate import FAIL_EXIT, failing_findings, write_sarif

        if sarif_path:
            write_sarif(review, sarif_path)
        failing = failing_findings(review, fail_on) if fail_on else []
        if failing:
            self.stderr.write(
                f"{len(failing)} open finding{'s' if len(failing) != 1 else ''} "
                f"at or above {fail_on}: "
                + "; ".join(f"{f.severity} {f.title}" for f in failing[:10])
            )
            sys.exit(FAIL_EXIT)

    def _project(self, name_or_id):
        projects = Project.objects.filter(name=name_or_id)
        if name_or_id.isdigit():
            projects = projects | Project.objects.filter(pk=int(name_or_id))
        projects = list(projects)
        if not projects:
            raise CommandError(f"There is no project named {name_or_id!r}.")
        if len(projects) > 1:
            raise CommandError(f"Several projects are named {name_or_id!r}; give the project id.")
        return projects[0]

    def _follow(self, review_id, timeout, quiet):
        relay = get_relay()
        after = 0
        deadline = time.monotonic() + timeout
        next_row_check = time.monotonic() + 2
        while time.monotonic() < deadline:
            events = relay.read(review_id, after)
            for event in events:
                after = event.id
                if event.kind == DELTA and not quiet:
                    self.stdout.write(event.data, ending="")
                    self.stdout.flush()
                elif event.kind in (STATUS, NOTE) and event.data:
                    self.stderr.write(f"[{event.data}]")
                elif event.kind == PART_STATUS:
                    index, word = parse(event.data)
                    self.stderr.write(f"[part {index + 1}: {word}]")
                elif event.kind == DONE:
                    if not quiet:
                        self.stdout.write("")
                    return
            if not events and time.monotonic() >= next_row_check:
                # The row is the truth when the relay's `done` never came or was pruned.
                next_row_check = time.monotonic() + 2
                if Review.objects.filter(pk=review_id, status__in=FINAL_STATUSES).exists():
                    return
            if not events:
                time.sleep(0.1)
        self.stderr.write("Gave up waiting; is a worker running (`make run`)?")

    def _cancel(self, review_id):
        if not request_cancel(review_id):
            raise CommandError(f"Review {review_id} is not running.")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = Review.objects.values_list("status", flat=True).get(pk=review_id)
            if status not in ACTIVE_STATUSES:
                self.stdout.write(f"review {review_id} {status}")
                return
            time.sleep(0.2)
        self.stdout.write(f"review {review_id}: cancel requested")


def _as_json(review):
    return {
        "id": review.pk,
        "status": review.status,
        "url": f"{settings.SITE_URL}{review.get_absolute_url()}",
        "report": review.report,
        "repository": (
            {"url": review.repo_url, "ref": review.repo_ref or None, "commit": review.commit_sha}
            if review.repo_url
            else None
        ),
        "prompt_tokens": review.prompt_tokens,
        "completion_tokens": review.completion_tokens,
        "cost_usd": float(review.cost_usd) if review.cost_usd is not None else None,
        "truncated": review.finish_reason == "length",
        "error": review.error or None,
        "parts": review.parts.filter(is_synthesis=False).count() or None,
        "findings": _findings_summary(review),
    }


def _findings_summary(review):
    from reviewer.findings.gate import summary

    return summary(review)
