"""A compact directory tree of the included files, as `tree` would draw it."""

from __future__ import annotations


def render_tree(paths: list[str]) -> str:
    root: dict = {}
    for p in sorted(paths):
        node = root
        for part in p.split("/"):
            node = node.setdefault(part, {})
    lines: list[str] = []

    def walk(node: dict, prefix: str) -> None:
        # Folders first, then files, each alphabetical: easier to scan.
        items = sorted(node.items(), key=lambda kv: (not kv[1], kv[0]))
        for i, (name, child) in enumerate(items):
            last = i == len(items) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{name}{'/' if child else ''}")
            if child:
                walk(child, prefix + ("    " if last else "│   "))

    walk(root, "")
    return "\n".join(lines)
