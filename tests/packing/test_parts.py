"""Split mode's partition: every file in exactly one part, each part within the cap,
folders kept together, as few parts as possible, even, and deterministic."""

import math
import random

import pytest

from reviewer.packing.parts import partition


def _random_repo(seed):
    rng = random.Random(seed)
    folders = [""]
    for _ in range(rng.randint(1, 12)):
        parent = rng.choice(folders)
        folders.append(f"{parent}d{len(folders)}/")
    sizes = {}
    for i in range(rng.randint(1, 80)):
        folder = rng.choice(folders)
        sizes[f"{folder}f{i}.py"] = rng.choice([0, 1, 5, 20, 50, 120, 400, 900])
    return sizes, rng.choice([50, 100, 300, 1000, 5000])


SEEDS = range(60)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_file_is_in_exactly_one_part(seed):
    sizes, cap = _random_repo(seed)
    files = [f for part in partition(sizes, cap) for f in part.files]
    assert sorted(files) == sorted(sizes)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_part_fits_the_cap_and_only_oversized_files_are_cut(seed):
    sizes, cap = _random_repo(seed)
    for part in partition(sizes, cap):
        assert part.tokens <= cap
        for unit in part.units:
            assert unit.truncated == (len(unit.files) == 1 and sizes[unit.files[0]] > cap)
            if not unit.truncated:
                assert unit.tokens == sum(sizes[f] for f in unit.files)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_folder_that_fits_is_never_divided(seed):
    sizes, cap = _random_repo(seed)
    part_of = {f: i for i, part in enumerate(partition(sizes, cap)) for f in part.files}
    folders = {p.rsplit("/", 1)[0] + "/" for p in sizes if "/" in p}
    for folder in folders:
        inside = [f for f in sizes if f.startswith(folder)]
        if sum(sizes[f] for f in inside) <= cap:
            assert len({part_of[f] for f in inside}) == 1, folder


@pytest.mark.parametrize("seed", SEEDS)
def test_the_same_files_in_any_order_give_the_same_parts(seed):
    sizes, cap = _random_repo(seed)
    shuffled = list(sizes.items())
    random.Random(seed + 1).shuffle(shuffled)
    first = [part.files for part in partition(sizes, cap)]
    assert [part.files for part in partition(dict(shuffled), cap)] == first


@pytest.mark.parametrize("seed", SEEDS)
def test_no_two_neighbouring_parts_would_fit_in_one(seed):
    # Fewest parts for runs of neighbouring folders: merging any two neighbours breaks the cap.
    sizes, cap = _random_repo(seed)
    parts = partition(sizes, cap)
    for left, right in zip(parts, parts[1:], strict=False):
        assert left.tokens + right.tokens > cap


def test_a_repository_that_fits_is_one_part_rooted_at_the_top():
    parts = partition({"a/x.py": 10, "b/y.py": 10, "README.md": 3}, 100)
    assert len(parts) == 1 and parts[0].roots == [""]
    assert parts[0].files == ["README.md", "a/x.py", "b/y.py"]


def test_parts_follow_folders():
    sizes = {"api/a.py": 40, "api/b.py": 40, "core/c.py": 60, "core/d.py": 30, "web/e.py": 70}
    parts = partition(sizes, 100)
    assert [p.roots for p in parts] == [["api/"], ["core/"], ["web/"]]


def test_a_folder_too_large_is_divided_along_its_subfolders_first():
    sizes = {"src/a/1.py": 50, "src/a/2.py": 40, "src/b/3.py": 80, "src/top.py": 10}
    parts = partition(sizes, 100)
    assert [p.roots for p in parts] == [["src/a/"], ["src/b/", "src/top.py"]]


def test_parts_are_evened_out():
    # Ten folders of 30 into parts of at most 100: greedy would give 90, 90, 90, 30.
    sizes = {f"d{i}/f.py": 30 for i in range(10)}
    parts = partition(sizes, 100)
    assert [p.tokens for p in parts] == [90, 90, 60, 60]


def test_a_file_larger_than_the_cap_is_alone_and_marked_truncated():
    parts = partition({"big.py": 1000, "small.py": 10}, 100)
    assert [(p.roots, p.tokens) for p in parts] == [(["big.py"], 100), (["small.py"], 10)]
    assert parts[0].units[0].truncated


@pytest.mark.parametrize("count", [1, 7, 50])
def test_equal_files_need_the_fewest_parts(count):
    parts = partition({f"f{i:02}.py": 10 for i in range(count)}, 25)
    assert len(parts) == math.ceil(count / 2)


def test_nothing_to_split_gives_no_parts():
    assert partition({}, 100) == []
