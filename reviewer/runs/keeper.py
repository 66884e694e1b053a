"""The thread that keeps a run's claim alive: it renews the lease and turns a Cancel
press into the client's cancel event, off the streaming thread so that a silent
upstream cannot delay either. When the run loses the review, it says so and stops it."""

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections

from reviewer.reviews.models import Review
from reviewer.runs.lifecycle import renew_lease

log = logging.getLogger(__name__)


class Keeper(threading.Thread):
    def __init__(self, review_id, token, cancel):
        super().__init__(daemon=True, name=f"review-{review_id}-keeper")
        self.review_id = review_id
        self.token = token
        self.cancel = cancel
        self.lost = threading.Event()
        self.reason = ""
        self.stopped = threading.Event()
        self.lease = settings.REVIEW_LEASE_SECONDS
        self._renewed = time.monotonic()

    def owns(self):
        """False once the run lost the review, or its last renewal is as old as a lease
        (the reaper may be taking it over even before the keeper notices)."""
        return not self.lost.is_set() and time.monotonic() - self._renewed < self.lease

    def run(self):
        renew_every = max(0.5, self.lease / 4)
        next_renewal = self._renewed + renew_every
        failures = 0
        try:
            while not self.stopped.wait(self._pause(failures)):
                try:
                    if time.monotonic() >= next_renewal:
                        if not renew_lease(self.review_id, self.token):
                            self._lose("another worker took this review over")
                            return
                        self._renewed = time.monotonic()
                        next_renewal = self._renewed + renew_every
                    if Review.objects.filter(pk=self.review_id, cancel_requested=True).exists():
                        self.cancel.set()
                    failures = 0
                except Exception:
                    # A database restart or a network blip: try again with back-off, and
                    # give the review up before the lease runs out, not after.
                    failures += 1
                    log.warning("review %s: keeper could not reach the database", self.review_id)
                    close_old_connections()
                    if time.monotonic() >= self._give_up_at():
                        self._lose("its lease could not be renewed: the database did not answer")
                        return
        finally:
            close_old_connections()

    def _give_up_at(self):
        return self._renewed + self.lease * 0.75

    def _pause(self, failures):
        if not failures:
            return 0.5
        backoff = min(5.0, 0.25 * 2**failures)
        return max(0.05, min(backoff, self._give_up_at() - time.monotonic()))

    def _lose(self, reason):
        self.reason = reason
        log.warning("review %s: this run stops: %s", self.review_id, reason)
        self.lost.set()
        self.cancel.set()

    def stop(self):
        self.stopped.set()
        self.join(timeout=5)
