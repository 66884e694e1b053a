"""One review's run inside the worker: pack, call the model, relay the stream, store the
report. Everything that can go wrong ends in a final status with the text kept.

The run holds the review through its fencing token. Every write (status, checkpoint,
relay, finish) is conditional on it; once the keeper reports the review lost, or a write
is refused, the run stops at once and writes nothing more: the review is someone else's.
"""

import dataclasses
import logging
import tempfile
import threading
import time

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models.functions import Now

from reviewer import llm
from reviewer.counts.services import record as record_counts
from reviewer.findings import prompt as findings_prompt
from reviewer.findings import services as findings
from reviewer.packing import PackingError, write_sent_files
from reviewer.reviews.models import Review, Status
from reviewer.runs import fitting, library_settings
from reviewer.runs.keeper import Keeper
from reviewer.runs.lifecycle import announce_final, fenced_update, status_events
from reviewer.runs.packing_pool import PackCancelled, pack
from reviewer.runs.progress import TokenMeter, pack_progress
from reviewer.runs.writer import RunWriter
from reviewer.streams.relay import FenceLost

log = logging.getLogger(__name__)


class ReviewRun:
    def __init__(self, review_id, token):
        self.review = Review.objects.select_related("project__team").get(pk=review_id)
        self.token = token
        self.cancel = threading.Event()
        self.keeper = Keeper(review_id, token, self.cancel)
        self.writer = RunWriter(review_id, token, settings.RELAY_BATCH_MILLISECONDS / 1000)
        self.text = []
        self.last_checkpoint = time.monotonic()
        self.sent_stored = False  # this run stored the sent files (a refit replaces them)
        self.our_tokens = None
        self.started = time.monotonic()

    def run(self):
        self.keeper.start()
        try:
            self._run()
        except FenceLost as exc:
            log.warning("review %s: run %s stopped: %s", self.review.pk, self.token, exc)
        except SoftTimeLimitExceeded:
            # A prefork worker's backstop; the keeper stops the run at its limit first.
            minutes = settings.REVIEW_TIME_LIMIT // 60
            self._finish_quietly(
                Status.FAILED, error=f"The review took longer than its {minutes}-minute limit."
            )
        except Exception as exc:
            log.exception("review %s crashed", self.review.pk)
            self._finish_quietly(Status.FAILED, error=_internal_error_sentence(exc))
        finally:
            self.keeper.stop()
            self.writer.close_quietly()

    def _run(self):
        self._set_status(Status.PACKING, "reading the archive")
        model = library_settings.model_for(library_settings.model_id_for_review(self.review))
        if library_settings.is_split(library_settings.snapshot_of(self.review)):
            from reviewer.splits.run import run_split  # split mode lives in its own app

            if run_split(self, model):
                return
        try:
            endpoint = library_settings.endpoint_for(model, self.review.project.team)
        except llm.LLMError as exc:
            self._finish(Status.FAILED, error=exc.message)
            return
        ratio = library_settings.count_ratio_for(model)
        fitted = self._fit(model, endpoint, ratio)
        if fitted is None:
            return
        packed, ratio = fitted
        if self.cancel.is_set():
            self._finish_cancelled("cancelled before the model was called")
            return
        try:
            self._stream(model, endpoint, packed, refit_allowed=True)
        except llm.ContextOverflow as exc:
            # Refused as too long before any answer: pack once more by the provider's
            # count and send again; a second refusal fails the review (_stream).
            note = fitting.overflow_note(exc.overflow)
            log.info("review %s: %s (%s)", self.review.pk, note, exc.message)
            self._set_status(Status.PACKING, note)
            ratio = fitting.overflow_refit(model, ratio, packed, exc.overflow)
            packed = self._pack(model, ratio)
            if packed is None:
                return
            self._store_pack(model, packed, ratio)
            self._stream(model, endpoint, _slim(packed), refit_allowed=False, note=note)

    def _fit(self, model, endpoint, ratio):
        """Pack by the ratio; where the provider counts, ask it, and pack once more if it
        counted more than the model takes. Returns (packed, ratio) or None (failed)."""
        packed = self._pack(model, ratio)
        if packed is None:
            return None
        counted = fitting.provider_count(model, endpoint, self._request(model, packed))
        refit = fitting.counted_refit(model, ratio, packed, counted)
        if refit is not None:
            self._set_status(
                Status.PACKING,
                f"{llm.provider_name(model)} counted {counted:,} tokens; packing again with "
                "fewer files",
            )
            ratio = refit
            packed = self._pack(model, ratio)
            if packed is None:
                return None
            # Once more, to show the count the request is sent with; no second refit.
            counted = fitting.provider_count(model, endpoint, self._request(model, packed))
        self._store_pack(model, packed, ratio, counted)
        return _slim(packed), ratio

    def _pack(self, model, ratio):
        paths = self.review.archive.path, self.review.spec.path
        budget = library_settings.budget_for(model, ratio.value)
        options = library_settings.pack_options_for_review(self.review)
        release_connection()  # a pack may wait for a packing process
        try:
            return pack(
                *paths,
                budget,
                options,
                progress=pack_progress(self.writer.progress, self.started),
                cancel=self.cancel,
            )
        except PackingError as exc:
            self._finish(Status.FAILED, error=str(exc))
            return None
        except PackCancelled:
            self._finish_cancelled("cancelled while packing")
            return None

    def _request(self, model, packed):
        request = library_settings.review_request(packed, self.review.spec_name, model)
        return findings_prompt.with_dismissed(request, self.review)

    def _store_pack(self, model, packed, ratio, counted=None):
        """What is sent, as the preview, the report and the source viewer show it."""
        summary = packed.summary()
        # The report links `path:line` citations to files the model was sent.
        summary["included_paths"] = [f.path for f in packed.included]
        summary["count"] = fitting.count_summary(model, ratio, fitting.our_tokens(packed), counted)
        replaced = self.review.sent_files.name if self.sent_stored else None
        sent = self._store_sent_files(packed)
        self._update(
            sent_files=sent,
            pack_summary=summary,
            spec_pages=packed.spec.page_count if packed.spec else None,
            estimated_cost_usd=llm.estimate_cost(
                model, summary["count"]["provider_tokens"], model.max_output_tokens
            ),
        )
        self.review.sent_files.name, self.sent_stored = sent, True
        self.our_tokens = fitting.our_tokens(packed)
        if replaced:
            default_storage.delete(replaced)  # the files of the request that was refused

    def _stream(self, model, endpoint, packed, refit_allowed=False, note=None):
        # A fenced write right before the call: a run that lost the review never calls.
        self._set_status(Status.STREAMING, note or "waiting for the model's first token")
        status = Status.STREAMING
        finished = None
        meter = TokenMeter(self.started)
        request = self._request(model, packed)
        release_connection()
        try:
            for event in llm.stream_review(
                model,
                endpoint,
                request,
                settings=library_settings.client_settings(),
                shared=library_settings.shared_state(),
                cancel=self.cancel,
            ):
                if isinstance(event, llm.Delta):
                    if not self.text or status != Status.STREAMING:
                        status = Status.STREAMING
                        self._set_status(status, "")
                    self.text.append(event.text)
                    self.writer.delta(event.text)
                    meter.add(event.text)
                    if meter.due():
                        self.writer.progress(meter.event())
                    self._maybe_checkpoint()
                elif isinstance(event, llm.Status):
                    # Retry back-off, rate limits and an open breaker are all waits.
                    status = Status.STREAMING if event.state == "streaming" else Status.WAITING
                    self._set_status(status, event.message)
                elif isinstance(event, llm.Finished):
                    finished = event
        except llm.Cancelled:
            self._finish_cancelled("stopped on request; the text so far is kept")
            return
        except llm.LLMError as exc:
            if refit_allowed and isinstance(exc, llm.ContextOverflow) and not self.text:
                raise
            self._finish(Status.FAILED, error=exc.message)
            return
        self._finish_success(model, finished)

    def _finish_success(self, model, finished):
        note = {
            "length": "truncated: the model reached its output limit",
            "content_filter": "filtered: the provider's content filter stopped the answer",
        }.get(finished.finish_reason, "")
        prompt_tokens = finished.prompt_tokens
        completion_tokens = finished.completion_tokens
        cached, written = finished.cached_tokens, finished.cache_write_tokens
        cost = None
        if prompt_tokens is not None and completion_tokens is not None:
            cost = llm.estimate_cost(
                model, prompt_tokens, completion_tokens, cached or 0, written or 0
            )
        self._finish(
            Status.DONE,
            note=note,
            finish_reason=finished.finish_reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cached_prompt_tokens=cached,
            cost_usd=cost,
        )
        if prompt_tokens is not None and self.our_tokens:
            record_counts(model, self.our_tokens, prompt_tokens, self.review.pk)

    def _store_sent_files(self, packed):
        """The redacted text of every file sent, so the source viewer reads one member
        instead of decompressing the archive per click."""
        with tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as sent:
            write_sent_files(packed, sent)
            sent.seek(0)
            return default_storage.save("sent/files.zip", File(sent))

    # -- fenced writes ---------------------------------------------------------------
    def _check_owner(self):
        if not self.keeper.owns():
            raise FenceLost(self.keeper.reason or "the lease could not be renewed in time")

    def _update(self, **fields):
        self._check_owner()
        fenced_update(self.review.pk, self.token, **fields)

    def _set_status(self, status, note):
        self._update(status=status, status_note=note[:300])
        self.writer.events(status_events(status, note))
        release_connection()

    def _maybe_checkpoint(self):
        if time.monotonic() - self.last_checkpoint < settings.REVIEW_CHECKPOINT_SECONDS:
            return
        self.last_checkpoint = time.monotonic()
        self._check_owner()
        self.writer.flush()
        self.keeper.checkpoint(report="".join(self.text), report_event_id=self.writer.last_id)

    def _finish_cancelled(self, note):
        if self.keeper.lost.is_set():
            # The cancel came from the keeper: the review is no longer this run's.
            raise FenceLost(self.keeper.reason)
        if self.keeper.timed_out:
            self._finish(Status.FAILED, error=self.keeper.timed_out)
            return
        self._finish(Status.CANCELLED, note=note)

    def _finish(self, status, *, error="", note="", **fields):
        """Ends the review for good; the `done` event tells every viewer to stop."""
        if status == Status.FAILED:
            # Error sentences never hold a key (the library redacts them).
            log.warning("review %s failed: %s", self.review.pk, error)
        # The final write carries the whole text: no checkpoint may land after it.
        self.keeper.stop()
        self.writer.flush()
        report = "".join(self.text)
        # Read before the final write and stored with it: the final view has its findings.
        parsed = findings.prepare(self.review.pk, report) if status == Status.DONE else None
        with transaction.atomic():
            self._update(
                status=status,
                status_note=(note or error)[:300],
                error=error,
                report=report,
                report_event_id=self.writer.last_id,
                lease_expires_at=None,
                finished_at=Now(),
                **fields,
            )
            findings.store(parsed)
        # The row is final and ours: no other writer touches this review's relay now. Its
        # `done` goes out once the row is committed (split mode finishes inside the lock
        # of a larger transaction), so that a viewer told `done` reads the final row.
        review_id = self.review.pk
        transaction.on_commit(lambda: announce_final(review_id, status, note or error))

    def _finish_quietly(self, status, *, error):
        try:
            self._finish(status, error=error)
        except FenceLost as exc:
            log.warning("review %s: run %s stopped: %s", self.review.pk, self.token, exc)


def _slim(packed):
    """The pack without its file lists, which the row's summary holds now: a worker runs
    a hundred reviews, and a large repository's lists are megabytes each."""
    return dataclasses.replace(packed, included=[], excluded=[], redactions=[], coverage={})


def release_connection():
    """Closes this thread's database connection between a run's bursts of writes: a
    worker streams a hundred reviews on threads, and a connection held by each would
    take about all a PostgreSQL server allows. Reopened on the next query."""
    if not connection.in_atomic_block:
        connection.close()


def _internal_error_sentence(exc):
    # Never echo an arbitrary exception to the page: it may carry paths or keys.
    return f"The review stopped because of an internal error ({type(exc).__name__})."
