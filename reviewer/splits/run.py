"""A split review's run: the parts' requests, up to SPLIT_PARALLEL_PARTS at once, then the
merge of their reports.

The review's run (runs/run.py) owns the review through its fencing token and keeper;
the parts are threads of that run (streaming is I/O: one process holds several), each
with its own cancel event, status, text and usage, and each write fenced by the same
token. All requests go through llm.stream_review with the shared rate limits and
circuit breaker, exactly as a single request does.

A part that fails or is cancelled does not stop the others. Once none is left to run,
the review ends: failed or cancelled when a part did not finish (each such part can be
retried alone, see lifecycle.retry_part), else the merge runs and the review is done.
"""

import logging
import tempfile
import threading
import time

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import close_old_connections, transaction
from django.db.models.functions import Now

from reviewer import llm
from reviewer.packing import PackingError
from reviewer.packing.split import write_split_sent_files
from reviewer.packing.synthesis import SYNTHESIS_INSTRUCTIONS, synthesis_prompt
from reviewer.reviews.models import Review, Status
from reviewer.runs import library_settings
from reviewer.runs.packing_pool import PackCancelled, pack_split
from reviewer.splits import events as ev
from reviewer.splits.lifecycle import fenced_part_update, reconcile
from reviewer.splits.models import PartStatus, ReviewPart
from reviewer.streams.relay import FenceLost

log = logging.getLogger(__name__)
POLL_SECONDS = 0.3
AGAIN, ENDED, MERGE = "again", "ended", "merge"


def run_split(run, model):
    """Runs `run`'s review in parts. False when the repository fits in one request: the
    caller then sends it as one, as a review in the usual mode would be."""
    try:
        split = pack_split(
            run.review.archive.path,
            run.review.spec.path,
            library_settings.budget_for(model),
            library_settings.pack_options_for_review(run.review),
            cancel=run.cancel,
        )
    except PackingError as exc:
        run._finish(Status.FAILED, error=str(exc))
        return True
    except PackCancelled:
        run._finish_cancelled("cancelled while packing")
        return True
    if len(split.parts) < 2:
        return False
    SplitRun(run, model, split).execute()
    return True


class SplitRun:
    def __init__(self, run, model, split):
        self.run, self.model, self.split = run, model, split
        self.review = run.review
        self.endpoint = library_settings.endpoint_for(model, self.review.project.team)
        self.cancels = {}  # index -> threading.Event of a running part
        self.threads = {}
        self.lost = None

    def execute(self):
        self._store_pack()
        problem = reconcile(self.review, self.run.token, self.split)
        if problem:
            self.run._finish(Status.FAILED, error=problem)
            return
        self.run.writer.events([(ev.PARTS, "")])
        try:
            while True:
                self._run_parts()
                outcome = self._conclude_parts()
                if outcome == ENDED:
                    return
                if outcome == MERGE:
                    self.run._set_status(Status.STREAMING, "merging the parts' reports")
                    self._run_parts(synthesis=True)
                    if self._conclude_synthesis():
                        return
        except BaseException:
            # Nothing of this run may go on streaming (and costing) once it stops.
            for cancel in self.cancels.values():
                cancel.set()
            raise

    # -- packing ------------------------------------------------------------------------
    def _store_pack(self):
        split = self.split
        summary = split.summary()
        summary["included_paths"] = [f.path for p in split.parts for f in p.included]
        self.run._update(
            sent_files=_store_sent_files(split),
            pack_summary=summary,
            spec_pages=split.spec.page_count if split.spec else None,
            estimated_cost_usd=estimated_cost(self.model, split),
        )

    def _request(self, part_row):
        spec = self.split.spec
        if part_row.is_synthesis:
            texts = [p.text for p in self._rows() if not p.is_synthesis]
            prompt, tokens = synthesis_prompt(
                self.split.title, self.split.parts_section, texts, self.split.whole.budget_tokens
            )
            instructions = SYNTHESIS_INSTRUCTIONS
        else:
            part = self.split.parts[part_row.index]
            prompt, tokens, instructions = part.prompt, part.prompt_tokens, self.split.instructions
        return llm.ReviewRequest(
            instructions=instructions,
            prompt=prompt,
            spec_filename=self.review.spec_name,
            spec_pdf=spec.read_bytes() if spec else None,
            spec_text=spec.text if spec else None,
            estimated_prompt_tokens=tokens + self.split.spec_tokens,
            spec_pages=spec.page_count if spec else None,
        )

    # -- scheduling ---------------------------------------------------------------------
    def _rows(self):
        return list(ReviewPart.objects.filter(review=self.review).order_by("index"))

    def _run_parts(self, synthesis=False):
        """Runs the queued parts (or the merge) until none is queued or running."""
        parallel = 1 if synthesis else settings.SPLIT_PARALLEL_PARTS
        last_note = None
        while True:
            self.run._check_owner()
            rows = [r for r in self._rows() if r.is_synthesis == synthesis]
            self._reap_threads()
            if self.lost is not None:
                raise self.lost
            stopping = [r for r in rows if self.run.cancel.is_set() or r.cancel_requested]
            for row in stopping:
                if row.index in self.cancels:
                    self.cancels[row.index].set()
            for row in stopping:
                if row.index not in self.threads and row.status == PartStatus.QUEUED:
                    self._end_unsent(row)
            queued = [
                r
                for r in rows
                if r.status == PartStatus.QUEUED
                and not r.cancel_requested
                and r.index not in self.threads
                and not self.run.cancel.is_set()
            ]
            for row in queued[: max(0, parallel - len(self.threads))]:
                self._start(row)
            note = _progress(rows) if not synthesis else None
            if note and note != last_note:
                self.run._set_status(Status.STREAMING, note)
                last_note = note
            if not self.threads and not queued:
                return
            time.sleep(POLL_SECONDS)

    def _start(self, row):
        cancel = threading.Event()
        self.cancels[row.index] = cancel
        request = self._request(row)
        thread = threading.Thread(
            target=PartRun(self, row, request, cancel).main,
            daemon=True,
            name=f"review-{self.review.pk}-part-{row.index}",
        )
        self.threads[row.index] = thread
        thread.start()

    def _reap_threads(self):
        for index, thread in list(self.threads.items()):
            if not thread.is_alive():
                thread.join()
                del self.threads[index]
                del self.cancels[index]

    def _end_unsent(self, row):
        note = "cancelled with the review" if self.run.cancel.is_set() else "cancelled"
        fenced_part_update(
            self.review.pk,
            self.run.token,
            row.index,
            status=PartStatus.CANCELLED,
            status_note=note,
            finished_at=Now(),
        )
        self.run.writer.events(_status_events(row.index, PartStatus.CANCELLED, note))

    # -- ending -------------------------------------------------------------------------
    def _conclude_parts(self):
        """What comes after the parts: AGAIN when a part was retried meanwhile, ENDED
        when the review ended because a part did not finish, else MERGE. Under the
        review's row lock, so that a part retried at this moment either runs here or
        queues the finished review again (lifecycle.retry_part takes the same lock)."""
        with transaction.atomic():
            Review.objects.select_for_update().filter(pk=self.review.pk).first()
            parts = [r for r in self._rows() if not r.is_synthesis]
            retried = any(r.status == PartStatus.QUEUED and not r.cancel_requested for r in parts)
            if retried and not self.run.cancel.is_set():
                return AGAIN
            unfinished = [r for r in parts if r.status != PartStatus.DONE]
            if not unfinished:
                return MERGE
            self._finish_incomplete(unfinished)
            return ENDED

    def _conclude_synthesis(self):
        with transaction.atomic():
            Review.objects.select_for_update().filter(pk=self.review.pk).first()
            rows = self._rows()
            if any(r.status == PartStatus.QUEUED for r in rows if not r.is_synthesis):
                return False  # a part was retried meanwhile: run it, then merge again
            merge = rows[-1]
            if merge.status != PartStatus.DONE:
                self._finish_incomplete([merge])
                return True
            self._finish_done(rows)
            return True

    def _finish_incomplete(self, unfinished):
        failed = [r for r in unfinished if r.status == PartStatus.FAILED]
        first = failed[0] if failed else unfinished[0]
        if self.run.cancel.is_set() and not failed:
            self.run._finish_cancelled("cancelled")
            return
        count = len(unfinished)
        what = "did not finish" if count > 1 else f"{first.status_note or first.status}"
        note = (
            f"{first.label}{' and others' if count > 1 else ''} {what}; retry "
            f"{'them' if count > 1 else 'it'} to complete the review."
        )
        if failed:
            self.run._finish(Status.FAILED, error=f"{first.label} failed: {first.error}"[:2000])
        else:
            self.run._finish(Status.CANCELLED, note=note)

    def _finish_done(self, rows):
        merge = rows[-1]
        fields = {"finish_reason": merge.finish_reason}
        self.run.text = [merge.text]
        prompt = [r.prompt_tokens for r in rows]
        completion = [r.completion_tokens for r in rows]
        if None not in prompt and None not in completion:
            fields["prompt_tokens"] = sum(prompt)
            fields["completion_tokens"] = sum(completion)
        costs = [r.cost_usd for r in rows]
        if None not in costs:
            fields["cost_usd"] = sum(costs)
        note = {"length": "truncated: the merge reached the model's output limit"}
        self.run._finish(Status.DONE, note=note.get(merge.finish_reason, ""), **fields)


class PartRun:
    """One part's request, on a thread of its own; its writes are fenced by the run's
    token. A FenceLost here is handed to the run, which stops."""

    def __init__(self, split_run, row, request, cancel):
        self.sr, self.row, self.request, self.cancel = split_run, row, request, cancel
        self.run = split_run.run
        self.index = row.index
        self.text = []
        self.pending = []
        self.last_flush = self.last_checkpoint = time.monotonic()

    def main(self):
        try:
            self._stream()
        except FenceLost as exc:
            self.sr.lost = exc
        except Exception as exc:
            log.exception("review %s: part %s crashed", self.run.review.pk, self.index)
            self._end_quietly(PartStatus.FAILED, error=_internal(exc))
        finally:
            close_old_connections()

    def _stream(self):
        self._update(
            status=PartStatus.WAITING,
            status_note="waiting for the model's first token",
            text="",
            error="",
            attempts=self.row.attempts + 1,
            started_at=Now(),
            finished_at=None,
        )
        self.run.writer.events(
            [
                ev.part_event(ev.PART_RESET, self.index),
                *_status_events(self.index, PartStatus.WAITING, "waiting for the first token"),
            ]
        )
        finished = None
        state = PartStatus.WAITING
        try:
            for event in llm.stream_review(
                self.sr.model,
                self.sr.endpoint,
                self.request,
                settings=library_settings.client_settings(),
                shared=library_settings.shared_state(),
                cancel=self.cancel,
            ):
                if isinstance(event, llm.Delta):
                    if state != PartStatus.STREAMING:
                        state = PartStatus.STREAMING
                        self._status(state, "")
                    self._delta(event.text)
                elif isinstance(event, llm.Status):
                    state = PartStatus.STREAMING if event.state == "streaming" else "waiting"
                    self._status(state, event.message)
                elif isinstance(event, llm.Finished):
                    finished = event
        except llm.Cancelled:
            if self.run.keeper.lost.is_set():
                raise FenceLost(self.run.keeper.reason) from None
            note = "cancelled with the review" if self.run.cancel.is_set() else "cancelled"
            self._end(PartStatus.CANCELLED, note=note)
            return
        except llm.LLMError as exc:
            self._end(PartStatus.FAILED, error=exc.message)
            return
        self._end_success(finished)

    def _end_success(self, finished):
        prompt, completion = finished.prompt_tokens, finished.completion_tokens
        cost = None
        if prompt is not None and completion is not None:
            cost = llm.estimate_cost(self.sr.model, prompt, completion)
        note = "truncated: the model reached its output limit"
        self._end(
            PartStatus.DONE,
            note=note if finished.finish_reason == "length" else "",
            finish_reason=finished.finish_reason,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost,
        )

    # -- fenced writes ------------------------------------------------------------------
    def _update(self, **fields):
        self.run._check_owner()
        fenced_part_update(self.run.review.pk, self.run.token, self.index, **fields)

    def _status(self, state, note):
        self._flush()
        self._update(status=state, status_note=note[:300])
        self.run.writer.events(_status_events(self.index, state, note))

    def _delta(self, text):
        self.text.append(text)
        self.pending.append(text)
        now = time.monotonic()
        if now - self.last_flush >= settings.RELAY_BATCH_MILLISECONDS / 1000:
            self._flush()
        if now - self.last_checkpoint >= settings.REVIEW_CHECKPOINT_SECONDS:
            self.last_checkpoint = now
            self._update(text="".join(self.text))

    def _flush(self):
        self.last_flush = time.monotonic()
        if self.pending:
            text = "".join(self.pending)
            self.run.writer.events([ev.part_event(ev.PART_DELTA, self.index, text)])
            self.pending.clear()

    def _end(self, status, *, error="", note="", **fields):
        self._flush()
        self._update(
            status=status,
            status_note=(note or error)[:300],
            error=error,
            text="".join(self.text),
            finished_at=Now(),
            **fields,
        )
        self.run.writer.events(_status_events(self.index, status, note or error))

    def _end_quietly(self, status, *, error):
        try:
            self._end(status, error=error)
        except FenceLost as exc:
            self.sr.lost = exc


def _status_events(index, status, note):
    return [
        ev.part_event(ev.PART_STATUS, index, status),
        ev.part_event(ev.PART_NOTE, index, note),
    ]


def _progress(rows):
    counts = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    order = ("done", "streaming", "waiting", "queued", "failed", "cancelled")
    listed = ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s))
    return f"{len(rows)} parts: {listed}"


def estimated_cost(model, split):
    """Every part's input and a full-length answer, plus the merge: its input at most
    the parts' answers and the frame, its answer full-length too."""
    total = sum(
        llm.estimate_cost(model, p.prompt_tokens + split.spec_tokens, model.max_output_tokens)
        for p in split.parts
    )
    merge_input = min(split.whole.budget_tokens, len(split.parts) * model.max_output_tokens + 2_000)
    return total + llm.estimate_cost(
        model, merge_input + split.spec_tokens, model.max_output_tokens
    )


def _store_sent_files(split):
    with tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as sent:
        write_split_sent_files(split, sent)
        sent.seek(0)
        return default_storage.save("sent/files.zip", File(sent))


def _internal(exc):
    return f"The part stopped because of an internal error ({type(exc).__name__})."
