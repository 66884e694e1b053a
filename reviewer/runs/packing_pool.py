"""Packing for the worker's reviews, in a few processes of its own.

A pack is seconds of CPU-bound Python that holds the GIL; on the review's own thread it
would stall the hundred other reviews streaming on threads of the same process. So the
worker packs in PACK_PROCESSES processes (spawned: a multi-threaded process is never
forked) and the review's thread waits for the result, looking at its cancel event.

Progress reaches the page as before: a child sends its throttled `(stage, done, total)`
calls through a queue, and a thread of the worker hands them to the review that asked.
A prefork worker's child (daemonic, it cannot have children) packs in itself.
"""

import concurrent.futures
import itertools
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures.process import BrokenProcessPool

from django.conf import settings

from reviewer.packing import pack as pack_here
from reviewer.packing.progress import nothing, throttled
from reviewer.packing.split import pack_split as pack_split_here

log = logging.getLogger(__name__)

WAIT_SECONDS = 0.2
CHILD_PROGRESS_SECONDS = 0.1
DRAIN_SECONDS = 2.0  # at most, for a pack's last progress after its result
_in_process = False
_pool = None
_pool_lock = threading.Lock()


class PackCancelled(Exception):
    """The review was cancelled (or ran out of time) while it was packing."""


def use_in_process():
    """For a prefork pool's child: its packs run in itself."""
    global _in_process
    _in_process = True


def pack(archive, spec, budget, options, progress=nothing, cancel=None):
    pool = _get_pool()
    if pool is None:
        return pack_here(archive, spec, budget, options, progress=progress)
    return pool.run("pack", (archive, spec, budget, options), progress, cancel)


def pack_split(archive, spec, budget, options, cancel=None):
    pool = _get_pool()
    if pool is None:
        return pack_split_here(archive, spec, budget, options)
    return pool.run("split", (archive, spec, budget, options), None, cancel)


def _get_pool():
    global _pool
    if _in_process or settings.PACK_PROCESSES <= 0:
        return None
    with _pool_lock:
        if _pool is None:
            _pool = PackPool(settings.PACK_PROCESSES)
        return _pool


def _drop_pool(pool):
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown()


class PackPool:
    def __init__(self, processes):
        context = multiprocessing.get_context("spawn")
        self._progress = context.Queue()
        self._executor = concurrent.futures.ProcessPoolExecutor(
            processes, mp_context=context, initializer=_child_init, initargs=(self._progress,)
        )
        self._watchers = {}  # job -> progress callback
        self._drained = {}  # job -> set once the child sent all of its progress
        self._jobs = itertools.count(1)
        self._lock = threading.Lock()
        self.last_pid = None  # the process of the last finished pack (for tests and logs)
        threading.Thread(target=self._relay, daemon=True, name="pack-progress").start()

    def run(self, kind, args, progress, cancel):
        job = next(self._jobs)
        if progress is not None:
            with self._lock:
                self._watchers[job] = progress
                self._drained[job] = threading.Event()
        try:
            future = self._executor.submit(_child_pack, job, kind, args, progress is not None)
            while True:
                try:
                    pid, result = future.result(timeout=WAIT_SECONDS)
                    self.last_pid = pid
                    self._wait_for_progress(job)
                    return result
                except concurrent.futures.TimeoutError:
                    if cancel is not None and cancel.is_set():
                        # A pack already running finishes in its child; nobody reads it.
                        future.cancel()
                        raise PackCancelled() from None
        except BrokenProcessPool:
            log.error("a packing process died; starting new ones")
            _drop_pool(self)
            raise
        finally:
            with self._lock:
                self._watchers.pop(job, None)
                self._drained.pop(job, None)

    def _wait_for_progress(self, job):
        """The result comes back on another channel than the progress: without this wait
        a small pack's last counts could arrive after its watcher is gone."""
        with self._lock:
            drained = self._drained.get(job)
        if drained is not None and job in self._watchers:
            drained.wait(DRAIN_SECONDS)

    def _relay(self):
        while True:
            try:
                message = self._progress.get()
            except (EOFError, OSError):
                return
            if message is None:
                return
            job, stage, done, total = message
            with self._lock:
                watcher = self._watchers.get(job)
                drained = self._drained.get(job)
            if stage is None:  # the child's pack ended: every progress call came before
                if drained is not None:
                    drained.set()
                continue
            if watcher is None:
                continue
            try:
                watcher(stage, done, total)
            except Exception:
                # The run learns of a lost relay on its own next write.
                log.debug("pack progress not relayed", exc_info=True)

    def shutdown(self):
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._progress.put(None)


# -- in the packing processes -----------------------------------------------------------
_child_queue = None


def _child_init(progress_queue):
    global _child_queue
    _child_queue = progress_queue
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent):
    # A worker killed outright leaves its packing processes behind, blocked on a queue
    # whose both ends they hold; they go once their parent is gone.
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def _child_pack(job, kind, args, watched):
    if kind == "split":
        return os.getpid(), pack_split_here(*args)
    progress = nothing
    if watched:

        def send(stage, done, total):
            _child_queue.put((job, stage, done, total))

        progress = throttled(send, CHILD_PROGRESS_SECONDS)
    try:
        return os.getpid(), pack_here(*args, progress=progress)
    finally:
        if watched:
            _child_queue.put((job, None, 0, 0))
