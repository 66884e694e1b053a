import logging
import threading

from django.conf import settings
from django.db import close_old_connections

from reviewer.runs.lifecycle import reap_expired

log = logging.getLogger(__name__)
_stop = threading.Event()


def _loop():
    while not _stop.wait(settings.REVIEW_REAP_SECONDS):
        try:
            reap_expired()
        except Exception:
            log.exception("reaping lost reviews failed")
        finally:
            close_old_connections()


def start_reaper_thread():
    _stop.clear()
    threading.Thread(target=_loop, daemon=True, name="review-reaper").start()


def stop_reaper_thread():
    _stop.set()
