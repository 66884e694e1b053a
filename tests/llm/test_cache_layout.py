"""The request layout serves the providers' prompt caches: two packs of the same repository
give byte-identical bodies for every adapter, and per-review notes only ever come last."""

import json

import pytest

from reviewer.llm import ReviewRequest, build_body
from reviewer.packing import Budget, pack
from tests.packing.conftest import make_text_pdf, make_zip

FILES = {
    "shop/app/api.py": "def list_orders(user):\n    return []\n",
    "shop/README.md": "# Shop\n",
    "shop/data/big.json": "[" + ",".join(["1"] * 50) + "]\n",
}
MODELS = ["gpt-4.1", "gemini-2.5-pro", "claude-sonnet-5.5", "deepseek-v3.2"]


def _request(tmp_path, name, notes=""):
    folder = tmp_path / name
    folder.mkdir()
    archive = make_zip(folder / "shop.zip", FILES)
    spec = folder / "spec.pdf"
    spec.write_bytes(make_text_pdf(["1. Orders are listed."]))
    packed = pack(archive, spec, Budget(context_tokens=200_000, max_output_tokens=8_000))
    return ReviewRequest(
        instructions=packed.instructions,
        prompt=packed.prompt,
        spec_filename="spec.pdf",
        spec_pdf=packed.spec.read_bytes(),
        spec_text=packed.spec.text,
        spec_pages=packed.spec.page_count,
        notes=notes,
    )


@pytest.mark.parametrize("model_id", MODELS)
def test_two_reviews_of_one_repository_send_byte_identical_bodies(catalogue, tmp_path, model_id):
    model = catalogue[model_id]
    first = json.dumps(build_body(model, _request(tmp_path, "first")))
    second = json.dumps(build_body(model, _request(tmp_path, "second")))
    assert first == second


@pytest.mark.parametrize("model_id", MODELS)
def test_notes_change_only_the_end_of_the_request(catalogue, tmp_path, model_id):
    model = catalogue[model_id]
    plain = build_body(model, _request(tmp_path, "plain"))
    noted = build_body(model, _request(tmp_path, "noted", notes="Dismissed: none."))
    text_plain = json.dumps(plain, sort_keys=True)
    text_noted = json.dumps(noted, sort_keys=True)
    assert "Dismissed: none." not in text_plain and "Dismissed: none." in text_noted
    # Everything the plain body sends comes, in order, before the notes in the noted one.
    stripped = text_noted.replace(', {"text": "Dismissed: none."}', "")
    stripped = stripped.replace(', {"text": "Dismissed: none.", "type": "text"}', "")
    stripped = stripped.replace("\\n\\nDismissed: none.", "")
    assert stripped == text_plain


def test_instructions_then_spec_then_repository(catalogue, tmp_path):
    request = _request(tmp_path, "order")
    openai = build_body(catalogue["gpt-4.1"], request)
    assert openai["messages"][0] == {"role": "system", "content": request.instructions}
    assert [p["type"] for p in openai["messages"][1]["content"]] == ["file", "text"]
    gemini = build_body(catalogue["gemini-2.5-pro"], request)
    assert [list(p) for p in gemini["contents"][0]["parts"]] == [["inline_data"], ["text"]]
    claude = build_body(catalogue["claude-sonnet-5.5"], request)
    blocks = claude["messages"][0]["content"]
    assert [b["type"] for b in blocks] == ["document", "text"]
    assert all(b["cache_control"] == {"type": "ephemeral"} for b in blocks)
