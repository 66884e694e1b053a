"""pack() on worker processes: the same pack as the serial one, and still a pack when no
process can start or a worker dies."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from reviewer.packing import Budget, PackOptions, pack, parallel
from reviewer.packing import pipeline as pipeline_mod
from reviewer.packing.token_cache import TokenCache

from .conftest import make_tar

BUDGET = Budget(2_000_000, 32_000)


def _files() -> dict[str, bytes | str]:
    files: dict[str, bytes | str] = {}
    for i in range(120):
        body = "".join(f"def f{i}_{j}(x):\n    return x * {j}  # ok\n" for j in range(40 + i))
        files[f"repo/pkg{i % 7}/mod{i}.py"] = body
    files["repo/conf/settings.py"] = (
        'API_KEY = "Zx9QvB27LmP4sTkW8rN3"\npassword = "hunter2hunter2X9"\n'
    )
    files["repo/keys/id.pem"] = (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow" + "A" * 200 + "\n-----END RSA PRIVATE KEY-----\n"
    )
    files["repo/docs/README.md"] = "# Démo 🎉\n\n```py\nx = 1\n```\n\n````\nfour\n````\n"
    files["repo/data/table.py"] = bytes(range(256)) * 40  # NUL bytes: binary
    files["repo/legacy/latin1.txt"] = "café naïve\n".encode("latin-1")
    files["repo/empty.py"] = ""
    files["repo/.gitignore"] = "ignored/\n"
    files["repo/ignored/skip.py"] = "x = 1\n"
    return files


@pytest.fixture
def archive(tmp_path: Path, monkeypatch) -> Path:
    # Small enough for a test, but large enough to be worth processes.
    monkeypatch.setattr(parallel, "MIN_ARCHIVE_BYTES", 0)
    return make_tar(tmp_path / "repo.tar.gz", _files())


def _same(a, b) -> None:
    assert a.prompt == b.prompt
    assert a.prompt_tokens == b.prompt_tokens
    assert a.included == b.included
    assert a.excluded == b.excluded
    assert a.redactions == b.redactions
    assert a.coverage == b.coverage


def _spy_pools(monkeypatch) -> list:
    pools: list = []
    real = pipeline_mod.start_pool

    def spy(*args):
        pool = real(*args)
        pools.append(pool)
        return pool

    monkeypatch.setattr(pipeline_mod, "start_pool", spy)
    return pools


def test_worker_processes_give_the_serial_pack(archive, monkeypatch):
    serial = pack(archive, None, BUDGET, PackOptions(workers=1))
    pools = _spy_pools(monkeypatch)
    parallel_pack = pack(archive, None, BUDGET, PackOptions(workers=3))
    assert pools[0] is not None and pools[0].children == 2
    assert pools[0].peak_rss_kb, "no chunk was worked on in a child process"
    _same(serial, parallel_pack)
    assert parallel_pack.redactions, "the secrets were found in the children too"
    assert any(e.reason == "binary" for e in parallel_pack.excluded)


def test_worker_processes_fill_and_read_the_token_cache(archive, tmp_path, monkeypatch):
    serial = pack(archive, None, BUDGET, PackOptions(workers=1))
    cache_dir = tmp_path / "cache"
    options = PackOptions(workers=2, cache_dir=str(cache_dir))
    cold = pack(archive, None, BUDGET, options)
    _same(serial, cold)
    cache = TokenCache.open(cache_dir)
    # Every counted block (the children's and this process's) was written.
    rows = cache._conn.execute("SELECT count(*) FROM counts").fetchone()[0]
    cache.close()
    assert rows >= len(cold.included)
    # Warm: the children find every block in the cache and count nothing.
    monkeypatch.setattr(parallel, "count_tokens", _fail)
    warm = pack(archive, None, BUDGET, options)
    _same(serial, warm)


def _fail(text: str) -> int:
    raise AssertionError("counted although the cache had it")


def test_a_fork_server_gives_the_same_pack(archive, monkeypatch):
    # What pack() uses when the calling process has other threads running.
    monkeypatch.setattr(parallel, "START_METHOD", "forkserver")
    serial = pack(archive, None, BUDGET, PackOptions(workers=1))
    pools = _spy_pools(monkeypatch)
    _same(serial, pack(archive, None, BUDGET, PackOptions(workers=2)))
    assert pools[0] is not None and pools[0].peak_rss_kb


def _pack_in_daemon(archive: str, out) -> None:
    pool = parallel.Pool.start(2, 10**9, None, cold=False)
    result = pack(archive, None, BUDGET, PackOptions(workers=2))
    out.put((pool is None, result.prompt, result.prompt_tokens))


def test_a_daemonic_process_packs_without_children(archive):
    # A Celery prefork child is daemonic: it may not start processes of its own.
    serial = pack(archive, None, BUDGET, PackOptions(workers=1))
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    proc = ctx.Process(target=_pack_in_daemon, args=(str(archive), out), daemon=True)
    proc.start()
    refused, prompt, tokens = out.get(timeout=120)
    proc.join(30)
    assert refused, "a daemonic process started worker processes"
    assert (prompt, tokens) == (serial.prompt, serial.prompt_tokens)


def test_a_killed_worker_is_redone_in_the_calling_process(archive, monkeypatch):
    serial = pack(archive, None, BUDGET, PackOptions(workers=1))
    real = pipeline_mod.start_pool

    def start_then_kill(*args):
        pool = real(*args)
        for proc in list(pool.executor._processes.values()):
            os.kill(proc.pid, signal.SIGKILL)
            proc.join(10)
        time.sleep(0.2)
        return pool

    monkeypatch.setattr(pipeline_mod, "start_pool", start_then_kill)
    _same(serial, pack(archive, None, BUDGET, PackOptions(workers=2)))


def test_small_archives_and_one_worker_start_no_process(tmp_path):
    small = make_tar(tmp_path / "small.tar.gz", {"r/a.py": "x = 1\n"})
    size = os.path.getsize(small)
    assert parallel.Pool.start(4, size, None, cold=True) is None
    assert parallel.Pool.start(1, 10**9, None, cold=True) is None
