"""The part of the instructions that asks for findings in a form the app can parse.

docs/FINDINGS.md describes the same form for people (and for test servers that must
produce it); reviewer/findings/parse.py reads it. Kept apart from the rest of the
instructions so that the prompt's layout can change without touching this contract.
"""

FINDINGS_FORMAT = """\

Inside those sections, write every requirement and every finding in this form, \
so that the report can be read as it is and also turned into a findings table:

- In section 1, start with a table of every significant requirement of the \
specification, one row each, with exactly these columns:

| Requirement | Page | Verdict | Evidence |
|---|---|---|---|
| 4.2 Refund window | 12 | partly met | `src/refunds.py:40-58` |

  Verdict is one of: met, partly met, contradicted, missing, not reviewed. Page is \
the PDF page number (1 = first page of the PDF file), not a printed page label.

- Then write each finding (sections 1 to 3) as a level-3 heading with a short \
title, a fenced block labelled `finding`, the explanation, and a last paragraph \
starting with "Suggested change:". For example:

### Refunds are accepted after the 30-day window
```finding
kind: conformance
severity: high
verdict: contradicted
requirement: 4.2 Refund window
page: 12
quote: Refunds are accepted within 30 days of purchase
locations: src/refunds.py:40-58, src/api/views.py:112
```
`create_refund` never compares the order date with the window...

Suggested change: reject refunds when `order.created_at` is older than 30 days.

  Keys of the block: kind (conformance, missing, refactor or risk); severity \
(critical, high, medium or low); verdict (conformance only: met, partly met, \
contradicted or not reviewed); requirement (the specification's section number \
and name); page (its PDF page); quote (a few words copied exactly from that \
page); locations (`path:line` or `path:start-end`, comma-separated, only paths \
and lines of the files given). Leave out a key that does not apply. One block per \
finding; do not put anything else in the block.
"""
