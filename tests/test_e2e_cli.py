"""`manage.py review` runs the same pipeline through the real worker."""

import json
import threading
import time

import pytest

from tests.factories import make_pdf, make_zip
from tests.fakes.llm_server import answer, error_event
from tests.test_e2e_review import ANSWER, create_project

pytestmark = pytest.mark.e2e


@pytest.fixture
def inputs(tmp_path):
    archive, spec = tmp_path / "shop.zip", tmp_path / "spec.pdf"
    archive.write_bytes(make_zip())
    spec.write_bytes(make_pdf())
    return str(archive), str(spec)


def test_review_command_streams_the_answer_and_ends_with_json(stack, llm, inputs):
    llm.script(answer(ANSWER, chunk_size=5))
    client = stack.client()
    create_project(client, "CLI shop")
    result = stack.manage(
        "review", inputs[0], "--spec", inputs[1], "--project", "CLI shop", "--json", check=False
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "done"
    assert summary["report"] == ANSWER
    assert summary["prompt_tokens"] == 1000 and summary["completion_tokens"] == 50
    assert summary["cost_usd"] > 0 and summary["truncated"] is False
    assert summary["url"].endswith(f"/reviews/{summary['id']}/")


def test_review_command_prints_text_and_exits_1_with_the_reason(stack, llm, inputs):
    llm.script(error_event(ANSWER, chunks=2, chunk_size=10, message="The model is overloaded."))
    client = stack.client()
    create_project(client, "CLI failing")
    result = stack.manage(
        "review", inputs[0], "--spec", inputs[1], "--project", "CLI failing", check=False
    )
    assert result.returncode == 1
    assert result.stdout.startswith(ANSWER[:20])
    assert "failed" in result.stderr and "overloaded" in result.stderr


def test_review_command_cancel_stops_a_running_review(stack, llm, inputs):
    gate = threading.Event()
    llm.script(answer(ANSWER, gate=gate, gate_after=2))
    client = stack.client()
    create_project(client, "CLI cancel")
    import subprocess

    from tests.stack import ROOT

    running = subprocess.Popen(
        [
            stack.python,
            "manage.py",
            "review",
            inputs[0],
            "--spec",
            inputs[1],
            "--project",
            "CLI cancel",
            "--json",
        ],
        cwd=ROOT,
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        review_id = None
        while review_id is None and time.monotonic() < deadline:
            out = stack.shell(
                "from reviewer.reviews.models import Review\n"
                "r = Review.objects.filter(project__name='CLI cancel', status='streaming')\n"
                "r = r.first()\n"
                "print(r.pk if r else '')"
            ).strip()
            review_id = int(out) if out else None
        assert review_id
        cancel = stack.manage("review", "--cancel", str(review_id), check=False)
        assert cancel.returncode == 0
        assert f"review {review_id} cancelled" in cancel.stdout
        out, err = running.communicate(timeout=30)
    finally:
        gate.set()
        if running.poll() is None:
            running.kill()
    assert running.returncode == 1
    assert json.loads(out.strip().splitlines()[-1])["status"] == "cancelled"
