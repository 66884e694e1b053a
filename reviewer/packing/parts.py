"""Partitioning a repository into parts that each fit one request (split mode).

The rules, in order of precedence:

1. every file is in exactly one part, and no file is ever split between parts;
2. every part fits ``cap`` tokens; a single file larger than ``cap`` is the only thing
   ever cut short (the caller truncates it and says so), and it gets a part of its own
   share like any other unit;
3. folders stay together: a folder whose files fit in ``cap`` is never divided, and a
   larger folder is divided along its subfolders before its files are;
4. as few parts as those rules allow, then as even as possible.

How: the folder tree is cut into *units* (the largest folders that fit, else single
files), listed depth first with names sorted, so neighbouring units are neighbouring
folders. Parts are runs of consecutive units: a greedy pass finds the fewest parts,
and boundaries then move between neighbours while that lowers the larger of the two,
which evens the parts out. Everything is sorted first, so the same files always give
the same parts, whatever order they came in.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Unit:
    """A folder kept whole (``path`` ends with "/"), or a single file."""

    path: str
    files: list[str]
    tokens: int
    truncated: bool = False  # a file larger than the cap: the caller cuts it down


@dataclass
class Part:
    units: list[Unit] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return sum(u.tokens for u in self.units)

    @property
    def files(self) -> list[str]:
        return [f for u in self.units for f in u.files]

    @property
    def roots(self) -> list[str]:
        """The folders and single files this part holds, for the overview."""
        return [u.path for u in self.units]


def partition(sizes: dict[str, int], cap: int) -> list[Part]:
    """Split files (path -> tokens) into parts of at most ``cap`` tokens each, counting a
    file larger than ``cap`` as ``cap`` (it is truncated to fit)."""
    if cap < 1:
        raise ValueError("cap must be at least 1 token")
    if not sizes:
        return []
    units = _units(_tree(sizes), "", cap)
    bounds = _fewest_parts(units, cap)
    bounds = _even_out(units, bounds, cap)
    return [Part(units[a:b]) for a, b in zip([0, *bounds], [*bounds, len(units)], strict=True)]


# -- the folder tree and its units -------------------------------------------------------
@dataclass
class _Folder:
    folders: dict[str, _Folder] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    tokens: int = 0
    paths: list[str] = field(default_factory=list)


def _tree(sizes: dict[str, int]) -> _Folder:
    root = _Folder()
    for path in sorted(sizes):
        tokens = max(0, int(sizes[path]))
        *dirs, name = path.split("/")
        node = root
        node.tokens += tokens
        for d in dirs:
            node = node.folders.setdefault(d, _Folder())
            node.tokens += tokens
        node.files[name] = tokens
    return root


def _entries(folder: _Folder):
    """Children in depth-first order: names sorted, a folder and a file of the same name
    ordered by name alone (folders have no extension, so this is stable)."""
    items = [(name, True) for name in folder.folders] + [(name, False) for name in folder.files]
    return sorted(items)


def _all_files(folder: _Folder, prefix: str) -> list[str]:
    out = []
    for name, is_dir in _entries(folder):
        if is_dir:
            out.extend(_all_files(folder.folders[name], f"{prefix}{name}/"))
        else:
            out.append(prefix + name)
    return out


def _units(folder: _Folder, prefix: str, cap: int) -> list[Unit]:
    out: list[Unit] = []
    for name, is_dir in _entries(folder):
        if is_dir:
            child = folder.folders[name]
            path = f"{prefix}{name}/"
            if child.tokens <= cap:
                out.append(Unit(path, _all_files(child, path), child.tokens))
            else:
                out.extend(_units(child, path, cap))
        else:
            tokens = folder.files[name]
            out.append(Unit(prefix + name, [prefix + name], min(tokens, cap), tokens > cap))
    if not prefix and folder.tokens <= cap:
        # The whole repository fits: one part, rooted at the top.
        return [Unit("", _all_files(folder, ""), folder.tokens)] if out else []
    return out


# -- runs of consecutive units ------------------------------------------------------------
def _fewest_parts(units: list[Unit], cap: int) -> list[int]:
    """Boundaries (start index of each part after the first) of the greedy fill, which
    gives the fewest parts for runs of consecutive units."""
    bounds, load = [], 0
    for i, u in enumerate(units):
        if load and load + u.tokens > cap:
            bounds.append(i)
            load = 0
        load += u.tokens
    return bounds


def _even_out(units: list[Unit], bounds: list[int], cap: int) -> list[int]:
    """Moves a boundary by one unit while that lowers the larger of its two parts. Every
    move lowers the sum of squared part sizes, so this ends; the cap still holds."""
    sizes = [u.tokens for u in units]
    bounds = list(bounds)

    def load(a: int, b: int) -> int:
        return sum(sizes[a:b])

    for _ in range(4 * len(units) + 4):
        moved = False
        edges = [0, *bounds, len(units)]
        for j in range(len(bounds)):
            a, m, b = edges[j], edges[j + 1], edges[j + 2]
            left, right = load(a, m), load(m, b)
            if left > right and m - a > 1:
                new_left, new_right = left - sizes[m - 1], right + sizes[m - 1]
                if max(new_left, new_right) < left and new_right <= cap:
                    edges[j + 1] = bounds[j] = m - 1
                    moved = True
            elif right > left and b - m > 1:
                new_left, new_right = left + sizes[m], right - sizes[m]
                if max(new_left, new_right) < right and new_left <= cap:
                    edges[j + 1] = bounds[j] = m + 1
                    moved = True
        if not moved:
            break
    return bounds
