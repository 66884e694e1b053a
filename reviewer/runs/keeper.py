"""What keeps a run's claim alive: lease renewal, a Cancel press turned into the client's
cancel event, and the review's time limit, off the streaming thread so that a silent
upstream cannot delay any of them. When the run loses the review, it says so and stops it.

One thread per process serves every run's keeper: a worker holds a hundred reviews at
once on threads, and one thread asking the database for all of them (one query for the
cancels, a renewal per review every quarter lease) keeps to one database connection
where a thread per review would hold a hundred.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections

from reviewer.reviews.models import Review
from reviewer.runs.lifecycle import fenced, renew_lease

log = logging.getLogger(__name__)

TICK_SECONDS = 0.1
CANCEL_POLL_SECONDS = 0.5


class Keeper:
    def __init__(self, review_id, token, cancel, time_limit=None):
        self.review_id = review_id
        self.token = token
        self.cancel = cancel
        self.lost = threading.Event()
        self.reason = ""
        self.timed_out = ""  # the sentence the review fails with, once over its limit
        self.lease = settings.REVIEW_LEASE_SECONDS
        self.limit = settings.REVIEW_TIME_LIMIT if time_limit is None else time_limit
        self._started = self._renewed = time.monotonic()
        self._renew_every = max(0.5, self.lease / 4)
        self._next_renewal = self._renewed + self._renew_every
        self._next_step = self._renewed + CANCEL_POLL_SECONDS
        self._failures = 0
        self._stopped = False
        self._busy = threading.Lock()  # held while the keepers' thread works on this one
        self._checkpoint = None
        self._checkpoint_lock = threading.Lock()

    def owns(self):
        """False once the run lost the review, or its last renewal is as old as a lease
        (the reaper may be taking it over even before the keeper notices)."""
        return not self.lost.is_set() and time.monotonic() - self._renewed < self.lease

    def checkpoint(self, **fields):
        """Writes `fields` (the text streamed so far) into the row from the keepers'
        thread, within half a second: the run's own thread holds no connection while it
        streams. A newer checkpoint replaces one not written yet."""
        with self._checkpoint_lock:
            self._checkpoint = fields or None

    def start(self):
        _keepers.add(self)

    def stop(self):
        """After this returns, the keeper does nothing more for the run."""
        _keepers.remove(self)
        with self._busy:
            self._stopped = True

    # -- called by the keepers' thread ---------------------------------------------------
    def due(self, now):
        return not self._stopped and not self.lost.is_set() and now >= self._next_step

    def step(self, cancel_requested):
        """One look after the review; `cancel_requested` is None when the database could
        not be asked."""
        with self._busy:
            if self._stopped or self.lost.is_set():
                return
            self._check_limit()
            try:
                if cancel_requested is None:
                    raise ConnectionError("the cancel poll failed")
                if time.monotonic() >= self._next_renewal:
                    if not renew_lease(self.review_id, self.token):
                        self._lose("another worker took this review over")
                        return
                    self._renewed = time.monotonic()
                    self._next_renewal = self._renewed + self._renew_every
                if not self._write_checkpoint():
                    self._lose("another worker took this review over")
                    return
                if cancel_requested:
                    self.cancel.set()
                self._failures = 0
            except Exception:
                # A database restart or a network blip: try again with back-off, and give
                # the review up before the lease runs out, not after.
                self._failures += 1
                log.warning("review %s: keeper could not reach the database", self.review_id)
                close_old_connections()
                if time.monotonic() >= self._give_up_at():
                    self._lose("its lease could not be renewed: the database did not answer")
                    return
            self._next_step = time.monotonic() + self._pause()

    def _write_checkpoint(self):
        with self._checkpoint_lock:
            fields, self._checkpoint = self._checkpoint, None
        if not fields:
            return True
        try:
            return bool(fenced(self.review_id, self.token).update(**fields))
        except Exception:
            with self._checkpoint_lock:
                self._checkpoint = self._checkpoint or fields  # tried again next step
            raise

    def _check_limit(self):
        if self.timed_out or not self.limit:
            return
        if time.monotonic() - self._started >= self.limit:
            self.timed_out = f"The review took longer than its {_duration(self.limit)} limit."
            log.warning("review %s: %s", self.review_id, self.timed_out)
            self.cancel.set()

    def _give_up_at(self):
        return self._renewed + self.lease * 0.75

    def _pause(self):
        if not self._failures:
            return CANCEL_POLL_SECONDS
        backoff = min(5.0, 0.25 * 2**self._failures)
        return max(0.05, min(backoff, self._give_up_at() - time.monotonic()))

    def _lose(self, reason):
        self.reason = reason
        log.warning("review %s: this run stops: %s", self.review_id, reason)
        self.lost.set()
        self.cancel.set()


def _duration(seconds):
    if seconds % 60 == 0:
        return f"{seconds // 60}-minute"
    return f"{seconds}-second"


class _Keepers:
    """The one thread of a process that steps every running review's keeper."""

    def __init__(self):
        self._keepers = set()
        self._lock = threading.Lock()
        self._thread = None

    def add(self, keeper):
        with self._lock:
            self._keepers.add(keeper)
            # Started on first use, so that a forked pool child starts its own.
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, daemon=True, name="keepers")
                self._thread.start()

    def remove(self, keeper):
        with self._lock:
            self._keepers.discard(keeper)

    def _loop(self):
        idle = True
        while True:
            time.sleep(TICK_SECONDS)
            try:
                now = time.monotonic()
                with self._lock:
                    due = [k for k in self._keepers if k.due(now)]
                    empty = not self._keepers
                if due:
                    idle = False
                    self._step(due)
                elif empty and not idle:
                    idle = True
                    close_old_connections()  # no connection held while no review runs
            except Exception:
                # Never ends: every running review of the process depends on this thread.
                log.exception("the keepers' thread failed a round")

    def _step(self, due):
        try:
            ids = [k.review_id for k in due]
            flagged = Review.objects.filter(pk__in=ids, cancel_requested=True)
            cancelled = set(flagged.values_list("pk", flat=True))
        except Exception:
            close_old_connections()
            cancelled = None
        for keeper in due:
            try:
                keeper.step(None if cancelled is None else keeper.review_id in cancelled)
            except Exception:
                log.exception("review %s: keeper step failed", keeper.review_id)


_keepers = _Keepers()
