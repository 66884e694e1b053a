"""Progress of a pack, for a person watching: plain callbacks, throttled.

A callback takes ``(stage, done, total)``: ``stage`` is one of STAGES, ``done`` how many
items of the stage are through, ``total`` how many there are (None while unknown, as
while an archive is read from the start).
"""

from __future__ import annotations

import time
from collections.abc import Callable

READING, COUNTING, FITTING = "reading", "counting", "fitting"
STAGES = (READING, COUNTING, FITTING)

ProgressCallback = Callable[[str, int, "int | None"], None]


def nothing(stage: str, done: int, total: int | None) -> None:
    """The callback of a pack nobody watches."""


def throttled(
    callback: ProgressCallback,
    interval: float = 0.25,
    clock: Callable[[], float] = time.monotonic,
) -> ProgressCallback:
    """Passes calls on at most once per ``interval``; a new stage and a stage's last item
    always pass, so the watcher sees every stage begin and end."""
    state = {"stage": None, "at": float("-inf")}

    def report(stage: str, done: int, total: int | None) -> None:
        now = clock()
        finished = total is not None and done >= total
        if stage == state["stage"] and not finished and now - state["at"] < interval:
            return
        state["stage"], state["at"] = stage, now
        callback(stage, done, total)

    return report
