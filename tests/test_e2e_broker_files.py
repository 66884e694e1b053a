"""Celery's filesystem broker keeps all its files under VAR_DIR: a review run from the
checkout, as `make run` does, writes nothing into it."""

import os
from pathlib import Path

import pytest

from tests.fakes.llm_server import answer
from tests.sse_client import read_events
from tests.stack import ROOT, running_stack
from tests.test_e2e_review import ANSWER, create_project, review_id_of, upload

pytestmark = pytest.mark.e2e

UNTOUCHED = {".git", ".venv", ".venv-run", "__pycache__", ".pytest_cache", ".ruff_cache"}


def snapshot():
    files = {}
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = [s for s in subfolders if s not in UNTOUCHED]
        for name in names:
            path = Path(folder, name)
            files[path.relative_to(ROOT).as_posix()] = path.stat().st_mtime_ns
    return files


def test_a_review_through_the_embedded_broker_writes_nothing_into_the_checkout(
    fake_llm, llm, tmp_path
):
    before = snapshot()
    with running_stack("embedded", tmp_path, fake_llm.url) as stack:
        llm.script(answer(ANSWER))
        client = stack.client()
        review_id = review_id_of(upload(client, create_project(client, "Clean")))
        list(read_events(client, f"/reviews/{review_id}/events"))
        assert stack.review_field(review_id, "status") == "done"
    after = snapshot()
    written = sorted(p for p in after if before.get(p) != after[p])
    assert written == [], f"written outside VAR_DIR: {written}"
