"""Nested .gitignore handling agrees with git itself on a real repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile

import pytest

from reviewer.packing import Budget, PackOptions, pack

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

BUDGET = Budget(context_tokens=2_000_000, max_output_tokens=10_000)

TREE = {
    ".gitignore": (
        "# comment\n"
        "*.log\n"
        "!important.log\n"
        "build/\n"
        "/root-only.txt\n"
        "docs/*.tmp\n"
        "**/cache/\n"
        "secret*\n"
        "!secret-ok.md\n"
        "out/\n"
        "!out/keep.txt\n"
        "logs/\n"
        "a/**/z.txt\n"
        "\\#hash.txt\n"
        "trailing.txt   \n"
        "*.generated\n"
        "tmpdir\n"
        "bar/*\n"
        "!bar/keep/\n"
        "doc2/**/x\n"
        "*.o\n"
        "!/keep.o\n"
    ),
    "tmpdir/a.txt": "plain pattern ignores a folder of that name\n",
    "src/tmpdir/b.txt": "at any depth\n",
    "bar/a.txt": "x\n",
    "bar/keep/k.txt": "re-included: only bar's children were ignored, not bar\n",
    "doc2/x": "x\n",
    "doc2/a/b/x/y.txt": "x\n",
    "doc2/a/y.txt": "kept\n",
    "keep.o": "negated at the root only\n",
    "lib/keep.o": "x\n",
    "main.py": "print('main')\n",
    "debug.log": "x\n",
    "important.log": "x\n",
    "root-only.txt": "x\n",
    "sub/root-only.txt": "kept: pattern is anchored to the root\n",
    "build/app.js": "x\n",
    "sub/build/app.js": "x\n",
    "build.py": "directory-only pattern must not match a file\n",
    "docs/a.tmp": "x\n",
    "docs/deep/a.tmp": "x\n",
    "x/y/cache/c.txt": "x\n",
    "cache": "a file named cache is not a directory\n",
    "secret.txt": "x\n",
    "secret-ok.md": "x\n",
    "out/keep.txt": "cannot be re-included: its folder is ignored\n",
    "out/other.txt": "x\n",
    "logs": "a file called logs\n",
    "src/logs/today.txt": "x\n",
    "a/z.txt": "x\n",
    "a/b/c/z.txt": "x\n",
    "#hash.txt": "x\n",
    "trailing.txt": "x\n",
    "sub/.gitignore": "!*.log\nlocal.txt\n/anchored.txt\n*.generated\n!keep.generated\n",
    "sub/debug.log": "re-included by the deeper .gitignore\n",
    "sub/local.txt": "x\n",
    "sub/anchored.txt": "x\n",
    "sub/deeper/anchored.txt": "kept: anchored to sub/\n",
    "sub/deeper/local.txt": "x\n",
    "sub/keep.generated": "deeper negation wins over the root rule\n",
    "sub/drop.generated": "x\n",
    "deep/a/b/.gitignore": "*\n!.gitignore\n!keep.me\n",
    "deep/a/b/keep.me": "x\n",
    "deep/a/b/drop.me": "x\n",
    "deep/a/b/inner/file.txt": "ignored: * matches the folder inner\n",
    "build/.gitignore": "!app.js\n",
    "nested/.gitignore": "/only-here.txt\nsub2/\n",
    "nested/only-here.txt": "x\n",
    "nested/deeper/only-here.txt": "x\n",
    "nested/sub2/f.txt": "x\n",
    "nested/f/sub2": "a file, so the dir-only pattern does not apply\n",
}


def write_tree(root, tree):
    for rel, content in tree.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)


def git_visible_files(root) -> set[str]:
    env = {
        **os.environ,
        "HOME": str(root.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    out = subprocess.run(
        ["git", "-C", str(root), "ls-files", "--others", "--exclude-standard", "-z"],
        check=True,
        capture_output=True,
        env=env,
    ).stdout
    return {p for p in out.decode().split("\0") if p}


def git_check_ignore(root, paths) -> set[str]:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    res = subprocess.run(
        ["git", "-C", str(root), "check-ignore", "--stdin", "-z"],
        input="\0".join(paths).encode(),
        capture_output=True,
        env=env,
    )
    return {p for p in res.stdout.decode().split("\0") if p}


def _skip_git_dir(info):
    parts = info.name.split("/")
    return None if ".git" in parts else info


def pack_tree(tmp_path, tree, **opts):
    repo = tmp_path / "project"
    write_tree(repo, tree)
    archive = tmp_path / "project.tgz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(repo, arcname="project", filter=_skip_git_dir)
    return repo, pack(archive, None, BUDGET, PackOptions(default_ignores=False, **opts))


def test_gitignore_selection_matches_git_ls_files(tmp_path):
    repo, result = pack_tree(tmp_path, TREE)
    ours = {f.path for f in result.included}
    assert ours == git_visible_files(repo)
    # Sanity: the tree really exercises ignoring, negation and re-inclusion.
    assert "sub/debug.log" in ours and "sub/keep.generated" in ours
    assert "out/keep.txt" not in ours and "debug.log" not in ours


def test_gitignore_each_ignored_path_agrees_with_git_check_ignore(tmp_path):
    repo, result = pack_tree(tmp_path, TREE)
    git_visible_files(repo)  # initialises the repository
    ignored_by_git = git_check_ignore(repo, sorted(TREE))
    included = {f.path for f in result.included}
    for path in TREE:
        assert (path in ignored_by_git) == (path not in included), path


def test_gitignore_exclusions_are_reported_with_reason_and_folders_once(tmp_path):
    _, result = pack_tree(tmp_path, TREE)
    reasons = {e.path: (e.reason, e.detail) for e in result.excluded}
    assert reasons["debug.log"] == ("gitignored", "")
    assert reasons["out/"] == ("gitignored", "2 files")
    assert "out/keep.txt" not in reasons
    assert {e.reason for e in result.excluded} == {"gitignored"}


def test_gitignore_inside_an_ignored_folder_is_not_consulted(tmp_path):
    tree = {
        ".gitignore": "vendor2/\n",
        "a.py": "x\n",
        "vendor2/.gitignore": "!*\n",
        "vendor2/lib.py": "x\n",
    }
    repo, result = pack_tree(tmp_path, tree)
    assert {f.path for f in result.included} == git_visible_files(repo) == {".gitignore", "a.py"}


def test_project_rules_and_force_includes_on_top_of_gitignore(tmp_path):
    tree = {
        ".gitignore": "generated/\n*.log\n",
        "a.py": "x\n",
        "b.py": "x\n",
        "generated/api.py": "x\n",
        "generated/other.py": "x\n",
        "run.log": "x\n",
    }
    _, result = pack_tree(
        tmp_path,
        tree,
        extra_ignores=["b.py"],
        force_includes=["generated/api.py", "*.log"],
    )
    assert {f.path for f in result.included} == {
        ".gitignore",
        "a.py",
        "generated/api.py",
        "run.log",
    }
    reasons = {e.path: e.reason for e in result.excluded}
    assert reasons == {"b.py": "project rule", "generated/": "gitignored"}
