"""What is kept when a repository does not fit: real layouts, built as archives here.

The main archive mimics mypy: vendored typeshed stubs, test data, tests, docs, a
few core modules that the rest of the code imports, and many leaf modules."""

from __future__ import annotations

import zipfile
from types import SimpleNamespace

import pytest

from reviewer.packing import Budget, pack
from reviewer.packing.blocks import file_block
from reviewer.packing.coverage import group_by_folder, percent
from reviewer.packing.importance import rank

from .conftest import make_pdf, make_text_pdf


def make_zip(path, files: dict[str, str], when=(2024, 1, 1, 0, 0, 0)):
    """Every member with the same time: file times are a ranking signal of their own."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(zipfile.ZipInfo(name, when), text)
    return path


def body(name: str, lines: int, imports: str = "") -> str:
    funcs = "".join(f"def {name}_{i}(node):\n    return node.kind + {i}\n" for i in range(lines))
    return imports + funcs


LEAVES = [f"mypy/leaf_{i:02d}.py" for i in range(12)]
CORE = ["mypy/nodes.py", "mypy/types.py", "mypy/messages.py", "mypy/checker.py"]


def mypy_like() -> dict[str, str]:
    files = {
        "mypy/__init__.py": "",
        "mypy/__main__.py": "from mypy.main import console_entry\n\nconsole_entry()\n",
        "mypy/main.py": body("main", 20, "from mypy import build\nfrom mypy.nodes import Node\n"),
        "mypy/nodes.py": body("nodes", 60),
        "mypy/types.py": body("types", 60, "from mypy.nodes import Node\n"),
        "mypy/messages.py": body("msg", 60, "from mypy.types import Type\nfrom . import nodes\n"),
        # The heart of the code is also its largest file: largest-first dropped it first.
        "mypy/checker.py": body(
            "check", 300, "from mypy.nodes import Node\nfrom mypy.messages import Errors\n"
        ),
        "mypy/build.py": body(
            "build", 40, "from mypy.checker import TypeChecker\nimport mypy.messages\n"
        ),
        "README.md": "# mypy\nOptional static typing for Python.\n",
    }
    for i, leaf in enumerate(LEAVES):
        files[leaf] = body(
            f"leaf{i}",
            30,
            "from mypy.nodes import Node\nfrom mypy.types import Type\nfrom mypy import messages\n",
        )
    for i in range(40):
        files[f"mypy/typeshed/stdlib/mod{i:02d}.pyi"] = "from typing import Any\n" + "".join(
            f"def f{j}(x: Any) -> Any: ...\n" for j in range(40)
        )
    for i in range(15):
        files[f"test-data/unit/check-{i:02d}.test"] = (
            "[case testX]\nimport m\nm.f()\n[file m.py]\ndef f(): pass\n" * 30
        )
        files[f"mypyc/test-data/run-{i:02d}.test"] = "[case testRun]\nprint(1)\n" * 40
    for i in range(6):
        files[f"mypy/test/testcheck{i}.py"] = body(
            f"t{i}", 40, "from mypy.checker import TypeChecker\nfrom mypy import build\n"
        )
        files[f"docs/source/page{i}.rst"] = "Using mypy with checker.py\n" * 120
    return {f"mypy-1.0/{p}": text for p, text in files.items()}


@pytest.fixture
def mypy_zip(tmp_path):
    return make_zip(tmp_path / "mypy.zip", mypy_like())


_FRAMES: dict[str, int] = {}


def tokens_of(archive) -> dict[str, int]:
    full = pack(archive, None, Budget(10_000_000, 0))
    assert not [e for e in full.excluded if e.reason == "over budget"]
    tokens = {f.path: f.tokens for f in full.included}
    # Instructions, tree and headings: what the request costs besides the files.
    _FRAMES[str(archive)] = full.prompt_tokens - sum(tokens.values())
    return tokens


def pack_for(archive, repo_tokens: int, spec=None, spec_tokens: int = 0):
    """Pack with room for about ``repo_tokens`` of the repository's files."""
    frame = _FRAMES.get(str(archive), 2500)
    context = int((repo_tokens + frame + spec_tokens) / 0.9) + 1
    return pack(archive, spec, Budget(context, 0))


def kept_and_dropped(result):
    kept = {f.path for f in result.included}
    dropped = {e.path for e in result.excluded if e.reason == "over budget"}
    return kept, dropped


def test_vendored_test_data_tests_and_docs_go_before_any_source(mypy_zip):
    tokens = tokens_of(mypy_zip)
    source = {p for p in tokens if p.startswith("mypy/") and "/" not in p[5:]} | {"README.md"}
    result = pack_for(mypy_zip, sum(tokens[p] for p in source) + 600)
    kept, dropped = kept_and_dropped(result)
    assert source <= kept
    # Room left at the end is given back to whatever small file fits, at most a few.
    assert len([p for p in kept if "typeshed" in p or "test-data" in p]) <= 2
    assert len([p for p in dropped if "typeshed" in p]) >= 39


def test_drop_order_follows_the_documented_kinds(mypy_zip):
    tokens = tokens_of(mypy_zip)
    kinds = pack_for(mypy_zip, 3000).coverage["dropped"]
    # Most important first: source, docs, tests, then test data, vendored last.
    order = [d["kind"] for d in kinds]
    ranks = {"source": 0, "docs": 1, "test": 2, "test data": 3, "vendored": 4}
    assert [ranks[k] for k in order] == sorted(ranks[k] for k in order)
    assert set(order) == set(ranks)
    assert len(kinds) < len(tokens)


def test_core_modules_are_kept_under_a_small_budget_and_leaves_dropped(mypy_zip):
    tokens = tokens_of(mypy_zip)
    core = CORE + ["mypy/__main__.py"]
    result = pack_for(mypy_zip, sum(tokens[p] for p in core) + 400)
    kept, dropped = kept_and_dropped(result)
    assert set(core) <= kept, sorted(set(core) - kept)
    assert not any("typeshed" in p or "test-data" in p for p in kept)
    assert len(set(LEAVES) & dropped) >= 10
    assert result.prompt_tokens <= result.budget_tokens


def test_importance_counts_the_files_that_import_or_name_a_module():
    files = [
        SimpleNamespace(path=p[len("mypy-1.0/") :], block=file_block(p, text), tokens=1, mtime=0)
        for p, text in mypy_like().items()
    ]
    ranking = rank(files)
    # nodes.py: main, types, messages (relative import), checker, 12 leaves.
    assert ranking.refs["mypy/nodes.py"] == 16
    assert ranking.refs["mypy/checker.py"] == 13  # build, 6 tests, 6 docs naming checker.py
    assert ranking.refs["mypy/leaf_00.py"] == 0
    assert ranking.refs["mypy/typeshed/stdlib/mod01.pyi"] == 0  # stubs are not read
    assert ranking.is_core("mypy/nodes.py") and not ranking.is_core("mypy/leaf_00.py")
    assert ranking.is_core("mypy/__main__.py")  # an entry point
    assert ranking.kind_name("mypy/typeshed/stdlib/mod01.pyi") == "vendored"


def test_a_file_named_in_the_spec_is_kept_before_better_imported_ones(tmp_path, mypy_zip):
    tokens = tokens_of(mypy_zip)
    spec = tmp_path / "spec.pdf"
    spec.write_bytes(make_text_pdf(["The leaf in mypy/leaf_07.py must report errors."]))
    source = [p for p in tokens if p.startswith("mypy/") and "/" not in p[5:]] + ["README.md"]
    room = sum(tokens[p] for p in source if p not in LEAVES) + tokens["mypy/leaf_07.py"] + 100
    result = pack_for(mypy_zip, room, spec=spec, spec_tokens=1500)
    kept, dropped = kept_and_dropped(result)
    assert "mypy/leaf_07.py" in kept
    assert len(set(LEAVES) & kept) == 1


def test_the_same_archive_in_another_member_order_packs_the_same(tmp_path):
    files = mypy_like()
    a = make_zip(tmp_path / "a.zip", files)
    b = make_zip(tmp_path / "b.zip", dict(reversed(list(files.items()))))
    tokens = tokens_of(a)
    assert tokens_of(b) == tokens
    room = sum(tokens.values()) // 3
    first, second = pack_for(a, room), pack_for(b, room)
    assert first.prompt == second.prompt
    assert first.coverage["dropped"] == second.coverage["dropped"]


def test_coverage_says_how_much_was_reviewed_and_warns_about_core(mypy_zip):
    tokens = tokens_of(mypy_zip)
    result = pack_for(mypy_zip, tokens["mypy/checker.py"] // 2)
    cov = result.summary()["coverage"]
    kept = {f.path for f in result.included}
    assert cov["files_total"] == len(tokens)
    assert cov["files_kept"] == len(kept)
    share = sum(tokens[p] for p in kept) * 100 // sum(tokens.values())
    files = f"{len(kept)} of {len(tokens)} files"
    assert cov["headline"] == f"{files}, {share}% of the repository's tokens"
    assert "mypy/checker.py" in {d["path"] for d in cov["dropped"] if d["core"]}
    assert cov["core_dropped"] >= 1
    assert cov["by_kind"]["vendored"] == [0, 40]


def test_everything_fits_says_all_files_and_lists_nothing(mypy_zip):
    cov = pack(mypy_zip, None, Budget(10_000_000, 0)).coverage
    assert cov["files_kept"] == cov["files_total"]
    assert cov["token_percent"] == "100%" and cov["dropped"] == []


def test_percent_never_rounds_up_to_all_or_down_to_nothing():
    assert percent(999, 1000) == "99%"
    assert percent(1, 1000) == "<1%"
    assert percent(0, 1000) == "0%"
    assert percent(1000, 1000) == "100%"


def test_dropped_files_group_by_folder_in_order_of_importance():
    dropped = [
        {"path": "mypy/checker.py", "tokens": 10, "kind": "source", "core": True},
        {"path": "mypy/typeshed/stdlib/os.pyi", "tokens": 5, "kind": "vendored", "core": False},
        {"path": "mypy/semanal.py", "tokens": 7, "kind": "source", "core": True},
        {"path": "mypy/typeshed/stdlib/a/b.pyi", "tokens": 1, "kind": "vendored", "core": False},
        {"path": "setup.py", "tokens": 2, "kind": "source", "core": False},
    ]
    groups = group_by_folder(dropped)
    assert [g["folder"] for g in groups] == ["mypy/", "mypy/typeshed/", "(top folder)"]
    assert [f["path"] for f in groups[0]["files"]] == ["mypy/checker.py", "mypy/semanal.py"]
    assert groups[0]["core"] == 2 and groups[1]["tokens"] == 6


def test_recently_changed_files_rank_above_old_ones_of_equal_importance(tmp_path):
    path = tmp_path / "times.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(20):
            info = zipfile.ZipInfo(f"p/app/m{i:02d}.py", (2020 if i != 13 else 2024, 1, 1, 0, 0, 0))
            zf.writestr(info, body(f"m{i}", 10))
    tokens = tokens_of(path)
    result = pack_for(path, tokens["app/m13.py"] + 100)
    kept = [f.path for f in result.included]
    assert "app/m13.py" in kept and len(kept) <= 3


def test_the_prompt_lists_the_most_important_dropped_files_first(mypy_zip):
    result = pack_for(mypy_zip, 500)
    listed = result.prompt.split("### Left out to fit the context")[1]
    assert listed.index("mypy/messages.py") < listed.index("mypy/leaf_00.py")
    assert listed.index("mypy/leaf_00.py") < listed.index("mypy/typeshed/stdlib/mod00.pyi")


def test_a_spec_without_text_changes_nothing(tmp_path, mypy_zip):
    spec = tmp_path / "blank.pdf"
    spec.write_bytes(make_pdf(pages=1))
    tokens = tokens_of(mypy_zip)
    with_spec = pack_for(mypy_zip, sum(tokens.values()) // 4, spec=spec, spec_tokens=1500)
    without = pack_for(mypy_zip, sum(tokens.values()) // 4)
    assert [f.path for f in with_spec.included] == [f.path for f in without.included]
