"""Fitting the request: whole files dropped in the documented order, never truncated."""

from __future__ import annotations

import pytest

from reviewer.packing import Budget, PackingError, count_tokens, pack
from reviewer.packing.kinds import DATA, DOCS, GENERATED, SOURCE, TEST, path_kind

from .conftest import make_zip


def code(name: str, lines: int) -> str:
    return "".join(f"def {name}_{i}(x):\n    return x + {i}\n" for i in range(lines))


FILES = {
    "p/README.md": "# Service\nWhat it does.\n",
    "p/app/core.py": code("core", 200),
    "p/app/big_module.py": code("big", 400),
    "p/app/small.py": code("small", 20),
    "p/tests/test_core.py": code("test", 150),
    "p/docs/guide.md": "Guide line.\n" * 300,
    "p/data/fixtures.json": '{"k": [' + ", ".join(str(i) for i in range(3000)) + "]}\n",
    "p/api/service_pb2.py": code("pb", 150),
}


def pack_with_context(tmp_path, context):
    return pack(make_zip(tmp_path / "a.zip", FILES), None, Budget(context, 1000))


def test_path_kinds_generated_and_data_then_tests_then_docs_then_code():
    assert path_kind("data/fixtures.json") == DATA
    assert path_kind("api/service_pb2.py") == GENERATED
    assert path_kind("db/migrations/0001_initial.py") == GENERATED
    assert path_kind("tests/test_core.py") == TEST
    assert path_kind("pkg/handler_test.go") == TEST
    assert path_kind("web/button.spec.ts") == TEST
    assert path_kind("docs/guide.md") == DOCS
    assert path_kind("CHANGELOG.md") == DOCS
    assert path_kind("README.md") == SOURCE
    assert path_kind("app/core.py") is None  # source, unless its first lines say otherwise


def test_everything_fits_in_a_large_context(tmp_path):
    result = pack_with_context(tmp_path, 1_000_000)
    assert len(result.included) == len(FILES)
    assert not [e for e in result.excluded if e.reason == "over budget"]


def test_tight_budget_drops_whole_files_in_priority_order(tmp_path):
    full = pack_with_context(tmp_path, 1_000_000)
    tokens = {f.path: f.tokens for f in full.included}
    code_and_readme = sum(v for k, v in tokens.items() if k.startswith("app/") or k == "README.md")
    # Room for the code, the README and a little more, but not the docs/tests/data.
    context = int((code_and_readme + 2500 + tokens["docs/guide.md"] // 2) / 0.9) + 1000
    result = pack_with_context(tmp_path, context)
    kept = {f.path for f in result.included}
    dropped = {e.path for e in result.excluded if e.reason == "over budget"}
    assert {"app/core.py", "app/big_module.py", "app/small.py", "README.md"} <= kept
    assert {"data/fixtures.json", "api/service_pb2.py", "tests/test_core.py"} <= dropped
    assert result.prompt_tokens <= result.budget_tokens
    assert result.prompt_tokens == count_tokens(result.instructions) + count_tokens(result.prompt)
    for path in dropped:
        assert f"\n- {path}\n" in result.prompt.split("### Left out to fit the context")[1]
        assert f"### {path}\n" not in result.prompt
    summary = result.summary()
    assert summary["excluded_by_reason"]["over budget"] == len(dropped)


def test_kept_files_are_complete_never_truncated(tmp_path):
    full = pack_with_context(tmp_path, 1_000_000)
    tokens = {f.path: f.tokens for f in full.included}
    result = pack_with_context(tmp_path, int(sum(tokens.values()) / 0.9 / 2))
    assert 0 < len(result.included) < len(FILES)
    for f in result.included:
        original = FILES["p/" + f.path]
        block = result.prompt.split(f"### {f.path}\n```", 1)[1].split("\n```\n", 1)[0]
        body = [line.split("| ", 1)[1] if "| " in line else "" for line in block.split("\n")[1:]]
        assert "\n".join(body) + "\n" == original
    assert result.prompt_tokens <= result.budget_tokens


def test_among_equally_important_code_the_largest_goes_first(tmp_path):
    full = pack_with_context(tmp_path, 1_000_000)
    tokens = {f.path: f.tokens for f in full.included}
    context = int((tokens["app/core.py"] + tokens["app/small.py"] + 3000) / 0.9) + 1200
    result = pack_with_context(tmp_path, context)
    kept = {f.path for f in result.included}
    assert "app/big_module.py" not in kept
    assert "app/small.py" in kept


def test_nothing_fits_is_a_clear_error(tmp_path):
    with pytest.raises(PackingError) as exc:
        pack_with_context(tmp_path, 1500)
    assert str(exc.value) == (
        "No file of the repository fits this model's context once the specification "
        "and the answer are reserved."
    )


def test_prompt_token_count_is_exact_for_awkward_file_contents(tmp_path):
    files = {
        "p/no_newline.py": "x = 1",
        "p/hashes.md": "# Title\n## Sub\n### Deep\n```\ncode\n```\n",
        "p/trailing.txt": "spaces   \n\t\n   \n\n\n",
        "p/empty.py": "",
        "p/newlines.txt": "\n\n\n",
        "p/crlf.bat": "echo 1\r\necho 2\r\n",
        "p/emoji.js": "const s = '🎉 ünïcode ✓';\n",
        "p/fence.md": "````\n```python\nx\n```\n````\n",
        "p/#weird name.txt": "#!/bin/sh\n#\n",
        "p/slashes.py": "a = '//'\n//\n///\n",
    }
    result = pack(make_zip(tmp_path / "a.zip", files), None, Budget(1_000_000, 1000))
    assert len(result.included) == len(files)
    assert result.prompt_tokens == count_tokens(result.instructions) + count_tokens(result.prompt)
    # The same holds when some files are dropped and the omitted list is non-empty.
    # Room for a few of the files once the instructions are counted.
    room = count_tokens(result.instructions) + 440
    tight = pack(make_zip(tmp_path / "b.zip", files), None, Budget(room, 0))
    assert any(e.reason == "over budget" for e in tight.excluded)
    assert tight.prompt_tokens == count_tokens(tight.instructions) + count_tokens(tight.prompt)
    assert tight.prompt_tokens <= tight.budget_tokens


def test_room_left_after_dropping_is_given_back_to_smaller_files(tmp_path):
    # Small data files go first, then the big module has to go too: after that, the
    # data files fit again and must be taken back.
    files = {f"p/data/d{i:02d}.json": f'{{"k": {i}}}\n' for i in range(20)}
    files["p/app/big.py"] = code("big", 300)
    files.update({f"p/app/m{i}.py": code(f"m{i}", 30) for i in range(5)})
    path = make_zip(tmp_path / "many.zip", files)
    full = pack(path, None, Budget(1_000_000, 0))
    tokens = {f.path: f.tokens for f in full.included}
    data = sum(v for k, v in tokens.items() if k.startswith("data/"))
    # Room for everything but the data files and half of big.py.
    context = int((full.prompt_tokens - data - tokens["app/big.py"] // 2) / 0.9)
    result = pack(path, None, Budget(context, 0))
    kept = {f.path for f in result.included}
    dropped = [e.path for e in result.excluded if e.reason == "over budget"]
    assert dropped == ["app/big.py"]
    assert {p for p in tokens if p.startswith("data/")} <= kept
    assert result.prompt_tokens <= result.budget_tokens
    assert result.prompt_tokens == count_tokens(result.instructions) + count_tokens(result.prompt)
