"""The package's architecture as a test: imports point one way through the stages
(cli -> io -> plan -> predict -> schema -> errors), no import circle, modules stay small, and the
public API that external scripts use keeps its names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "solver"
#: a module may import modules of its own stage or of a lower one
STAGES = {"errors": 0, "schema": 1, "predict": 2, "plan": 3, "io": 4, "cli": 5}
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The solver modules a file imports anywhere (module level, functions, TYPE_CHECKING blocks)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("solver"):
            for a in node.names:  # `from solver.predict import compat` imports the module solver.predict.compat
                sub = f"{node.module}.{a.name}"
                out.add(sub if sub in known else node.module)
    return out & known


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {m: imports_of(p, set(mods)) - {m} for m, p in mods.items()}


def stage(module: str) -> int | None:
    parts = module.split(".")
    return STAGES.get(parts[1]) if len(parts) > 1 else None  # the top-level facade (solver) is no stage


def test_the_walk_sees_the_stages_and_their_edges():
    g = graph()
    assert {stage(m) for m in g} >= set(STAGES.values())
    assert "solver.predict.memory" in g["solver.predict.speed"]  # an import the walk must find
    assert "solver.plan.variables" in g["solver.plan.families"]  # found inside `if TYPE_CHECKING:`
    assert "solver.predict.compat" in g["solver.plan.validate"]  # `from solver.predict import compat`


def test_no_import_circle():
    g = graph()
    state: dict[str, int] = {}  # 1: on the walk's path, 2: done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(g[m]):
            if state.get(n) == 1:
                pytest.fail("import circle: " + " -> ".join(path[path.index(n):] + [m, n]))
            if n not in state:
                visit(n, path + [m])
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m, [])


def test_imports_point_down_the_stages():
    upward = [f"{m} ({stage(m)}) imports {n} ({stage(n)})" for m, deps in sorted(graph().items()) for n in sorted(deps)
              if stage(m) is not None and stage(n) is not None and stage(n) > stage(m)]
    assert not upward, "\n".join(upward)


def test_modules_stay_small():
    big = {m: n for m, p in modules().items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines: {big}"


def test_public_api_names():
    from solver import Plan, Scenario, estimate, load_catalog, solve

    catalog = load_catalog()
    plan = solve(Scenario(model="llama-3.1-8b", users=4, precision="fp8"), catalog)
    assert isinstance(plan, Plan) and plan.front
    est = estimate("llama-3.1-8b", "h100-sxm", precision="fp8", concurrency=4, catalog=catalog)
    assert est.fits and est.perf is not None and est.as_dict()["gpu"] == "h100-sxm-80gb"


def test_every_package_has_an_init():
    """A folder without __init__.py is a namespace package: an installed (non-editable) build leaves it out."""
    missing = [str(d.relative_to(PACKAGE.parent)) for d in sorted(PACKAGE.rglob("*")) if d.is_dir()
               and d.name != "__pycache__" and any(d.glob("*.py")) and not (d / "__init__.py").exists()]
    assert not missing
