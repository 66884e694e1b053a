"""One review's run inside the worker: pack, call the model, relay the stream, store the
report. Everything that can go wrong ends in a final status with the text kept."""

import logging
import threading
import time
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from reviewer import llm
from reviewer.packing import PackingError, pack
from reviewer.reviews.models import Review, Status
from reviewer.runs import library_settings
from reviewer.runs.lifecycle import announce, finish
from reviewer.streams.relay import DELTA, RelayWriter

log = logging.getLogger(__name__)


class _Keeper(threading.Thread):
    """Renews the review's lease and turns a Cancel press into the client's cancel event,
    off the streaming thread so that a silent upstream cannot delay either."""

    def __init__(self, review_id, cancel):
        super().__init__(daemon=True, name=f"review-{review_id}-keeper")
        self.review_id = review_id
        self.cancel = cancel
        self.stopped = threading.Event()

    def run(self):
        from django.db import close_old_connections

        renew_every = max(1.0, settings.REVIEW_LEASE_SECONDS / 4)
        renewed = 0.0
        try:
            while not self.stopped.wait(0.5):
                if time.monotonic() - renewed >= renew_every:
                    lease = timezone.now() + timedelta(seconds=settings.REVIEW_LEASE_SECONDS)
                    Review.objects.filter(pk=self.review_id).update(lease_expires_at=lease)
                    renewed = time.monotonic()
                if Review.objects.filter(pk=self.review_id, cancel_requested=True).exists():
                    self.cancel.set()
        finally:
            close_old_connections()

    def stop(self):
        self.stopped.set()
        self.join(timeout=5)


class ReviewRun:
    def __init__(self, review_id):
        self.review = Review.objects.select_related("project").get(pk=review_id)
        self.writer = RelayWriter(review_id)
        self.cancel = threading.Event()
        self.text = []
        self.last_checkpoint = time.monotonic()

    def run(self):
        keeper = _Keeper(self.review.pk, self.cancel)
        keeper.start()
        try:
            self._run()
        except SoftTimeLimitExceeded:
            minutes = settings.CELERY_TASK_TIME_LIMIT // 60
            self._finish(
                Status.FAILED, error=f"The review took longer than its {minutes}-minute limit."
            )
        except Exception as exc:
            log.exception("review %s crashed", self.review.pk)
            self._finish(Status.FAILED, error=_internal_error_sentence(exc))
        finally:
            keeper.stop()

    def _run(self):
        announce(self.writer, Status.PACKING, "reading the archive")
        model = library_settings.model_for(self.review.model)
        try:
            packed = pack(
                self.review.archive.path,
                self.review.spec.path,
                library_settings.budget_for(model),
                library_settings.pack_options_for(self.review.project),
            )
        except PackingError as exc:
            self._finish(Status.FAILED, error=str(exc))
            return
        summary = packed.summary()
        # The report links `path:line` citations to files the model was sent.
        summary["included_paths"] = [f.path for f in packed.included]
        Review.objects.filter(pk=self.review.pk).update(
            pack_summary=summary,
            spec_pages=packed.spec.page_count if packed.spec else None,
            estimated_cost_usd=llm.estimate_cost(
                model, packed.prompt_tokens + packed.spec_tokens, model.max_output_tokens
            ),
        )
        if self.cancel.is_set():
            self._finish(Status.CANCELLED, note="cancelled before the model was called")
            return
        request = library_settings.review_request(packed, self.review.spec_name)
        self._stream(model, request)

    def _stream(self, model, request):
        status = Status.STREAMING
        self._set_status(status, "waiting for the model's first token")
        finished = None
        try:
            for event in llm.stream_review(
                model,
                library_settings.endpoint_for(model, self.review.project.team),
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
                    self.writer.append(DELTA, event.text)
                    self._maybe_checkpoint()
                elif isinstance(event, llm.Status):
                    # Retry back-off, rate limits and an open breaker are all waits.
                    status = Status.STREAMING if event.state == "streaming" else Status.WAITING
                    self._set_status(status, event.message)
                elif isinstance(event, llm.Finished):
                    finished = event
        except llm.Cancelled:
            self._finish(Status.CANCELLED, note="cancelled")
            return
        except llm.LLMError as exc:
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
        cost = None
        if prompt_tokens is not None and completion_tokens is not None:
            cost = llm.estimate_cost(model, prompt_tokens, completion_tokens)
        self._finish(
            Status.DONE,
            note=note,
            finish_reason=finished.finish_reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost,
        )

    def _set_status(self, status, note):
        Review.objects.filter(pk=self.review.pk).update(status=status, status_note=note[:300])
        announce(self.writer, status, note)

    def _maybe_checkpoint(self):
        if time.monotonic() - self.last_checkpoint < settings.REVIEW_CHECKPOINT_SECONDS:
            return
        self.last_checkpoint = time.monotonic()
        Review.objects.filter(pk=self.review.pk).update(
            report="".join(self.text), report_event_id=self.writer.last_id
        )

    def _finish(self, status, *, error="", note="", **fields):
        finish(
            self.review.pk,
            self.writer,
            status,
            report="".join(self.text),
            error=error,
            note=note,
            **fields,
        )


def _internal_error_sentence(exc):
    # Never echo an arbitrary exception to the page: it may carry paths or keys.
    return f"The review stopped because of an internal error ({type(exc).__name__})."
