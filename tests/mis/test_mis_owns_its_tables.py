"""mis/ is the only code that knows the MIS tables: no SQL naming a `mis.` table anywhere else in the gateway."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ("common", "connectors", "mappings", "expectations", "misgw", "dags")
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|FROM|JOIN|TRUNCATE|ALTER|CREATE)\b", re.I)
MIS_TABLE = re.compile(r"\bmis\.([a-z_]+\b|\{\})")   # mis.{} : a table named by an f-string's value


def _string_parts(tree: ast.AST):
    """Every literal text of a module, f-strings by their literal pieces, with its line."""
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            yield node.lineno, text
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def sql_outside_mis() -> list[str]:
    found = []
    for package in GATEWAY:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                          if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                          and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
            for node in ast.walk(tree):
                if id(node) in docstrings:
                    continue
                for line, text in _string_parts(node) if isinstance(node, (ast.JoinedStr, ast.Constant)) else ():
                    if MIS_TABLE.search(text) and SQL.search(text):
                        found.append(f"{path.relative_to(ROOT)}:{line}: {MIS_TABLE.search(text).group(0)}")
    return sorted(set(found))


def test_no_sql_on_mis_tables_outside_mis():
    assert sql_outside_mis() == []


def test_the_check_sees_sql_in_plain_and_f_strings(tmp_path, monkeypatch):
    """The check would catch a statement written outside mis/, in either kind of string."""
    package = tmp_path / "misgw"
    package.mkdir()
    (package / "x.py").write_text('"""Doc names mis.sync_run FROM here."""\nimport sqlalchemy as sa\n'
                                  'A = sa.text("SELECT run_id FROM mis.sync_run")\n'
                                  't = "reject"\nB = f"DELETE FROM mis.{t} WHERE run_id = :r"\n', encoding="utf-8")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    monkeypatch.setattr(__import__(__name__), "GATEWAY", ("misgw",))
    assert sql_outside_mis() == ["misgw/x.py:3: mis.sync_run", "misgw/x.py:5: mis.{}"]
