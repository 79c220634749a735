"""The project's import graph: which module of `realnvp/`, `train/` and `explorer/` imports
which, read from the source with `ast` (nothing is imported or run).

    python bench/import_graph.py                 # print the package-level arrows, cycles, depth
    python bench/import_graph.py --draw docs/import_graph.png

The picture has one panel per package, each module in a column by its depth inside its package
(it sits right of the modules it imports); an arrow points from the importing module to the
imported one, and each panel's title counts the imports of the other packages.
It fails (exit 1) if the modules import each other in a circle or if the library imports the app
or the trainer.
"""
from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("realnvp", "train", "explorer")
COLOURS = {"realnvp": "#4c72b0", "train": "#dd8452", "explorer": "#55a868"}
# the library stands alone; the trainer and the app use it (and the app may read the trainer's data)
ALLOWED = {"realnvp": set(), "train": {"realnvp"}, "explorer": {"realnvp", "train"}}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules that `name` imports (at any depth of its code, lazy imports included)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports the module pkg.mod where there is one
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import a.b.c` of a name inside a module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def package_of(name: str) -> str:
    return name.split(".")[0]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    import networkx as nx

    g = nx.DiGraph([(a, b) for a, targets in edges.items() for b in targets
                    if not b.startswith(a + ".") and not a.startswith(b + ".")])  # a package and its own modules
    return [sorted(c) for c in nx.simple_cycles(g)]


def depths(edges: dict[str, set[str]]) -> dict[str, int]:
    memo: dict[str, int] = {}

    def depth(name: str, stack: tuple = ()) -> int:
        if name not in memo:
            below = [t for t in edges[name] if t not in stack and not t.startswith(name + ".")]
            memo[name] = 1 + max((depth(t, stack + (name,)) for t in below), default=-1)
        return memo[name]

    for name in edges:
        depth(name)
    return memo


def draw(edges: dict[str, set[str]], out: Path) -> None:
    """One panel per package: its modules in columns by their depth inside the package (a module
    sits right of the modules of its package that it imports), arrows between them; the imports
    of other packages are counted in the panel's title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    for package in PACKAGES:
        inner = {a: {b for b in t if package_of(b) == package} for a, t in edges.items() if package_of(a) == package}
        level = depths(inner)
        columns: dict[int, list[str]] = defaultdict(list)
        for name in sorted(inner):
            columns[level[name]].append(name)
        panels.append((package, inner, columns))
    heights = [max(len(c) for c in columns.values()) for _, _, columns in panels]
    width = max(len(columns) for _, _, columns in panels)
    fig, axes = plt.subplots(len(panels), 1, figsize=(2.1 * width + 0.6, 0.2 * sum(heights) + 1.4 * len(panels)),
                             dpi=120, gridspec_kw={"height_ratios": [h + 2 for h in heights]})
    for ax, (package, inner, columns), height in zip(axes, panels, heights):
        colour = COLOURS[package]
        position = {name: (x, -i) for x, names in columns.items() for i, name in enumerate(names)}
        for a, targets in inner.items():
            for b in targets:
                if b.startswith(a + "."):
                    continue
                (x0, y0), (x1, y1) = position[a], position[b]
                ax.annotate("", xy=(x1 + 0.9, y1), xytext=(x0 - 0.02, y0),
                            arrowprops=dict(arrowstyle="-|>", lw=0.5, alpha=0.35, color=colour, shrinkA=0, shrinkB=1))
        for name, (x, y) in position.items():
            label = name.removeprefix(package + ".") if name != package else f"{package} (package)"
            ax.text(x, y, label, fontsize=7, va="center", ha="left", family="monospace",
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec=colour, lw=0.8))
        outside = defaultdict(int)
        for a, targets in edges.items():
            if package_of(a) == package:
                for b in targets:
                    if package_of(b) != package:
                        outside[package_of(b)] += 1
        uses = ", ".join(f"{n} imports of {p}/" for p, n in sorted(outside.items())) or "nothing outside it"
        ax.set_title(f"{package}/: {len(inner)} modules; uses {uses}", fontsize=9, loc="left", color=colour)
        ax.set_xlim(-0.1, width + 0.2)
        ax.set_ylim(-height + 0.4, 0.8)
        ax.axis("off")
    fig.suptitle("Import graph: each module sits right of the modules of its package that it imports "
                 "(arrows point to the imported module); no cycles", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--draw", type=Path, metavar="PNG", help="also draw the module graph to this file")
    args = p.parse_args(argv)
    edges = graph()
    between = defaultdict(int)
    for a, targets in edges.items():
        for b in targets:
            if package_of(a) != package_of(b):
                between[package_of(a), package_of(b)] += 1
    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} imports between them")
    for (a, b), n in sorted(between.items()):
        print(f"  {a} -> {b}: {n}")
    problems = [f"{a} imports {b}" for a, b in between if b not in ALLOWED[a]]
    loops = cycles(edges)
    problems += ["import cycle: " + " -> ".join(c) for c in loops]
    print(f"deepest module: {max(depths(edges).values())} levels of imports below it; cycles: {len(loops)}")
    if args.draw:
        draw(edges, args.draw)
        print(f"wrote {args.draw}")
    for problem in problems:
        print("error:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
