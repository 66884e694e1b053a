"""Built-in ignore rules, per-project rules and content-based binary/encoding handling."""

from __future__ import annotations

import codecs

from reviewer.packing import Budget, PackOptions, pack
from reviewer.packing.select import default_ignored
from reviewer.packing.text import decode_text

from .conftest import make_zip

BUDGET = Budget(context_tokens=1_000_000, max_output_tokens=10_000)


def included(tmp_path, files, **opts):
    result = pack(make_zip(tmp_path / "a.zip", files), None, BUDGET, PackOptions(**opts))
    return {f.path for f in result.included}, {
        e.path: (e.reason, e.detail) for e in result.excluded
    }


def test_default_rules_drop_dependencies_builds_locks_minified_and_media(tmp_path):
    files = {
        "p/app.py": "x = 1\n",
        "p/node_modules/react/index.js": "x",
        "p/.venv/lib/site.py": "x",
        "p/.git/config": "x",
        "p/pkg/__pycache__/m.cpython-311.pyc": b"\x00\x01",
        "p/dist/bundle.js": "x",
        "p/web/app.min.js": "x",
        "p/web/app.js.map": "x",
        "p/package-lock.json": "{}",
        "p/go.sum": "x",
        "p/poetry.lock": "x",
        "p/assets/logo.svg.png": b"\x89PNG",
        "p/fonts/a.woff2": b"x",
        "p/spec.pdf": b"%PDF-1.4",
        "p/package.json": '{"name": "kept"}',
    }
    inc, exc = included(tmp_path, files)
    assert inc == {"app.py", "package.json"}
    assert exc["node_modules/"] == ("default rule", "1 file")
    assert exc["package-lock.json"] == ("default rule", "")
    assert exc["web/app.min.js"] == ("default rule", "")
    assert {r for r, _ in exc.values()} == {"default rule"}


def test_default_rules_are_path_based_and_ignore_lookalikes():
    assert default_ignored("a/node_modules/b.js")
    assert default_ignored("a/b.MIN.JS")
    assert not default_ignored("src/build_tools.py")  # only a folder named build
    assert not default_ignored("src/distance.py")
    assert not default_ignored("lockfile.py")


def test_vendor_folder_dropped_only_when_it_is_a_dependency_folder(tmp_path):
    go = {"p/main.go": "package main\n", "p/vendor/modules.txt": "# x\n", "p/vendor/x/y.go": "y"}
    inc, exc = included(tmp_path, go)
    assert inc == {"main.go"}
    assert exc["vendor/"][0] == "default rule"
    own = {"p/main.py": "x\n", "p/vendor/our_helpers.py": "def helper(): ...\n"}
    inc, _ = included(tmp_path, own)
    assert inc == {"main.py", "vendor/our_helpers.py"}


def test_project_rule_and_force_include_override_defaults(tmp_path):
    files = {
        "p/app.py": "x\n",
        "p/scripts/gen.py": "x\n",
        "p/dist/schema.sql": "create table t();\n",
        "p/dist/other.js": "x\n",
        "p/yarn.lock": "lock\n",
    }
    inc, exc = included(
        tmp_path, files, extra_ignores=["scripts/"], force_includes=["dist/schema.sql", "yarn.lock"]
    )
    assert inc == {"app.py", "dist/schema.sql", "yarn.lock"}
    assert exc["scripts/"] == ("project rule", "1 file")
    assert exc["dist/"] == ("default rule", "1 file")


def test_force_include_never_brings_in_binary_or_too_large(tmp_path):
    files = {"p/app.py": "x\n", "p/blob.dat": b"\x00\x01\x02" * 10, "p/huge.txt": "y" * 5000}
    inc, exc = included(tmp_path, files, force_includes=["*.dat", "huge.txt"], max_file_bytes=1000)
    assert inc == {"app.py"}
    assert exc["blob.dat"][0] == "binary"
    assert exc["huge.txt"][0] == "too large"


def test_binary_detected_by_content_whatever_the_extension(tmp_path):
    files = {
        "p/app.py": "x\n",
        "p/looks_like_code.py": b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(200),
        "p/random.txt": bytes(range(256)) * 4,
        "p/noext": "plain text without an extension\n",
    }
    inc, exc = included(tmp_path, files)
    assert inc == {"app.py", "noext"}
    assert exc["looks_like_code.py"] == ("binary", "")
    assert exc["random.txt"] == ("binary", "")


def test_decoding_utf8_bom_utf16_and_legacy_encodings():
    text = "café — naïve ünïcode\nline 2\n"
    assert decode_text(codecs.BOM_UTF8 + text.encode()) == text
    assert decode_text(text.encode("utf-16")) == text  # with BOM
    assert decode_text(codecs.BOM_UTF16_BE + text.encode("utf-16-be")) == text
    latin = "Déjà vu: façade, garçon, élève, où est la gare?\n" * 5
    assert decode_text(latin.encode("cp1252")) == latin
    assert decode_text(b"a\r\nb\r\n") == "a\nb\n"
    assert decode_text(b"") == ""
    assert decode_text(b"ok\x00\x00\x00") is None


def test_utf16_source_file_is_included_as_text(tmp_path):
    inc, _ = included(tmp_path, {"p/win.cs": "class A {}\n".encode("utf-16")})
    assert inc == {"win.cs"}


def test_decoding_shift_jis_is_not_mistaken_for_a_latin_code_page():
    text = "こんにちは世界、これはテストです。\n" * 3
    assert decode_text(text.encode("shift_jis")) == text
