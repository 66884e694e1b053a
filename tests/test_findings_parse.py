"""Reading findings out of real-looking answers: well formed, sloppy, truncated, hostile."""

import re
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from reviewer.findings.fingerprint import fingerprint
from reviewer.findings.parse import (
    KINDS,
    SEVERITIES,
    parse_locations,
    parse_report,
)
from reviewer.packing.findings_format import FINDINGS_FORMAT
from reviewer.packing.request import INSTRUCTIONS

ANSWERS = Path(__file__).parent / "findings_answers"


def answer(name):
    return (ANSWERS / name).read_text()


def test_the_instructions_ask_for_the_documented_form():
    assert FINDINGS_FORMAT in INSTRUCTIONS
    docs = (Path(__file__).parent.parent / "docs" / "FINDINGS.md").read_text()
    assert "```finding" in docs and "| Requirement | Page | Verdict | Evidence |" in docs


def test_the_example_in_the_instructions_parses_completely():
    report = parse_report(FINDINGS_FORMAT)
    assert report.unparsed == 0
    (f,) = report.findings
    assert (f.kind, f.severity, f.verdict, f.page) == ("conformance", "high", "contradicted", 12)
    assert f.title == "Refunds are accepted after the 30-day window"
    assert [loc.label() for loc in f.locations] == ["src/refunds.py:40-58", "src/api/views.py:112"]
    assert f.suggestion.startswith("reject refunds")
    assert report.requirements[0].verdict == "partly met"


def test_a_well_formed_answer_gives_every_field():
    report = parse_report(answer("gpt_well_formed.md"))
    assert report.unparsed == 0
    assert [(f.kind, f.severity) for f in report.findings] == [
        ("conformance", "high"),
        ("missing", "critical"),
        ("refactor", "medium"),
    ]
    first = report.findings[0]
    assert first.title == "Orders of other users are not filtered by tenant"
    assert first.verdict == "partly met" and first.requirement == "2.1 List orders"
    assert first.page == 2 and first.quote == "The service SHALL expose GET /orders"
    assert first.explanation.startswith("`list_orders` filters by owner")
    assert first.suggestion.startswith("add `o.shop == user.shop`")
    assert [loc.label() for loc in report.findings[2].locations] == [
        "app/models.py:1",
        "app/api.py:3",
    ]
    assert [(r.requirement, r.verdict, r.page) for r in report.requirements] == [
        ("2.1 List orders (GET /orders)", "met", 2),
        ("2.2 Create orders (POST /orders)", "missing", 2),
        ("3.1 Refund window of 30 days", "contradicted", 3),
        ("3.2 Refund audit log", "not reviewed", 3),
    ]


def test_a_sloppy_answer_is_read_through_synonyms_and_other_fences():
    report = parse_report(answer("gemini_sloppy.md"))
    assert report.unparsed == 0
    titles = [f.title for f in report.findings]
    assert titles == [
        "Listing ignores pagination",
        "No create endpoint",
        "Data kept in module state",
    ]
    conformance, missing, refactor = report.findings
    assert conformance.verdict == "partly met" and conformance.page == 2
    assert [loc.label() for loc in conformance.locations] == [
        "app/api.py:1-3",
        "shop/app/models.py:1",
    ]
    assert conformance.suggestion == "slice the result."
    assert (missing.kind, missing.severity, missing.page) == ("missing", "high", 2)
    assert missing.suggestion == "implement it."
    assert (refactor.kind, refactor.suggestion) == ("refactor", "Use a repository.")
    assert [loc.label() for loc in refactor.locations] == ["app/models.py:1", "app/api.py:3"]
    assert [(r.verdict, r.page) for r in report.requirements] == [
        ("met", 2),
        ("missing", 2),
        ("partly met", 3),
    ]


def test_numbered_headings_and_bold_suggestions_of_another_model():
    report = parse_report(answer("claude_style.md"))
    assert report.unparsed == 0
    assert [f.title for f in report.findings] == [
        "Ownership check relies on object identity",
        "Order creation is absent",
        "Refund handling",
        "Split models from storage",
    ]
    assert report.findings[0].quote == "expose GET /orders"
    assert report.findings[0].suggestion == "compare `o.owner_id == user.id`."
    assert report.findings[2].locations == []


def test_a_truncated_answer_keeps_what_is_complete_and_counts_the_rest():
    report = parse_report(answer("truncated.md"))
    assert [f.title for f in report.findings] == ["Listing is fine"]
    assert report.unparsed == 1
    assert report.problems == ["the answer ends inside a finding block"]


def test_an_answer_without_the_form_has_no_findings_and_nothing_unparsed():
    report = parse_report(answer("no_format.md"))
    assert report.findings == [] and report.unparsed == 0 and report.requirements == []


def test_hostile_fields_are_kept_as_text_and_broken_blocks_are_counted():
    report = parse_report(answer("hostile.md"))
    (f,) = report.findings
    # Kept as text: the templates and exports escape it.
    assert f.title.startswith("<img src=x onerror=alert(1)>")
    assert [loc.path for loc in f.locations] == ["../../etc/passwd", "app/api.py"]
    assert report.unparsed == 3
    assert report.problems == ["no recognisable kind", "no recognisable severity", "no title"]
    assert [r.page for r in report.requirements] == [2, 99999]
    assert report.requirements[1].requirement == "x | y"


def test_locations_in_their_many_spellings():
    spelled = "`a/b.py:3`, a/c.py:4-9; a/d.py:L5-L7 and ./e.go#L2, f/g.rs lines 3-4, h.txt, (x)"
    assert [loc.label() for loc in parse_locations(spelled)] == [
        "a/b.py:3",
        "a/c.py:4-9",
        "a/d.py:5-7",
        "e.go:2",
        "f/g.rs:3-4",
        "h.txt",
    ]
    assert parse_locations("a.py:9-3")[0].label() == "a.py:3-9"


def test_a_huge_answer_parses_quickly_and_caps_the_number_of_findings():
    block = "### T{}\n```finding\nkind: risk\nseverity: low\nlocations: a.py:1\n```\nx\n\n"
    text = "".join(block.format(i) for i in range(800)) + "y" * 2_000_000
    started = time.monotonic()
    report = parse_report(text)
    assert time.monotonic() - started < 10
    assert len(report.findings) == 500 and report.unparsed == 300


def test_fingerprints_ignore_wording_lines_and_numbering():
    a = fingerprint("risk", "4.2 Refund window", "The refund window is not checked", "app/r.py")
    b = fingerprint("risk", "4.2 Refunds", "Refund window not checked.", "app/r.py")
    assert a == b
    assert a != fingerprint("risk", "4.2", "Refund window not checked", "app/other.py")
    assert a != fingerprint("conformance", "4.2", "Refund window not checked", "app/r.py")


# -- properties ---------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000))
def test_any_text_parses_without_error_into_valid_rows(text):
    report = parse_report(text)
    for f in report.findings:
        assert f.kind in KINDS and f.severity in SEVERITIES and f.title
    blocks = len(re.findall(r"^ {0,3}(?:`{3,}|~{3,})[ \t]*finding\b", text, re.M | re.I))
    assert len(report.findings) + report.unparsed <= blocks


_words = st.text(
    st.characters(whitelist_categories=("L", "N"), max_codepoint=0x2FF), min_size=1, max_size=12
)
_title = st.lists(_words, min_size=1, max_size=8).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(KINDS),
            st.sampled_from(SEVERITIES),
            _title,
            st.lists(
                st.tuples(st.sampled_from(["a.py", "src/b.ts", "x/y/z.go"]), st.integers(1, 9999)),
                max_size=4,
            ),
            st.one_of(st.none(), st.integers(1, 500)),
        ),
        max_size=12,
    )
)
def test_findings_written_in_the_documented_form_come_back_unchanged(items):
    parts = ["# Review report\n\n## 1. Conformance to the specification\n\n"]
    for kind, severity, title, locations, page in items:
        locs = ", ".join(f"{p}:{n}" for p, n in locations)
        page_line = f"page: {page}\n" if page else ""
        parts.append(
            f"### {title}\n```finding\nkind: {kind}\nseverity: {severity}\n{page_line}"
            f"locations: {locs}\n```\nExplanation.\n\nSuggested change: do it.\n\n"
        )
    report = parse_report("".join(parts))
    assert report.unparsed == 0
    got = [
        (f.kind, f.severity, f.title, [(loc.path, loc.start) for loc in f.locations], f.page)
        for f in report.findings
    ]
    expected = []
    for kind, severity, title, locations, page in items:
        unique = list(dict.fromkeys(locations))
        expected.append((kind, severity, " ".join(title.split()), unique, page))
    assert got == expected
