"""The layers: each stage imports only what sits below it, and no stage module names a widget (a
widget's needs reach the stages through the plan and its recorders)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from stepthrough.recorder import Recorder

PACKAGE = Path(__file__).resolve().parents[1] / "stepthrough"

# A stage → what it must import without (and any module below those names). Nothing below the
# commands imports them; nothing that plans imports precompute (or torch).
COMMANDS = ["stepthrough.make", "stepthrough.checks", "stepthrough.cli"]
MODEL = ["stepthrough.precompute", "stepthrough.site.build", *COMMANDS, "torch"]
BLOCKED = {
    "stepthrough.bundle": [
        "stepthrough.content",
        "stepthrough.plan",
        "stepthrough.widgets",
        "stepthrough.site",
        "stepthrough.builtin",
        *MODEL,
    ],
    # the builder reads the widgets, never the other way round (the page's words: stepthrough.locale)
    "stepthrough.widgets": ["stepthrough.content", "stepthrough.plan", "stepthrough.site", *MODEL],
    "stepthrough.content": ["stepthrough.plan", *MODEL],
    "stepthrough.plan": MODEL,
    "stepthrough.site.build": [  # the builder never loads the model stack
        "stepthrough.precompute.run",
        "stepthrough.precompute.capture",
        "stepthrough.precompute.models",
        *COMMANDS,
        "torch",
        "sklearn",
    ],
    "stepthrough.precompute.run": ["stepthrough.site.build", *COMMANDS],
}

BLOCKER = """
import importlib, sys
blocked = {blocked!r}
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            raise ImportError(f"{{name}} is blocked")
        return None
sys.meta_path.insert(0, Blocker())
importlib.import_module({stage!r})
"""


@pytest.mark.parametrize("stage", BLOCKED)
def test_each_stage_imports_with_the_stages_above_it_blocked(stage):
    code = BLOCKER.format(blocked=BLOCKED[stage], stage=stage)
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=PACKAGE.parent
    )
    assert result.returncode == 0, result.stderr.strip().splitlines()[-1]


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[str]:
    """Every stepthrough module the file imports, at the top or inside a function (not for type hints)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hints = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in hints:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stepthrough"):
            found += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("stepthrough")]
    return found


def _part(module: str) -> str:
    """The package part a module belongs to: stepthrough.site.build → stepthrough.site."""
    return ".".join(module.split(".")[:2])


def test_the_package_parts_import_each_other_one_way_only_but_for_the_cycles_named_here():
    known = {_module(p) for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        for target in _imports(path):
            if target in known and _part(target) != _part(_module(path)):
                edges[_part(_module(path))].add(_part(target))
    cycles = {tuple(sorted((a, b))) for a in edges for b in edges[a] if a in edges.get(b, ())}
    assert cycles == set()


LEAVES = [
    "stepthrough.errors",
    "stepthrough.atomic",
    "stepthrough.cache",
    "stepthrough.recorder",
    "stepthrough.adapter",
    "stepthrough.locale",  # the page's words: the site and the widgets both read them
]


def test_the_leaf_modules_import_no_other_part_of_the_package():
    # the shared types and helpers that let the parts above import one way: nothing of theirs is above them
    below = {"stepthrough.errors", "stepthrough.atomic", "stepthrough", "stepthrough.__version__"}
    for leaf in LEAVES:
        path = PACKAGE / f"{leaf.split('.')[1]}.py"
        found = {_part(module) for module in _imports(path)} - below - {leaf}
        assert found == set(), f"{leaf} imports {sorted(found)}"


def test_each_recording_is_typed_and_checked_beside_its_recorder_not_in_the_bundle():
    import dataclasses

    from stepthrough.bundle import Trajectory
    from stepthrough.recorder import registered
    from stepthrough.widgets import RECORDERS

    assert registered() == {r.name: r for r in RECORDERS} and len(RECORDERS) >= 2
    fields = {f.name for f in dataclasses.fields(Trajectory)}
    for recorder in RECORDERS:
        assert recorder.name not in fields  # a key of the JSON that only its recorder reads
        owner = type(recorder).__module__
        assert owner.startswith("stepthrough.widgets.") and recorder.entry.__module__ == owner
        assert type(recorder).check is not Recorder.check  # it checks its own entry


STAGES = ["content.py", "checks.py", "plan.py", "make.py", "site/build.py", "precompute", "bundle"]


def test_no_stage_module_names_a_widget():
    from stepthrough.widgets import FOLDERS, WIDGETS

    names = set(WIDGETS) | set(FOLDERS)
    files = [
        p
        for stage in STAGES
        for p in ([PACKAGE / stage] if stage.endswith(".py") else (PACKAGE / stage).rglob("*.py"))
    ]
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}")
        found += [
            f"{path.relative_to(PACKAGE)}: imports {module}"
            for module in _imports(path)
            if module.startswith("stepthrough.widgets.") and module.split(".")[2] in names
        ]
    assert len(files) > 20 and found == []
