"""The persistent token-count cache: exact counts whether it hits, misses, breaks or is shared."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reviewer.packing import Budget, PackOptions, count_tokens, pack
from reviewer.packing import pipeline as pipeline_mod
from reviewer.packing import scan as scan_mod
from reviewer.packing.token_cache import FILENAME, TokenCache, block_key

from .conftest import make_tar

ROOT = Path(__file__).resolve().parents[2]

FILES = {
    "proj/README.md": "# Demo 🎉\n\nSome prose, naïve café.\n",
    "proj/app/main.py": "def main():\n    return 42\n" * 50,
    "proj/app/util.py": "X = 1\r\nY = 'два'\r\n",
    "proj/app/empty.py": "",
    "proj/app/conf.py": 'API_KEY = "Zx9QvB27LmP4sTkW8rN3"\n',
    "proj/app/ws.py": "x = 1   \n\n\n    \t\n<|endoftext|>\n",
}


def _pack(path: Path, cache_dir: Path | None, budget: Budget | None = None, **kw):
    options = PackOptions(cache_dir=str(cache_dir) if cache_dir else None, **kw)
    return pack(path, None, budget or Budget(1_000_000, 32_000), options)


def _per_file(result) -> dict[str, int]:
    return {f.path: f.tokens for f in result.included}


def _assert_same(a, b):
    assert a.prompt == b.prompt
    assert a.prompt_tokens == b.prompt_tokens
    assert _per_file(a) == _per_file(b)


def _block_counts(monkeypatch) -> list[int]:
    """Record every text the pipeline counts with the tokenizer (not via the cache)."""
    seen: list[int] = []
    real = pipeline_mod.count_tokens

    def spy(text: str) -> int:
        seen.append(len(text))
        return real(text)

    # Blocks are counted while scanning; the prompt's head and tail while fitting.
    monkeypatch.setattr(scan_mod, "count_tokens", spy)
    monkeypatch.setattr(pipeline_mod, "count_tokens", spy)
    return seen


def test_default_options_have_no_cache_and_write_nothing(tmp_path):
    assert PackOptions().cache_dir is None
    archive = make_tar(tmp_path / "a.tgz", FILES)
    before = set(tmp_path.iterdir())
    _pack(archive, None)
    assert set(tmp_path.iterdir()) == before


@pytest.mark.parametrize("threads", [1, 2])
def test_cold_warm_and_uncached_packs_are_identical(tmp_path, monkeypatch, threads):
    archive = make_tar(tmp_path / "a.tgz", FILES)
    cache = tmp_path / "cache"
    plain = _pack(archive, None, workers=threads)
    cold = _pack(archive, cache, workers=threads)
    assert (cache / FILENAME).exists()
    seen = _block_counts(monkeypatch)
    warm = _pack(archive, cache, workers=threads)
    assert seen == []  # every block, the head, the tail and the instructions came from the cache
    for r in (cold, warm):
        _assert_same(plain, r)
    assert warm.prompt_tokens == count_tokens(warm.instructions) + count_tokens(warm.prompt)
    assert "[REDACTED:generic_secret]" in warm.prompt


def test_changed_file_is_recounted_and_the_rest_hit(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    _pack(make_tar(tmp_path / "a.tgz", FILES), cache)
    changed = dict(FILES)
    changed["proj/app/util.py"] = "X = 1\r\nY = 'два три'\r\n"
    archive = make_tar(tmp_path / "b.tgz", changed)
    seen = _block_counts(monkeypatch)
    got = _pack(archive, cache)
    assert len(seen) == 1  # only the changed block (same paths: head and tail hit)
    monkeypatch.undo()
    _assert_same(_pack(archive, None), got)
    assert got.prompt_tokens == count_tokens(got.instructions) + count_tokens(got.prompt)


def test_budget_fitting_with_cache_is_identical(tmp_path):
    # A budget that forces drops: head/tail are recounted several times through the cache.
    files = {f"proj/src/m{i}.py": f"def f{i}():\n    return {i}\n" * (20 + i) for i in range(40)}
    archive = make_tar(tmp_path / "a.tgz", files)
    plain = _pack(archive, None)
    budget = Budget(
        context_tokens=int(plain.prompt_tokens * 0.6 / 0.9) + 32_000, max_output_tokens=32_000
    )
    cache = tmp_path / "cache"
    plain = _pack(archive, None, budget)
    assert any(e.reason == "over budget" for e in plain.excluded)
    for _ in range(2):
        _assert_same(plain, _pack(archive, cache, budget))


def test_garbage_cache_file_is_ignored_and_left_alone(tmp_path, caplog):
    archive = make_tar(tmp_path / "a.tgz", FILES)
    cache = tmp_path / "cache"
    cache.mkdir()
    junk = b"this is not a database\n" * 100
    (cache / FILENAME).write_bytes(junk)
    _assert_same(_pack(archive, None), _pack(archive, cache))
    assert (cache / FILENAME).read_bytes() == junk
    assert "token cache" in caplog.text


def test_foreign_sqlite_database_is_not_touched(tmp_path):
    archive = make_tar(tmp_path / "a.tgz", FILES)
    cache = tmp_path / "cache"
    cache.mkdir()
    with sqlite3.connect(cache / FILENAME) as conn:
        conn.execute("CREATE TABLE counts (key BLOB, tokens INTEGER)")
        conn.execute("INSERT INTO counts VALUES (x'00', 1)")
    _assert_same(_pack(archive, None), _pack(archive, cache))
    with sqlite3.connect(cache / FILENAME) as conn:
        assert conn.execute("SELECT * FROM counts").fetchall() == [(b"\x00", 1)]
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0


def test_other_schema_version_is_not_used(tmp_path):
    archive = make_tar(tmp_path / "a.tgz", FILES)
    cache = tmp_path / "cache"
    _pack(archive, cache)
    with sqlite3.connect(cache / FILENAME) as conn:
        conn.execute("UPDATE counts SET tokens = tokens + 1")
        conn.execute("PRAGMA user_version = 99")
    _assert_same(_pack(archive, None), _pack(archive, cache))


def test_tampered_rows_are_not_believed_and_get_repaired(tmp_path, monkeypatch):
    archive = make_tar(tmp_path / "a.tgz", FILES)
    cache = tmp_path / "cache"
    plain = _pack(archive, None)
    _pack(archive, cache)
    with sqlite3.connect(cache / FILENAME) as conn:
        n = conn.execute("UPDATE counts SET tokens = tokens + 1").rowcount
        assert n > 0
    _assert_same(plain, _pack(archive, cache))
    # The bad rows were replaced by good ones: the next pack is all hits again.
    seen = _block_counts(monkeypatch)
    _assert_same(plain, _pack(archive, cache))
    assert seen == []


def test_implausible_count_with_valid_check_is_rejected(tmp_path):
    from reviewer.packing.token_cache import _check

    cache_dir = tmp_path / "cache"
    c = TokenCache.open(cache_dir)
    key = block_key("o200k_base", "hello world")
    c.put(key, 999)  # more tokens than bytes: impossible
    c.close()
    c = TokenCache.open(cache_dir)
    assert c.get(key, len("hello world")) is None
    c.close()
    c = TokenCache.open(cache_dir)
    c.put(key, 2)
    c.close()
    c = TokenCache.open(cache_dir)
    assert c.get(key, len("hello world")) == 2
    assert _check(key, 2) != _check(key, 3)
    c.close()


def test_key_depends_on_exact_text_and_encoding():
    assert block_key("o200k_base", "a") != block_key("o200k_base", "a ")
    assert block_key("o200k_base", "a") != block_key("cl100k_base", "a")
    assert block_key("o200k_base", "\ud800") == block_key("o200k_base", "\ud800")  # no raise


def test_unusable_cache_location_does_not_fail_the_pack(tmp_path):
    archive = make_tar(tmp_path / "a.tgz", FILES)
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    _assert_same(_pack(archive, None), _pack(archive, blocker / "cache"))


def test_read_only_cache_still_serves_hits(tmp_path):
    import os
    import stat

    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    archive = make_tar(tmp_path / "a.tgz", FILES)
    cache = tmp_path / "cache"
    _pack(archive, cache)
    (cache / FILENAME).chmod(stat.S_IRUSR)
    cache.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        _assert_same(_pack(archive, None), _pack(archive, cache))
    finally:
        cache.chmod(stat.S_IRWXU)


def test_size_is_bounded_least_recently_used_evicted(tmp_path):
    cache_dir = tmp_path / "cache"
    for batch in range(5):
        c = TokenCache.open(cache_dir, max_entries=100)
        c._now += batch * 10_000  # later batches are more recent
        for i in range(40):
            c.put(block_key("o200k_base", f"{batch}-{i}"), 3)
        c.close()
    with sqlite3.connect(cache_dir / FILENAME) as conn:
        n = conn.execute("SELECT count(*) FROM counts").fetchone()[0]
    assert n <= 100
    c = TokenCache.open(cache_dir, max_entries=100)
    assert c.get(block_key("o200k_base", "4-0"), 3) == 3  # newest kept
    assert c.get(block_key("o200k_base", "0-0"), 3) is None  # oldest evicted
    c.close()


_WORKER = textwrap.dedent(
    """
    import sys
    from reviewer.packing import Budget, PackOptions, pack
    archive, cache, out = sys.argv[1:4]
    for _ in range(3):
        r = pack(archive, None, Budget(1_000_000, 32_000), PackOptions(cache_dir=cache))
        with open(out, "a") as fh:
            fh.write(f"{r.prompt_tokens} {sorted((f.path, f.tokens) for f in r.included)}\\n")
    """
)


def test_two_processes_packing_at_once_share_the_cache_safely(tmp_path):
    files = {f"proj/m{i}.py": f"value_{i} = {i!r} * {i}\n" * (30 + i) for i in range(150)}
    archive = make_tar(tmp_path / "a.tgz", files)
    changed = dict(files)
    changed["proj/m7.py"] = "changed = True\n"
    archive2 = make_tar(tmp_path / "b.tgz", changed)
    cache = tmp_path / "cache"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(a), str(cache), str(tmp_path / f"out{i}")],
            cwd=ROOT,
        )
        for i, a in enumerate([archive, archive2, archive, archive2])
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    expect = {}
    for i, a in enumerate([archive, archive2]):
        r = _pack(a, None)
        expect[i] = f"{r.prompt_tokens} {sorted((f.path, f.tokens) for f in r.included)}"
    for i in range(4):
        lines = (tmp_path / f"out{i}").read_text().splitlines()
        assert lines == [expect[i % 2]] * 3
    with sqlite3.connect(cache / FILENAME) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for a in (archive, archive2):
        _assert_same(_pack(a, None), _pack(a, cache))
