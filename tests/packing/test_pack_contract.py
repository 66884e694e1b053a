"""pack() end to end on small archives: the contract the web app integrates against."""

import json

import pytest

from reviewer.packing import Budget, PackingError, PackOptions, pack

from .conftest import make_pdf, make_tar, make_zip

FILES = {
    "proj/README.md": "# Demo\n",
    "proj/app/main.py": "def main():\n    return 42\n",
    "proj/app/util.py": "X = 1\n",
}


@pytest.mark.parametrize("maker", ["zip", "tgz", "tar", "tbz2", "txz"])
def test_pack_reads_every_supported_format_and_strips_top_folder(tmp_path, maker, big_budget):
    # Names deliberately lie about the format: detection is by content.
    path = tmp_path / "upload.bin"
    if maker == "zip":
        make_zip(path, FILES)
    else:
        mode = {"tgz": "w:gz", "tar": "w", "tbz2": "w:bz2", "txz": "w:xz"}[maker]
        make_tar(path, FILES, mode)
    result = pack(path, None, big_budget)
    assert sorted(f.path for f in result.included) == ["README.md", "app/main.py", "app/util.py"]
    assert "### app/main.py" in result.prompt
    assert "2|     return 42" in result.prompt
    assert result.spec is None and result.spec_tokens == 0


def test_pack_prompt_tokens_are_exact_count_of_instructions_plus_prompt(tmp_path, big_budget):
    from reviewer.packing import count_tokens

    result = pack(make_zip(tmp_path / "a.zip", FILES), None, big_budget)
    assert result.prompt_tokens == count_tokens(result.instructions) + count_tokens(result.prompt)
    assert result.prompt_tokens <= result.budget_tokens


def test_pack_budget_subtracts_output_spec_and_margin(tmp_path, big_budget):
    spec = tmp_path / "spec.pdf"
    spec.write_bytes(make_pdf(pages=3))
    result = pack(make_zip(tmp_path / "a.zip", FILES), spec, big_budget)
    assert result.spec is not None and result.spec.page_count == 3
    assert result.spec_tokens == 3 * 1500
    assert result.budget_tokens == 1_000_000 - 32_000 - 4500 - 100_000
    assert "spec.pdf" in result.prompt


def test_pack_summary_is_json_serialisable_with_budget_figures(tmp_path, big_budget):
    files = dict(FILES)
    files["proj/node_modules/lib/index.js"] = "module.exports = 1\n"
    files["proj/logo.png"] = b"\x89PNG\r\n\x1a\n" + bytes(100)
    result = pack(make_zip(tmp_path / "a.zip", files), None, big_budget)
    summary = json.loads(json.dumps(result.summary()))
    assert summary["included_count"] == 3
    assert summary["excluded_by_reason"] == {"default rule": 2}
    assert summary["budget"]["prompt_tokens"] == result.prompt_tokens
    assert summary["budget"]["budget_tokens"] == result.budget_tokens
    assert summary["top_files"][0]["path"] == "app/main.py"


def test_pack_rejects_a_spec_that_is_not_a_pdf(tmp_path, big_budget):
    spec = tmp_path / "spec.pdf"
    spec.write_text("just text")
    with pytest.raises(PackingError, match="^The specification is not a PDF.$"):
        pack(make_zip(tmp_path / "a.zip", FILES), spec, big_budget)


def test_pack_rejects_when_spec_leaves_no_room(tmp_path):
    spec = tmp_path / "spec.pdf"
    spec.write_bytes(make_pdf(pages=10))
    with pytest.raises(PackingError, match="leaves no room"):
        pack(make_zip(tmp_path / "a.zip", FILES), spec, Budget(20_000, 4_000))


def test_pack_options_default_limits_match_contract():
    o = PackOptions()
    mb = 1024 * 1024
    assert (o.max_upload_bytes, o.max_total_bytes) == (200 * mb, 1024 * mb)
    assert (o.max_members, o.max_file_bytes, o.max_ratio, o.margin) == (100_000, 2 * mb, 200, 0.10)
    assert o.extra_ignores == [] and o.force_includes == []
