"""No import circle among the project's modules (issue 27): data flows one way, inside each app as between them.

The graph is every import grimp finds, those inside functions included (a deferred import that hides a circle is
an arrow like any other); a failure prints each circle, module by module, with the lines of its imports.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
# Every first-party package; one not (or no longer) in the tree is skipped (issue 27 adds `api`).
PACKAGES = ("acquisition", "api", "monitoring", "pulls", "stations", "streamflow")


def _graph() -> grimp.ImportGraph:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    packages = [name for name in PACKAGES if (ROOT / name / "__init__.py").exists()]
    return grimp.build_graph(*packages, include_external_packages=False, cache_dir=None)


def circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of the module graph with more than one module (Tarjan, iterative)."""
    edges = {module: sorted(graph.find_modules_directly_imported_by(module)) for module in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            module, child = work.pop()
            if child == 0:
                index[module] = low[module] = len(index)
                stack.append(module)
                on_stack.add(module)
            targets = edges[module]
            if child < len(targets):
                work.append((module, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
    return found


def describe(graph: grimp.ImportGraph, component: list[str]) -> str:
    """One circle as its arrows: `a -> b (line 12, 40)`, for each import between two of its modules."""
    members = set(component)
    lines = []
    for importer in component:
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
            details = graph.get_import_details(importer=importer, imported=imported)
            where = ", ".join(str(d["line_number"]) for d in details)
            lines.append(f"  {importer} -> {imported} (line {where})")
    return "\n".join(lines)


def test_the_finder_sees_a_circle():
    """The check itself: a made-up graph with one circle through three modules (and a one-way arrow) finds it."""
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d"):
        graph.add_module(name)
    for importer, imported in (("pkg.a", "pkg.b"), ("pkg.b", "pkg.c"), ("pkg.c", "pkg.a"), ("pkg.d", "pkg.a")):
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}")

    assert circles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
    assert "pkg.c -> pkg.a (line 1)" in describe(graph, ["pkg.a", "pkg.b", "pkg.c"])


def test_no_import_circle_between_the_projects_modules():
    graph = _graph()
    assert len(graph.modules) > 100  # the packages were found (an empty graph has no circle either)

    found = circles(graph)

    report = "\n\n".join(describe(graph, component) for component in found)
    assert not found, f"{len(found)} import circle(s); make data flow one way:\n{report}"
