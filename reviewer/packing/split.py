"""Split mode: the whole repository in several requests, one per part (see parts.py).

Every part's request is laid out the same way, so that the start of all of them is
byte-identical and a provider's prompt cache serves it after the first part:

  system:  PART_INSTRUCTIONS                        (the same for every part)
  user:    the specification (PDF or its text)      (the same)
           the overview: the whole tree, the parts  (the same)
           "part k of n" and this part's files      (only this, last)

Nothing is dropped for the budget: a file larger than a whole part is the only thing
ever cut short, and its block says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from .blocks import body_span
from .errors import PackingError
from .models import Budget, IncludedFile, Pack, PackOptions, SentSpan, SpecDocument
from .parts import Part, partition
from .pipeline import (
    _cached_counter,
    _check_spec,
    _read_repository,
    _Room,
    _room,
    _selector,
    _spec_note,
    _title,
)
from .request import Candidate, Omitted, render_omitted
from .scan import Scanned, scan
from .token_cache import TokenCache
from .tokens import count_tokens
from .tree import render_tree

PART_INSTRUCTIONS = """\
You are a senior software engineer reviewing a code repository against its \
specification. The specification is the attached PDF document. The repository is \
too large for one request, so it is reviewed in parts: the user message gives an \
overview of the whole repository and of its parts, then says which part this \
request is, then every file of that part with line numbers.

Review the files of this part only, and answer three questions, grounded in them:

1. Conformance: does this part's code do what the specification says? For each \
significant requirement it touches, state whether it is met, partly met or \
contradicted, and cite the evidence as `path:line` (or `path:start-end`).
2. Missing or incomplete: which APIs, features, endpoints, data fields, \
validations or behaviours that the specification requires, and that belong in this \
part's folders, are absent or only partly implemented? Reference the specification \
section for each. Something that may live in another part is not missing: name the \
part where you would expect it instead.
3. Refactoring: what in this part should be restructured, simplified or made safer, \
in order of impact, each with `path:line` citations and a concrete suggestion.

Rules:
- Cite only paths and line numbers of the files given; never invent code. The \
number before "|" on each line is its line number.
- Files of other parts are reviewed in other requests; do not claim them missing.
- Values shown as [REDACTED:kind] were secrets removed before review; treat them as \
present but unknown, and do not report them as bugs.
- If the specification is ambiguous, say so rather than guessing.
- Your report is merged with the other parts' reports afterwards: be specific and brief.

Write the report in Markdown with exactly these sections:
# Review of one part
## Summary
## 1. Conformance to the specification
## 2. Missing or incomplete features
## 3. Refactoring recommendations
"""

# Roots listed per part in the overview; a part with more is described by its range.
MAX_ROOTS_LISTED = 8


@dataclass
class PartRequest:
    index: int  # 0-based
    prompt: str = field(repr=False)
    prompt_tokens: int  # instructions + prompt, the spec excluded
    included: list[IncludedFile]
    roots: list[str]
    truncated: list[str]

    @property
    def files(self) -> list[str]:
        return [f.path for f in self.included]


@dataclass
class SplitPack:
    instructions: str
    overview: str = field(repr=False)
    parts: list[PartRequest]
    title: str
    parts_section: str = field(repr=False)
    whole: Pack | None  # every file, for the summary (its prompt is empty: nothing sent as one)

    @property
    def spec(self) -> SpecDocument | None:
        return self.whole.spec

    @property
    def spec_tokens(self) -> int:
        return self.whole.spec_tokens

    def summary(self) -> dict:
        """Pack.summary() of the whole repository, with the parts: which part saw which
        file, and each part's input tokens."""
        out = self.whole.summary()
        out["split"] = {
            "parts": [
                {
                    "index": p.index,
                    "files": p.files,
                    "roots": p.roots,
                    "truncated": p.truncated,
                    "input_tokens": p.prompt_tokens + self.spec_tokens,
                }
                for p in self.parts
            ],
            "input_tokens": sum(p.prompt_tokens for p in self.parts)
            + self.spec_tokens * len(self.parts),
        }
        return out


def pack_split(
    archive_path: str | os.PathLike,
    spec_path: str | os.PathLike | None,
    budget: Budget,
    options: PackOptions | None = None,
) -> SplitPack:
    """Read, select and redact as pack() does, then lay every file out in parts."""
    options = options or PackOptions()
    spec = _check_spec(spec_path, budget, options)
    room = _room(budget, options, spec)
    prefix, by_path = _read_repository(archive_path, options)
    selector = _selector(by_path, options)
    cache = (
        TokenCache.open(options.cache_dir, options.cache_max_entries) if options.cache_dir else None
    )
    try:
        scanned = scan(by_path, selector, options, cache)
        title = _title(prefix, archive_path, options)
        return lay_out_parts(title, spec, scanned, room, _cached_counter(cache))
    finally:
        if cache is not None:
            cache.close()


def lay_out_parts(
    title: str,
    spec: SpecDocument | None,
    scanned: Scanned,
    room: _Room,
    count: Callable[[str], int] = count_tokens,
) -> SplitPack:
    candidates = scanned.candidates
    if not candidates:
        raise PackingError("The archive holds no text file to review.")
    by_path = {c.path: c for c in candidates}
    omitted = [Omitted(e.path, e.reason, e.detail) for e in scanned.excluded]
    frame = _Frame(title, _spec_note(spec), render_tree(list(by_path)), omitted, count)
    # The overview lists the parts, so its size depends on them: start from an estimate
    # and shrink the cap by what the largest part exceeds until every part fits.
    cap = room.budget_tokens - frame.fixed_tokens() - 64 * 8
    for _ in range(8):
        if cap < 1:
            break
        parts = partition({c.path: c.tokens for c in candidates}, cap)
        laid = frame.lay_out(parts, by_path, cap)
        excess = max(p.prompt_tokens for p in laid.parts) - room.budget_tokens
        if excess <= 0:
            return _with_whole(laid, spec, scanned, room)
        cap -= excess + 16
    raise PackingError(
        "The overview of this repository alone leaves no room for its files in this model's "
        "context; choose a model with a larger context."
    )


class _Frame:
    """What every part shares (instructions, overview) and each part's own head and tail."""

    def __init__(self, title, spec_note, tree, omitted, count):
        self.title, self.spec_note, self.tree, self.omitted = title, spec_note, tree, omitted
        self.count = count
        self.instr_tokens = count(PART_INSTRUCTIONS)

    def fixed_tokens(self) -> int:
        return self.instr_tokens + self.count(self.overview([], 0))

    def overview(self, parts: list[Part], total_files: int) -> str:
        lines = [
            f"# Repository under review: {self.title}\n",
            self.spec_note,
            f"The repository's {total_files} files under review are too many for one "
            f"request, so they are reviewed in {len(parts)} parts. Each part is a request "
            "of its own with this same overview; a last request merges the parts' reports.\n",
            "## Directory tree of all files under review\n```\n" + self.tree + "\n```\n",
            self.parts_section(parts),
        ]
        # Ends with a blank line, so the part's head starts where o200k always splits.
        return "\n".join(lines) + "\n"

    def parts_section(self, parts: list[Part]) -> str:
        """Which part holds what, and what no part holds; the synthesis gets it too."""
        listed = "\n".join(_describe(i, p) for i, p in enumerate(parts))
        return f"## The parts\n{listed}\n\n{render_omitted(self.omitted)}"

    def lay_out(self, parts: list[Part], by_path: dict, cap: int) -> SplitPack:
        total = sum(len(p.files) for p in parts)
        overview = self.overview(parts, total)
        shared_tokens = self.instr_tokens + self.count(overview)
        out = []
        for i, part in enumerate(parts):
            blocks, included, truncated = [], [], []
            head = _part_head(i, len(parts), part)
            offset = len(overview) + len(head)
            for unit in part.units:
                for path in unit.files:
                    c = by_path[path]
                    block, tokens, body = c.block, c.tokens, body_span(c.path, c.block)
                    if unit.truncated:
                        block, tokens, body = _truncated(c, cap, self.count)
                        truncated.append(path)
                    sent = SentSpan(offset + body[0], offset + body[1], c.final_newline)
                    included.append(IncludedFile(path, c.size_bytes, tokens, c.redactions, sent))
                    blocks.append(block)
                    offset += len(block)
            tail = _part_tail(sum(f.redactions for f in included))
            tokens = shared_tokens + self.count(head) + sum(f.tokens for f in included)
            tokens += self.count(tail)
            prompt = "".join([overview, head, *blocks, tail])
            out.append(PartRequest(i, prompt, tokens, included, part.roots, truncated))
        return SplitPack(
            PART_INSTRUCTIONS, overview, out, self.title, self.parts_section(parts), whole=None
        )


def _describe(index: int, part: Part) -> str:
    files = part.files
    roots = part.roots
    if roots == [""]:
        where = "every file"
    elif len(roots) <= MAX_ROOTS_LISTED:
        where = ", ".join(f"`{r}`" for r in roots)
    else:
        where = f"`{files[0]}` to `{files[-1]}` in the tree's order"
    return f"- Part {index + 1}: {where} ({len(files)} file{'s' if len(files) != 1 else ''})"


def _part_head(index: int, count: int, part: Part) -> str:
    return (
        f"## This request: part {index + 1} of {count}\n"
        f"Review the {len(part.files)} files of part {index + 1} below; the overview "
        "above says what the other parts hold.\n\n## Files of this part\n\n"
    )


def _part_tail(redactions: int) -> str:
    if redactions:
        return (
            f"## Redactions\n{redactions} value(s) that looked like secrets were replaced with "
            "`[REDACTED:<kind>]` before this request was sent. Treat them as present but "
            "unknown.\n"
        )
    return "## Redactions\nNo secrets were found in this part's files.\n"


def _truncated(c: Candidate, cap: int, count: Callable[[str], int]):
    """The file's block cut to its first lines, so that it fits ``cap`` tokens with a note
    saying so; its tokens; and where its body sits in the block."""
    start, end = body_span(c.path, c.block)
    head, lines = c.block[:start], c.block[start:end].split("\n")

    def build(n: int) -> str:
        note = (
            f"(Truncated: this file has {len(lines)} lines and is larger than one request; "
            f"only its first {n} lines are shown.)"
        )
        return f"{head}{chr(10).join(lines[:n])}\n```\n\n{note}\n\n"

    low, high = 0, len(lines)
    while low < high:  # the most lines that fit
        mid = (low + high + 1) // 2
        if count(build(mid)) <= cap:
            low = mid
        else:
            high = mid - 1
    block = build(low)
    body_end = start + len("\n".join(lines[:low]))
    return block, count(block), (start, body_end)


def _with_whole(laid: SplitPack, spec, scanned: Scanned, room: _Room) -> SplitPack:
    included = [f for p in laid.parts for f in p.included]
    laid.whole = Pack(
        instructions=PART_INSTRUCTIONS,
        prompt="",
        spec=spec,
        included=sorted(included, key=lambda f: f.path),
        excluded=list(scanned.excluded),
        redactions=list(scanned.redactions),
        prompt_tokens=max(p.prompt_tokens for p in laid.parts),
        spec_tokens=room.spec_tokens,
        budget_tokens=room.budget_tokens,
        context_tokens=room.context_tokens,
        max_output_tokens=room.max_output_tokens,
        margin_tokens=room.margin_tokens,
    )
    return laid


def write_split_sent_files(split: SplitPack, fileobj) -> None:
    """The zip of every file's sent text, as write_sent_files writes it for one request."""
    import zipfile

    from .blocks import unnumbered
    from .sent import _is_member_name

    with zipfile.ZipFile(fileobj, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in split.parts:
            for f in part.included:
                if not _is_member_name(f.path) or f.sent is None:
                    continue
                text = unnumbered(part.prompt[f.sent.start : f.sent.end], f.sent.final_newline)
                zf.writestr(f.path, text.encode("utf-8", "surrogatepass"))
