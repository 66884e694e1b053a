"""Split mode end to end: a repository that needs three parts is sent as three part
requests and one merge request through the real worker, every file in exactly one part;
a failed part is retried alone; cancelling the review stops every part."""

import json
import re
import threading

import pytest

from reviewer.packing.split import PART_INSTRUCTIONS
from reviewer.packing.synthesis import SYNTHESIS_INSTRUCTIONS
from tests.factories import make_pdf, make_zip
from tests.fakes.llm_server import answer, status
from tests.sse_client import read_events
from tests.test_e2e_review import create_project, review_id_of, upload, wait_until

MODEL = "tiny-context"
MERGED = "# Review report\n\n## Summary\n\nMerged from three parts.\n"


def _folder(name, lines=130):
    body = "".join(f"{name}_value_{i} = compute_{name}({i}, {i * 7})\n" for i in range(lines))
    return {f"shop/{name}/a.py": body, f"shop/{name}/b.py": body.replace("value", "item")}


REPO = {**_folder("api"), **_folder("core"), **_folder("web")}
FILES = sorted(path.removeprefix("shop/") for path in REPO)


def _add_tiny_model(stack):
    # A small context window, so that a small repository needs three parts (the window
    # is in the provider's count: 1.25 × ours for a provider without figures).
    stack.shell(
        "from reviewer.reviews.models import CatalogueEntry\n"
        f"CatalogueEntry.objects.get_or_create(model_id={MODEL!r}, defaults=dict("
        "label='Tiny', adapter='openai_text', provider='custom', api_model='tiny',"
        "context_tokens=11000, max_output_tokens=1000))"
    )


def _start_split(stack, llm, name):
    _add_tiny_model(stack)
    client = stack.client("alice")
    project_id = create_project(client, name)
    response = upload(client, project_id, archive=make_zip(REPO), model=MODEL, mode="split")
    return client, review_id_of(response)


def _user_text(request):
    return request["body"]["messages"][-1]["content"]


def _system(request):
    return request["body"]["messages"][0]["content"]


def _part_files(request):
    text = _user_text(request)
    own = text.split("## Files of this part", 1)[1]
    return re.findall(r"^### (\S+)$", own, flags=re.M)


def _parts(stack, review_id):
    out = stack.shell(
        "from reviewer.splits.models import ReviewPart\n"
        f"print(repr([(p.index, p.status, p.files) for p in "
        f"ReviewPart.objects.filter(review_id={review_id}).order_by('index')]))"
    )
    return eval(out.strip())  # noqa: S307 - our own repr


def _post(client, review_id, path):
    page = client.get(f"/reviews/{review_id}/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return client.post(path, data={"csrfmiddlewaretoken": token})


@pytest.mark.e2e
def test_three_parts_and_a_merge_cover_every_file_once(stack, llm):
    llm.script(answer("Part report one."), answer("Part report two."))
    llm.script(answer("Part report three."), answer(MERGED, usage=(700, 90)))
    llm.expect(4)
    client, review_id = _start_split(stack, llm, "Split shop")
    messages = list(read_events(client, f"/reviews/{review_id}/events"))
    assert [m.data for m in messages if m.event == "status"][-1] == "done"
    assert any(m.event == "parts" for m in messages)
    assert any(m.event == "part3-delta" for m in messages)

    requests = llm.wait_for_requests(4)
    assert llm.unexpected == []
    parts, merge = requests[:3], requests[3]
    assert all(_system(r) == PART_INSTRUCTIONS for r in parts)
    seen = [f for r in parts for f in _part_files(r)]
    assert sorted(seen) == FILES  # every file, each in exactly one part request
    # The shared prefix (instructions, spec, overview) is identical in every part.
    prefixes = {_user_text(r).split("## This request: part", 1)[0] for r in parts}
    assert len(prefixes) == 1
    numbers = sorted(re.search(r"part (\d) of 3", _user_text(r)).group(1) for r in parts)
    assert numbers == ["1", "2", "3"]
    assert _system(merge) == SYNTHESIS_INSTRUCTIONS
    merged_input = _user_text(merge)
    assert merged_input.count("<part-report part=") == 3
    assert "Part report two." in merged_input

    assert stack.review_field(review_id, "report") == MERGED
    assert stack.review_field(review_id, "prompt_tokens") == 3 * 1000 + 700
    rows = _parts(stack, review_id)
    assert [status for _, status, _ in rows] == ["done"] * 4
    assert sorted(f for _, _, files in rows for f in files) == FILES
    page = client.get(f"/reviews/{review_id}/")
    assert "Files this part saw" in page.text and "Merged from three parts." in page.text


@pytest.mark.e2e
def test_a_failed_part_is_retried_alone(stack, llm):
    llm.script(answer("Part report one."), status(400), answer("Part report three."))
    client, review_id = _start_split(stack, llm, "Split retry")
    wait_until(lambda: stack.review_field(review_id, "status") == "failed", timeout=60)
    assert len(llm.requests) == 3  # no merge while a part is missing
    failed = [index for index, status, _ in _parts(stack, review_id) if status == "failed"]
    assert len(failed) == 1
    failed_files = _parts(stack, review_id)[failed[0]][2]

    llm.script(answer("Part report again."), answer(MERGED))
    llm.expect(2)
    _post(client, review_id, f"/reviews/{review_id}/parts/{failed[0] + 1}/retry")
    # The stream of the review, queued again, follows the new run to its own end.
    messages = list(read_events(client, f"/reviews/{review_id}/events"))
    assert [m.data for m in messages if m.event == "status"][-1] == "done"
    assert any(m.event == f"part{failed[0] + 1}-delta" for m in messages)
    assert stack.review_field(review_id, "status") == "done"
    again, merge = llm.requests[3], llm.requests[4]
    assert sorted(_part_files(again)) == sorted(failed_files)
    assert _system(merge) == SYNTHESIS_INSTRUCTIONS
    assert llm.unexpected == []
    assert stack.review_field(review_id, "report") == MERGED


@pytest.mark.e2e
def test_cancel_stops_every_part(stack, llm):
    gate = threading.Event()
    slow = [answer("Slow part text " * 20, gate=gate, gate_after=1) for _ in range(3)]
    llm.script(*slow)
    try:
        client, review_id = _start_split(stack, llm, "Split cancel")
        wait_until(lambda: len(llm.requests) >= 2, timeout=60)
        _post(client, review_id, f"/reviews/{review_id}/cancel")
        wait_until(lambda: stack.review_field(review_id, "status") == "cancelled", timeout=30)
    finally:
        gate.set()
    statuses = [status for _, status, _ in _parts(stack, review_id)]
    assert statuses[:3] == ["cancelled"] * 3
    assert len(llm.requests) == 2  # the third part and the merge were never sent


@pytest.mark.e2e
def test_the_command_line_runs_a_review_in_parts(stack, llm, tmp_path):
    _add_tiny_model(stack)
    create_project(stack.client("alice"), "Split CLI")
    archive, spec = tmp_path / "shop.zip", tmp_path / "spec.pdf"
    archive.write_bytes(make_zip(REPO))
    spec.write_bytes(make_pdf())
    llm.script(answer("One."), answer("Two."), answer("Three."), answer(MERGED))
    llm.expect(4)
    result = stack.manage(
        "review", str(archive), "--spec", str(spec), "--project", "Split CLI",
        "--model", MODEL, "--mode", "split", "--json", check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["status"], summary["parts"], summary["report"]) == ("done", 3, MERGED)
    assert "[part 3: done]" in result.stderr
    assert len(llm.wait_for_requests(4)) == 4 and llm.unexpected == []
