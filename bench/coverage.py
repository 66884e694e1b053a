"""Benchmark: what is kept when a large repository does not fit, before and after.

Two archives, two budgets (1M context with 32,768 output tokens, 128k with 16,384),
each packed by two checkouts of this project (``--before``, e.g. the main branch,
and ``--after``, by default this one), each in its own process:

- ``django``: the Django package installed in this checkout's .venv, as a real
  repository of ~2,700 files (vendored admin JavaScript, locale data, migrations);
- ``mypy-like``: a synthetic repository with mypy's layout, built deterministically
  here: core modules imported everywhere (some of them the largest files), leaf
  modules, vendored typeshed stubs, test data, tests and docs.

Reported per run: files kept of all candidate files, share of tokens kept, share of
*source* files kept (a fixed, path-based definition per archive, the same for both
checkouts), the hand-picked core files that were dropped, and pack seconds. Not a
test. Needs no network.

Usage: python bench/coverage.py --before /path/to/main-checkout [--after .] [--out DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
BUDGETS = {"1M": (1_000_000, 32_768), "128k": (128_000, 16_384)}

DJANGO_CORE = [
    "django/db/models/base.py", "django/db/models/query.py", "django/db/models/fields/__init__.py",
    "django/db/models/sql/query.py", "django/db/models/sql/compiler.py",
    "django/http/request.py", "django/http/response.py", "django/urls/resolvers.py",
    "django/core/handlers/base.py", "django/template/base.py", "django/apps/registry.py",
    "django/conf/__init__.py", "django/forms/forms.py", "django/forms/models.py",
    "django/contrib/admin/options.py", "django/contrib/auth/models.py",
    "django/utils/functional.py", "django/core/management/base.py",
    "django/db/backends/base/base.py", "django/views/generic/base.py",
]  # fmt: skip
MYPY_CORE = [
    "mypy/checker.py", "mypy/checkexpr.py", "mypy/semanal.py", "mypy/messages.py",
    "mypy/nodes.py", "mypy/types.py", "mypy/build.py", "mypy/main.py", "mypy/errors.py",
    "mypy/options.py", "mypy/subtypes.py", "mypy/typeops.py",
    "mypyc/irbuild/builder.py", "mypyc/codegen/emit.py",
]  # fmt: skip
# The big core modules and their size in lines of code (mypy's real order of magnitude).
MYPY_BIG = {"checker": 8000, "checkexpr": 6500, "semanal": 7500, "messages": 3200,
            "nodes": 4000, "types": 3800, "build": 3500, "main": 1600, "errors": 1300,
            "options": 600, "subtypes": 2100, "typeops": 1100}  # fmt: skip


def is_django_source(path: str) -> bool:
    return path.endswith(".py") and "/migrations/" not in path and "/conf/locale/" not in path


def is_mypy_source(path: str) -> bool:
    if not path.endswith(".py") or "/typeshed/" in path or "test-data/" in path:
        return False
    return "/test/" not in path and not path.startswith("docs/")


def build_django(out: Path) -> Path:
    import django

    src = Path(django.__file__).parent
    path = out / "django.tar.gz"
    if not path.exists():
        with tarfile.open(path, "w:gz") as tf:
            for f in sorted(src.rglob("*")):
                if f.is_file() and "__pycache__" not in f.parts:
                    rel = f.relative_to(src.parent)
                    tf.add(f, f"django-{django.__version__}/{rel}", recursive=False)
    return path


def _module(rng: random.Random, name: str, lines: int, imports: list[str]) -> str:
    out = [f"import {m}" if "." not in m else f"from {m.rsplit('.', 1)[0]} import "
           f"{m.rsplit('.', 1)[1]}" for m in imports]  # fmt: skip
    out.append(f'"""The {name} module."""')
    i = 0
    while len(out) < lines:
        i += 1
        out.append(f"def {name}_{i}(node, ctx):")
        for j in range(rng.randint(3, 12)):
            out.append(f"    value_{j} = ctx.lookup(node.name_{j}, {rng.randint(0, 999)})")
        out.append(f"    return value_0 if node.kind == {i} else None\n")
    return "\n".join(out) + "\n"


def build_mypy_like(out: Path) -> Path:
    path = out / "mypy-like.tar.gz"
    if path.exists():
        return path
    rng = random.Random(20261128)
    files: dict[str, str] = {}
    core = [f"mypy.{m}" for m in MYPY_BIG]
    for name, lines in MYPY_BIG.items():
        deps = rng.sample([c for c in core if c != f"mypy.{name}"], 4)
        files[f"mypy/{name}.py"] = _module(rng, name, lines, deps)
    for i in range(140):
        deps = rng.sample(core, rng.randint(2, 6))
        files[f"mypy/leaf{i:03d}.py"] = _module(rng, f"leaf{i}", rng.randint(80, 900), deps)
    files["mypy/__main__.py"] = "from mypy.main import console_entry\nconsole_entry()\n"
    files["mypyc/irbuild/builder.py"] = _module(rng, "builder", 2500, ["mypy.nodes", "mypy.types"])
    files["mypyc/codegen/emit.py"] = _module(rng, "emit", 1800, ["mypy.nodes"])
    for i in range(90):
        deps = ["mypyc.irbuild.builder", "mypyc.codegen.emit", rng.choice(core)]
        files[f"mypyc/part{i % 6}/m{i:02d}.py"] = _module(rng, f"c{i}", rng.randint(60, 700), deps)
    for i in range(900):  # vendored stubs, many small and some large
        stub = "".join(f"def f{j}(x: int, y: str = ...) -> list[str]: ...\n" for j in range(
            rng.choice([20, 40, 80, 400])))  # fmt: skip
        files[f"mypy/typeshed/stdlib/pkg{i // 40}/mod{i:03d}.pyi"] = (
            "from typing import Any\n" + stub
        )
    for i in range(260):
        case = (
            "[case testCase]\nimport m\nreveal_type(m.f())  # N: int\n[file m.py]\ndef f(): ...\n"
        )
        files[f"test-data/unit/check-{i:03d}.test"] = case * rng.randint(20, 200)
    for i in range(60):
        files[f"mypyc/test-data/run-{i:02d}.test"] = "[case testRun]\nprint(1)\n" * 300
    for i in range(80):
        deps = rng.sample(core, 3)
        files[f"mypy/test/test{i:02d}.py"] = _module(rng, f"t{i}", rng.randint(100, 500), deps)
    for i in range(40):
        files[f"docs/source/page{i:02d}.rst"] = "Running mypy on a project.\n" * 400
    with tarfile.open(path, "w:gz") as tf:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"mypy-like/{name}")
            info.size, info.mtime = len(data), 1_700_000_000
            tf.addfile(info, io.BytesIO(data))
    return path


RUNNER = """
import json, sys, time, types
root, archive, context, output, cache = sys.argv[1:6]
sys.path.insert(0, root)
pkg = types.ModuleType("reviewer"); pkg.__path__ = [root + "/reviewer"]
sys.modules["reviewer"] = pkg
from reviewer.packing import Budget, PackOptions, pack
t = time.perf_counter()
r = pack(archive, None, Budget(int(context), int(output)), PackOptions(cache_dir=cache))
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds,
    "included": {f.path: f.tokens for f in r.included},
    "over": [e.path for e in r.excluded if e.reason == "over budget"]}))
"""


def run(root: Path, archive: Path, budget: tuple[int, int], cache: Path) -> dict:
    cmd = [sys.executable, "-c", RUNNER, str(root), str(archive), *map(str, budget), str(cache)]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def measure(name, archive, is_source, core, roots, cache) -> list[dict]:
    full = run(roots["after"], archive, (100_000_000, 0), cache)["included"]
    total_tokens = sum(full.values())
    sources = [p for p in full if is_source(p)]
    rows = []
    for label, budget in BUDGETS.items():
        for which, root in roots.items():
            t = time.perf_counter()
            res = run(root, archive, budget, cache)
            kept = res["included"]
            rows.append(
                {
                    "archive": name,
                    "budget": label,
                    "code": which,
                    "files": f"{len(kept):,} of {len(full):,}",
                    "tokens": f"{100 * sum(kept.values()) / total_tokens:.1f}%",
                    "source kept": f"{100 * sum(p in kept for p in sources) / len(sources):.1f}%"
                    f" ({sum(p in kept for p in sources)} of {len(sources)})",
                    "core dropped": [p for p in core if p not in kept],
                    "pack s": round(res["seconds"], 2),
                    "wall s": round(time.perf_counter() - t, 2),
                }
            )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(allow_abbrev=False)
    ap.add_argument("--before", required=True, help="checkout with the old code (e.g. main)")
    ap.add_argument("--after", default=str(HERE), help="checkout with the new code")
    ap.add_argument("--out", default="/tmp/coverage-bench", help="where archives are built")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = out / "token-cache"
    roots = {"before": Path(args.before).resolve(), "after": Path(args.after).resolve()}
    rows = measure("django", build_django(out), is_django_source, DJANGO_CORE, roots, cache)
    rows += measure("mypy-like", build_mypy_like(out), is_mypy_source, MYPY_CORE, roots, cache)
    cols = ["archive", "budget", "code", "files", "tokens", "source kept", "pack s"]
    print("| " + " | ".join(cols) + " | core files dropped |")
    print("|" + "---|" * (len(cols) + 1))
    for r in rows:
        dropped = ", ".join(
            p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] for p in r["core dropped"]
        )
        cells = [str(r[c]) for c in cols] + [
            f"{len(r['core dropped'])}: {dropped}" if dropped else "0"
        ]
        print("| " + " | ".join(cells) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
