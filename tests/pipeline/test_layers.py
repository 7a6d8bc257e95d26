"""The house's shape holds: imports point down the layers only, and no module imports itself round a circle."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Lowest first; a package may import its own layer's modules and any layer below, never one above.
LAYERS = {"common": 0, "connectors": 1, "mis": 1, "mappings": 2, "expectations": 3, "misgw": 4, "dags": 5}
# Same floor, and still strangers: connectors know nothing of the MIS, and mis/ nothing of spreadsheets.
STRANGERS = {("connectors", "mis"), ("mis", "connectors")}
MAX_LINES = 400


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def gateway_modules(root: Path = ROOT) -> dict[str, Path]:
    return {_module_name(p, root): p for package in LAYERS for p in sorted((root / package).rglob("*.py"))}


def imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Each gateway module's imports of other gateway modules, at module level or inside functions."""
    found: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [f"{node.module}.{a.name}" for a in node.names]   # each resolves to at least its module
            for n in names:
                # the longest gateway module the name starts with: "mis.db.get_engine" is mis.db
                while n and n not in modules:
                    n = n.rpartition(".")[0]
                if n and n != name and n.split(".")[0] in LAYERS:
                    targets.add(n)
        found[name] = targets
    return found


def upward(graph: dict[str, set[str]]) -> list[str]:
    out = []
    for name, targets in graph.items():
        here = name.split(".")[0]
        for t in targets:
            there = t.split(".")[0]
            if LAYERS[there] > LAYERS[here] or (here, there) in STRANGERS:
                out.append(f"{name} -> {t}")
    return sorted(out)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_imports_point_down_the_layers_only():
    assert upward(imports(gateway_modules())) == []


def test_no_import_cycles():
    assert cycles(imports(gateway_modules())) == []


def test_no_module_is_over_400_lines():
    # The demo's generator is split by what it generates (misgw/demo_*.py) and held to the same bound.
    long = {name: n for name, path in gateway_modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_dag_folder_is_wiring_only():
    lines = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in (ROOT / "dags").rglob("*.py"))
    assert lines < 150


def test_the_checks_see_a_climb_and_a_cycle(tmp_path):
    """A module of a lower layer importing a higher one, and two modules importing each other, are caught."""
    for package, body in (("mis", "from misgw import b\n"), ("misgw", "def f():\n    import misgw.c\n"),
                          ("common", "")):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / ("a.py" if package == "mis" else "b.py")).write_text(body)
    (tmp_path / "misgw" / "c.py").write_text("from misgw.b import f\n")
    graph = imports(gateway_modules(tmp_path))
    assert upward(graph) == ["mis.a -> misgw.b"]
    assert cycles(graph) == [["misgw.b", "misgw.c"]]
