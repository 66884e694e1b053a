"""A run's writes to the relay: fenced by its token, deltas sent in small batches.

Deltas are joined and appended every few tens of milliseconds by a flusher thread, so
that relay load grows with reviews, not with tokens; status events go out at once, after
the text before them. A write refused by the fence stops every later write.
"""

import logging
import threading

from django.db import close_old_connections

from reviewer.streams.relay import DELTA, FenceLost, get_relay

log = logging.getLogger(__name__)


class RunWriter:
    def __init__(self, review_id, token, batch_seconds, relay=None):
        self.review_id = review_id
        self.token = token
        self.relay = relay or get_relay()
        self.batch_seconds = batch_seconds
        self.last_id = 0
        self.lost = None
        self._pending = []
        self._progress = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._flush_loop, daemon=True, name=f"review-{review_id}-relay"
        )
        self._thread.start()

    def delta(self, text):
        self._raise_if_lost()
        with self._lock:
            self._pending.append(text)

    def progress(self, event):
        """Queues a progress event: it goes out with the next batch, so that the run
        never waits on the relay for it."""
        self._raise_if_lost()
        with self._lock:
            self._progress.append(event)

    def events(self, events):
        """Appends `events` after any pending text, at once."""
        with self._lock:
            self._append(events)

    def flush(self):
        with self._lock:
            self._append([])

    def close_quietly(self):
        """Stops the flusher and writes what is pending, if the run still may."""
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self.flush()
        except Exception:
            log.warning("review %s: pending text not relayed", self.review_id, exc_info=True)

    def _append(self, events):
        self._raise_if_lost()
        batch = [(DELTA, "".join(self._pending))] if self._pending else []
        batch += self._progress
        batch += events
        if not batch:
            return
        try:
            self.last_id = self.relay.append(self.review_id, batch, self.token)
        except FenceLost as exc:
            self.lost = exc
            raise
        self._pending.clear()
        self._progress.clear()

    def _raise_if_lost(self):
        if self.lost is not None:
            raise FenceLost(str(self.lost))

    def _flush_loop(self):
        try:
            while not self._stop.wait(self.batch_seconds):
                try:
                    self.flush()
                except FenceLost:
                    return
                except Exception:
                    # The relay is down for a moment: the text stays pending and goes out
                    # with the next flush; the run's checkpoints keep it in the row too.
                    log.warning("review %s: relay write failed", self.review_id)
        finally:
            close_old_connections()
