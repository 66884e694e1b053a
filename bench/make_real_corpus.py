"""Build the second packing benchmark corpus: a real package tree, whole, as a tar.gz.

Source: the Django package installed in the test venv (``django/`` in its
site-packages, Django 5.2.19 per requirements.txt), every file except
``__pycache__``: code, templates, static files, and the translations (.po text,
.mo binary - the packers leave binaries out). Nothing is sampled or trimmed: this is
what a user uploading that source tree would send. Written as django/<path>, in
path order, into OUT_DIR/django.tar.gz, and extracted next to it (django/) for tools
that want a folder (repomix).

Usage: python bench/make_real_corpus.py [OUT_DIR]      (default /tmp/bench)
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tarfile
from pathlib import Path


def source_tree() -> Path:
    spec = importlib.util.find_spec("django")
    if spec is None or not spec.origin:
        sys.exit("Django is not installed in this venv (make .venv/.installed-test)")
    return Path(spec.origin).parent


def main() -> None:
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench")
    src = source_tree()
    tree = out_dir / "django" / "django"
    if tree.parent.exists():
        shutil.rmtree(tree.parent)
    shutil.copytree(src, tree, ignore=shutil.ignore_patterns("__pycache__"))
    files = sorted(p for p in tree.rglob("*") if p.is_file() and not p.is_symlink())
    total = sum(p.stat().st_size for p in files)
    archive = out_dir / "django.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for p in files:
            tf.add(p, arcname=p.relative_to(tree.parent).as_posix(), recursive=False)
    print(
        f"{len(files)} files, {total:,} bytes from {src} -> {archive}"
        f" ({os.path.getsize(archive):,} bytes)"
    )


if __name__ == "__main__":
    main()
