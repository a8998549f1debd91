"""The house rules, read from the source: layers import only downward, no cycles, kinds are one-file plug-ins.

The import graph comes from ``ast`` over ``src/edureport`` (not from importing), so an import hidden inside a
function counts like any other; only imports of heavy optional libraries may sit inside functions, and
only those named in ``LAZY`` (``TYPE_CHECKING`` blocks are for type checkers and are skipped).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "edureport"

# Bottom → top. A module may import its own layer and the layers below it; intake sits beside data (it
# may use data; data never uses intake); the package's own __init__/__main__ are the top.
LAYERS = ["core", "kinds", "plan", "data", "intake", "metrics", "report", "render", "batch", "deliver", "cli", "(top)"]
# Third-party modules that may be imported inside a function, because most runs never need them and
# importing them costs time or starts machinery: the Dask cluster client; the notebook stack (papermill,
# nbformat, nbclient, nbconvert, jupyter_client: only when a report runs); PDF (WeasyPrint); matplotlib and the font
# subsetter with its fonts (only when a chart or PDF is made); openpyxl (only for .xlsx files); the
# progress bar (only on a terminal); Pillow (only when a chart's PNG is made).
LAZY = {"distributed", "dask", "papermill", "nbformat", "nbclient", "nbconvert", "jupyter_client", "weasyprint", "matplotlib",
        "fontTools", "mplfonts", "openpyxl", "tqdm", "PIL", "docx"}
KIND_NAMES = {"count", "ratio", "milestone", "project", "trend"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else LAYERS.index("(top)")


def _type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name | ast.Attribute) and "TYPE_CHECKING" in ast.unparse(node.test)


def _dynamic_import(call: ast.Call) -> bool:
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    return name in ("import_module", "__import__") and bool(call.args) and isinstance(call.args[0], ast.Constant) \
        and isinstance(call.args[0].value, str)


def imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import outside ``if TYPE_CHECKING:`` (type-only
    imports are for the type checker: a kind may name ``Plan`` in an annotation without importing it), and
    every ``importlib.import_module("…")`` / ``__import__("…")`` with a literal name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for other in child.orelse:  # the else branch runs
                    visit(ast.Module(body=[other], type_ignores=[]), top)
                continue
            if isinstance(child, ast.Call) and _dynamic_import(child):  # importlib.import_module("edureport.x")
                out.append((child.args[0].value, child.lineno, top))  # type: ignore[attr-defined]
            if isinstance(child, ast.Import):
                out.extend((a.name, child.lineno, top) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                assert child.level == 0, f"{path}:{child.lineno}: relative import (write edureport.… in full)"
                base = child.module or ""
                for a in child.names:  # "from edureport.data import store" imports the module edureport.data.store
                    sub = f"{base}.{a.name}"
                    out.append((sub if (SRC.parent / (sub.replace('.', '/') + '.py')).exists()
                                or (SRC.parent / sub.replace('.', '/')).is_dir() else base, child.lineno, top))
            else:
                inner = top and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                visit(child, inner)

    visit(tree, True)
    return out


def graph() -> dict[str, list[tuple[str, int, bool]]]:
    return {module_name(p): imports(p) for p in sorted(SRC.rglob("*.py"))}


def test_layers_are_the_folders() -> None:
    folders = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(LAYERS) - {"(top)"}


def test_no_module_imports_a_higher_layer() -> None:
    upward = [f"{m} ({LAYERS[layer_of(m)]}) → {dep} ({LAYERS[layer_of(dep)]}) line {line}"
              for m, deps in graph().items() for dep, line, _ in deps
              if dep.startswith("edureport") and layer_of(dep) > layer_of(m)]
    assert not upward, "\n".join(upward)


def test_data_never_imports_intake() -> None:  # beside each other: intake uses data, not the other way
    wrong = [f"{m} → {d}" for m, deps in graph().items() if m.startswith("edureport.data")
             for d, _, _ in deps if d.startswith("edureport.intake")]
    assert not wrong


def test_no_import_cycles() -> None:
    edges = {m: sorted({d for d, _, _ in deps if d.startswith("edureport") and d != m}) for m, deps in graph().items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                walk(nxt, [*stack, nxt])
        state[node] = 2

    for m in sorted(edges):
        if m not in state:
            walk(m, [m])
    assert not cycles, "\n".join(" → ".join(c) for c in cycles)


def test_imports_inside_functions_only_for_heavy_optional_libraries() -> None:
    hidden = [f"{m} line {line}: {dep}" for m, deps in graph().items() for dep, line, top in deps
              if not top and dep.split(".")[0] not in LAZY]
    assert not hidden, "\n".join(hidden)


def _kind_branches(path: Path) -> list[str]:
    """String literals equal to an indicator kind's name used to branch: in a comparison (==, !=, in),
    in ``.isin(…)``/``.eq(…)``/``.ne(…)``, as a ``case``, or as keys of a dict keyed by kind names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def names_in(node: ast.AST) -> set[str]:
        return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and n.value in KIND_NAMES}

    for node in ast.walk(tree):
        hit: set[str] = set()
        if isinstance(node, ast.Compare):
            hit = names_in(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("isin", "eq", "ne"):
            hit = set().union(*(names_in(a) for a in node.args)) if node.args else set()
        elif isinstance(node, ast.match_case):
            hit = names_in(node.pattern)
        elif isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant) and k.value in KIND_NAMES}
            hit = keys if len(keys) >= 2 else set()
        if hit:
            line = node.pattern.lineno if isinstance(node, ast.match_case) else node.lineno
            found.append(f"{path.relative_to(SRC)}:{line}: {sorted(hit)}")
    return found


def test_no_code_outside_kinds_branches_on_a_kind_name() -> None:
    found = [b for p in sorted(SRC.rglob("*.py")) if "kinds" not in p.relative_to(SRC).parts[:1]
             for b in _kind_branches(p)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("code", [
    'if ind.kind == "ratio": pass', 'x = r.kind in ("ratio", "trend")', 'mask = kind.isin(["count"])',
    'm = kind.eq("milestone")', 'R = {"count": [], "ratio": []}',
    'match k:\n    case "trend": pass',
])
def test_the_kind_name_check_sees_each_form(tmp_path: Path, code: str) -> None:
    path = SRC / "_probe_kind_branch.py"  # the check is relative to SRC: write the probe there, then remove it
    try:
        path.write_text(code, encoding="utf-8")
        assert _kind_branches(path)
    finally:
        path.unlink()


@pytest.mark.parametrize("code", [
    "import edureport.cli.main",
    "from edureport.cli import main",
    "import typing\nif typing.TYPE_CHECKING:\n    pass\nelse:\n    from edureport.cli import main",
    "import importlib\nimportlib.import_module('edureport.cli.main')",
    "__import__('edureport.cli.main')",
])
def test_the_graph_sees_each_import_form(code: str) -> None:
    path = SRC / "_probe_import_form.py"
    try:
        path.write_text(code, encoding="utf-8")
        assert "edureport.cli.main" in {dep for dep, _, _ in imports(path)}
    finally:
        path.unlink()


def test_the_cycle_and_layer_checks_see_a_violation(monkeypatch: pytest.MonkeyPatch) -> None:
    real = imports

    def fake(path: Path):
        out = real(path)
        if module_name(path) == "edureport.core.errors":
            out.append(("edureport.cli.main", 1, True))  # core importing the CLI: upward, and a cycle
        return out

    monkeypatch.setitem(globals(), "imports", fake)
    with pytest.raises(AssertionError):
        test_no_module_imports_a_higher_layer()
    with pytest.raises(AssertionError):
        test_no_import_cycles()


def test_the_command_line_starts_without_the_heavy_libraries() -> None:
    """``edureport --help``, ``import``, ``validate``… load none of the libraries kept lazy: nbformat
    alone (through jsonschema) cost 2.4 s of every command's start when render/document imported it."""
    import subprocess
    import sys

    code = ("import sys, edureport.cli.main; "
            f"print(sorted(set({sorted(LAZY)!r}) & {{m.split('.')[0] for m in sys.modules}}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
