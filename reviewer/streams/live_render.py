"""The answer as the page shows it while it streams: the blocks the model has finished,
rendered and sanitised exactly like the final report, and the unfinished tail as plain
escaped text (half a table or an unclosed fence would render as something it is not).

A block is finished once a blank line follows it outside a fenced code block, or once
its fence is closed. Only complete lines are looked at, so where the text is cut into
deltas never changes the result: the same text always splits the same way, which lets a
page rendered from the relay's text and a stream resumed after it agree.
"""

import html
import re
from functools import lru_cache

from reviewer.reports.rendering import render_report

# An opening or closing fence: up to three spaces, then three or more ` or ~.
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


class LiveText:
    """One viewer's view of the text so far. Keeps only the unfinished part."""

    def __init__(self, text=""):
        self.pending = ""  # text after the last finished block
        self._scanned = 0  # offset in `pending` of the first line not yet looked at
        self._fence = None  # (character, length) of the open fence, if any
        self.feed(text)

    def feed(self, delta):
        """Adds text; returns the Markdown of the blocks it finished ("" if none)."""
        self.pending += delta
        finished = 0
        while (newline := self.pending.find("\n", self._scanned)) >= 0:
            line = self.pending[self._scanned : newline]
            self._scanned = newline + 1
            if self._ends_block(line):
                finished = self._scanned
        done, self.pending = self.pending[:finished], self.pending[finished:]
        self._scanned -= finished
        return done

    def _ends_block(self, line):
        fence = _FENCE.match(line)
        if self._fence is not None:
            char, length = self._fence
            marker = fence and fence.group(1)
            if marker and marker[0] == char and len(marker) >= length:
                if not line[fence.end() :].strip():
                    self._fence = None
                    return True
            return False
        if fence is not None:
            marker, info = fence.group(1), line[fence.end() :]
            # A backtick fence's info string cannot hold a backtick (it is inline code).
            if not (marker[0] == "`" and "`" in info):
                self._fence = (marker[0], len(marker))
                return False
        return not line.strip()

    @property
    def tail(self):
        return self.pending


@lru_cache(maxsize=256)
def render_blocks(markdown_text):
    """Sanitised HTML of finished blocks; viewers in step render the same pieces, so
    the result is shared."""
    return render_report(markdown_text)


def tail_html(tail):
    return html.escape(tail)


def split_for_page(text):
    """(finished blocks' HTML, unfinished tail) of the text so far, for the first paint."""
    live = LiveText()
    finished = live.feed(text)
    return render_blocks(finished) if finished else "", live.tail
