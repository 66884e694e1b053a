"""One file as the prompt shows it: a heading, a fenced block, numbered lines.

A file is data, never instructions, and it cannot close its own block: every content line
starts with its number, and the fence is longer than the longest run of backticks anywhere
in the file, so no text of the file - even one that tries to imitate the closing fence and
the next file's heading - can end the block early.

``unnumbered`` is the inverse of the layout, so the exact text the model saw can be
recovered from the prompt later (sent.py) instead of keeping a second copy of it.
"""

from __future__ import annotations

import operator
import posixpath
import re

EMPTY_BODY = "(empty file)"
_BACKTICKS = re.compile("`+")

_PREFIXES: list[str] = []


def numbered(text: str) -> str:
    """Each line prefixed with its 1-based number so the model can cite path:line.

    Unpadded ("7| x", not "  7| x"): padding costs a whitespace token on most lines,
    ~0.6 token per line, for no gain to the model.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(_PREFIXES) < len(lines):  # built once, reused: a third of the layout time
        _PREFIXES.extend(f"{i}| " for i in range(len(_PREFIXES) + 1, len(lines) + 1))
    return "\n".join(map(operator.add, _PREFIXES, lines))


def unnumbered(body: str, final_newline: bool) -> str:
    """The text that ``numbered`` (or an empty file) turned into ``body``.

    numbered() drops a final newline, so whether there was one is passed back in."""
    if body == EMPTY_BODY:  # a real one-line file reading so would be "1| (empty file)"
        return ""
    # The first "| " of each line ends its number: the number has no "|" in it.
    text = "\n".join(line.partition("| ")[2] for line in body.split("\n"))
    return text + "\n" if final_newline else text


def fence_for(text: str) -> str:
    """Three backticks, or one more than the longest backtick run in ``text``."""
    if "```" not in text:  # most files: a substring search instead of the regex scan
        return "```"
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    return "`" * max(3, longest + 1)


def _block_head(path: str, fence: str) -> str:
    return f"### {path}\n{fence}{_lang(path)}\n"


def _block_end(fence: str) -> str:
    # Ends with a blank line: the next piece starts with '#' after "\n\n", a point
    # where o200k's pre-tokenizer always splits, so piece counts add up exactly.
    return f"\n{fence}\n\n"


def file_block(path: str, text: str) -> str:
    fence = fence_for(text)
    body = numbered(text) if text else EMPTY_BODY
    return f"{_block_head(path, fence)}{body}{_block_end(fence)}"


def body_span(path: str, block: str) -> tuple[int, int]:
    """Start and end of the numbered body inside ``file_block(path, ...)``."""
    after_heading = len(f"### {path}\n")
    fence = _BACKTICKS.match(block, after_heading)
    assert fence is not None, "not a block made by file_block"
    return len(_block_head(path, fence.group())), len(block) - len(_block_end(fence.group()))


_LANGS = {
    ".py": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".ts": "typescript", ".tsx": "tsx", ".jsx": "jsx", ".go": "go", ".rs": "rust",
    ".java": "java", ".kt": "kotlin", ".rb": "ruby", ".php": "php", ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".hpp": "cpp", ".cs": "csharp", ".swift": "swift",
    ".sh": "bash", ".sql": "sql", ".html": "html", ".css": "css", ".scss": "scss",
    ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".md": "markdown",
    ".xml": "xml", ".vue": "vue", ".svelte": "svelte", ".scala": "scala", ".ex": "elixir",
    ".exs": "elixir", ".dart": "dart", ".lua": "lua", ".r": "r", ".pl": "perl",
}  # fmt: skip


def _lang(path: str) -> str:
    return _LANGS.get(posixpath.splitext(path)[1].lower(), "")
