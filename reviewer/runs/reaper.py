"""Every worker looks for reviews whose worker died, so no beat process is needed. The
same loop drops the stream events of reviews that finished a while ago and deletes
expired drafts."""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)
_stop = threading.Event()


def _sweep():
    from reviewer.reviews.retention import expire_drafts
    from reviewer.runs.lifecycle import prune_finished_streams
    from reviewer.runs.tasks import reap_lost_reviews

    reap_lost_reviews()
    prune_finished_streams(settings.STREAM_KEEP_SECONDS)
    expire_drafts()


def _loop():
    while not _stop.wait(settings.REVIEW_REAP_SECONDS):
        try:
            _sweep()
        except Exception:
            log.exception("reaping lost reviews failed")
        finally:
            close_old_connections()


def start_reaper_thread():
    _stop.clear()
    threading.Thread(target=_loop, daemon=True, name="review-reaper").start()


def stop_reaper_thread():
    _stop.set()
