"""Checking citations against the files and the PDF that were sent (plain Python)."""

from reviewer.findings.parse import Location
from reviewer.findings.verify import CodeChecker, SpecChecker, quote_on_page

FILES = {"app/api.py": "a\nb\nc\n", "lib/api.py": "x\n", "pkg/only/here.py": "1\n2\n"}


def checker():
    reads = []

    def read(path):
        reads.append(path)
        return FILES.get(path)

    return CodeChecker(list(FILES), read), reads


def test_paths_resolve_through_the_top_folder_a_dot_slash_or_a_unique_tail():
    code, reads = checker()
    assert code.check(Location("shop/app/api.py", 3)).ok
    assert code.check(Location("./app/api.py", 1, 2)).resolved == "app/api.py"
    assert code.check(Location("only/here.py", 2)).resolved == "pkg/only/here.py"
    ambiguous = code.check(Location("api.py", 1))  # app/api.py or lib/api.py
    assert not ambiguous.ok and ambiguous.note == "not in the code that was sent"
    assert reads.count("app/api.py") == 1  # each file is read once


def test_lines_must_lie_within_the_file_and_a_file_alone_is_fine():
    code, _ = checker()
    assert code.check(Location("app/api.py", 2, 4)).note == (
        "line 4 is past the end of the file (3 lines)"
    )
    assert code.check(Location("app/api.py", 0)).note == "line numbers start at 1"
    assert code.check(Location("app/api.py")).ok


def test_quotes_match_across_case_punctuation_and_hyphenated_line_breaks():
    page = "Refunds are ac-\ncepted within\n30 days, of PURCHASE."
    assert quote_on_page("refunds are accepted within 30 days of purchase", page)
    assert not quote_on_page("refunds are accepted within 60 days", page)
    assert not quote_on_page("days of", "holidays office")  # whole words only


def test_pages_are_checked_and_a_misquote_is_found_elsewhere_once_per_page():
    calls = []
    texts = {1: "Intro.", 2: "", 3: "The window is 30 days."}

    def page_text(n):
        calls.append(n)
        return texts[n]

    spec = SpecChecker(3, page_text)
    assert spec.check(None, "").ok is None
    assert spec.check(4, "").note == "page 4 is beyond the specification's 3 pages"
    assert spec.check(2, "anything").note == (
        "page exists; it has no text to check the quote against"
    )
    misquote = spec.check(1, "window is 30 days")
    assert misquote.ok is False
    assert misquote.note == "the quoted words are not on page 1 (they are on page 3)"
    assert sorted(calls) == [1, 2, 3]
    assert SpecChecker(None, None).check(1, "").note == "no specification was sent"
