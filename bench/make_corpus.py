"""Build the packing benchmark corpus: a real Python repository as a tar.gz.

Source: this machine's CPython 3.11.7 standard library
(/root/.pyenv/versions/3.11.7/lib/python3.11), minus site-packages, __pycache__,
lib-dynload and config-3.11-* (compiled artefacts). Only text files (UTF-8, no NUL
byte) up to 64 KB are candidates. Candidates are ordered by sha1(path) - a fixed,
path-independent shuffle so the sample spans the whole tree - and taken until
2,000 files or 20 MiB, whichever comes first (files over 64 KB are left out so
that 2,000 files fit in 20 MiB). The result is written as
stdlib-bench/<path> into a tar.gz (default /tmp/bench/corpus.tar.gz), and the tree
is also extracted next to it (corpus/) for tools that want a folder (repomix).

A second archive, corpus-changed.tar.gz (tree: corpus-changed/), is the same
repository after a small edit: one line inserted in the middle of one file
(CHANGED_FILE), to measure a re-review with a warm token cache.

Usage: python bench/make_corpus.py [OUT_DIR]
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
from pathlib import Path

SRC = Path("/root/.pyenv/versions/3.11.7/lib/python3.11")
SKIP_DIRS = {"site-packages", "__pycache__", "lib-dynload"}
MAX_FILES = 2000
MAX_BYTES = 20 * 1024 * 1024
MAX_FILE = 64 * 1024
CHANGED_FILE = "asyncio/tasks.py"  # in the sample; edited for corpus-changed


def is_text(path: Path) -> bool:
    data = path.read_bytes()
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def candidates() -> list[Path]:
    out = []
    for root, dirs, files in os.walk(SRC):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith("config-")]
        for name in files:
            p = Path(root, name)
            if p.is_symlink() or not p.is_file() or p.stat().st_size > MAX_FILE:
                continue
            if is_text(p):
                out.append(p)
    rel = lambda p: p.relative_to(SRC).as_posix()  # noqa: E731
    return sorted(out, key=lambda p: hashlib.sha1(rel(p).encode()).hexdigest())  # noqa: S324


def main() -> None:
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench")
    tree = out_dir / "corpus" / "stdlib-bench"
    if tree.parent.exists():
        shutil.rmtree(tree.parent)
    tree.mkdir(parents=True)
    total = count = 0
    for p in candidates():
        size = p.stat().st_size
        if count >= MAX_FILES or total + size > MAX_BYTES:
            continue
        dest = tree / p.relative_to(SRC)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dest)
        total += size
        count += 1
    archive = out_dir / "corpus.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(tree, arcname="stdlib-bench")
    print(f"{count} files, {total:,} bytes -> {archive} ({archive.stat().st_size:,} bytes)")

    changed = out_dir / "corpus-changed" / "stdlib-bench"
    if changed.parent.exists():
        shutil.rmtree(changed.parent)
    shutil.copytree(tree, changed)
    target = changed / CHANGED_FILE
    lines = target.read_text().split("\n")
    lines.insert(len(lines) // 2, "# bench: one line added in a re-review")
    target.write_text("\n".join(lines))
    archive = out_dir / "corpus-changed.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(changed, arcname="stdlib-bench")
    print(f"one line added to {CHANGED_FILE} -> {archive}")


if __name__ == "__main__":
    main()
