"""The layer order of the code, written down once, and the tests that hold every import to it.

Layers go from the bottom up. A module may import its own layer and the layers below it, never a
layer above; no two modules import each other, directly or round a longer loop. Every import
counts, also one inside a function; only imports under ``if TYPE_CHECKING:`` are left out.
A module belongs to the layer of the longest prefix below that names it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("twin", "benchmark", "dashboard")

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # the formats both halves share: demonstrations, twin packages, transforms, scene specs
    (
        "formats",
        (
            "twin.errors",
            "twin.lazy",
            "twin.transforms",
            "twin.video",
            "twin.demonstration",
            "twin.lerobot",
            "twin.package",
            "twin.scene.spec",
            "twin.scene.textures",
            "twin.scene.mjcf_files",
        ),
    ),
    ("splats", ("twin.splats",)),
    ("scene", ("twin.scene",)),  # MjSpec composition, the robot, worlds, twin rendering
    ("reconstruction", ("twin",)),
    # what the evaluation half agrees on: its errors, the action spaces, the policy protocol
    (
        "contracts",
        (
            "benchmark",
            "benchmark.errors",
            "benchmark.text",
            "benchmark.children",
            "benchmark.sim.actions",
            "benchmark.policies.protocol",
        ),
    ),
    ("ranking", ("benchmark.ranking",)),  # pure rating math
    ("sim", ("benchmark.sim",)),
    ("scenes", ("benchmark.scenes",)),
    ("perturbations", ("benchmark.perturbations",)),
    ("episodes", ("benchmark.episodes",)),
    ("store", ("benchmark.store",)),
    ("policies", ("benchmark.policies",)),
    ("judges", ("benchmark.judges",)),
    ("campaigns", ("benchmark.campaigns",)),
    ("report", ("benchmark.report",)),
    ("validity", ("benchmark.validity",)),
    ("demo", ("benchmark.demo",)),
    ("cli", ("benchmark.cli",)),
    ("dashboard", ("dashboard",)),
)


def layer_of(module: str) -> int:
    """Index in :data:`LAYERS` of the longest prefix naming ``module``."""
    best, where = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, where = len(prefix), index
    if where < 0:
        raise KeyError(f"{module}: in no layer of tests/test_layers.py")
    return where


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the project's packages (migrations left out: Alembic loads them by path)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if "migrations" in rel.parts:
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _type_checking_only(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    return lines


def _imported(module: str, path: Path, node: ast.Import | ast.ImportFrom, known: dict) -> Iterator[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            parts = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
        # ``from package import module`` needs the module, not what the package's __init__ holds
        names = submodules if len(submodules) == len(node.names) else [base, *submodules]
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            yield name


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module → the project modules it imports."""
    known = project_modules(root)
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        skip = _type_checking_only(tree)
        graph[module] = {
            target
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom)) and node.lineno not in skip
            for target in _imported(module, path, node, known)
        }
    return graph


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Each import of a higher layer, as one readable line."""
    return [
        f"{source} ({LAYERS[layer_of(source)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for source, targets in sorted(graph.items())
        for target in sorted(targets)
        if layer_of(target) > layer_of(source)
    ]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


GRAPH = import_graph()


def test_every_module_has_a_layer():
    for module in GRAPH:
        layer_of(module)


def test_no_module_imports_a_higher_layer():
    upward = upward_imports(GRAPH)
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_cycles():
    found = cycles(GRAPH)
    assert not found, "import cycles:\n" + "\n".join(" ↔ ".join(group) for group in found)


def test_twin_never_imports_benchmark_and_benchmark_never_the_dashboard():
    across = {("twin", "benchmark"), ("benchmark", "dashboard")}
    crossing = [
        f"{source} imports {target}"
        for source, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if (source.split(".")[0], target.split(".")[0]) in across
    ]
    assert not crossing, "\n".join(crossing)


@pytest.mark.parametrize(
    "source, target",
    [("twin.package", "benchmark.sim.tasks"), ("benchmark.store.queries", "benchmark.judges.vlm")],
)
def test_the_check_catches_an_upward_import(source, target):
    graph = {source: {target}, target: set()}
    assert upward_imports(graph) == [
        f"{source} ({LAYERS[layer_of(source)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
    ]


def test_the_check_catches_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
