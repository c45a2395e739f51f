"""The code's own rules: one home per path fragment, one table of kinds, no package loops,
small modules and functions. Read from the source, so a change that breaks one fails here."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from egpt_dsec.config import BuildConfig
from egpt_dsec.execute.clip_parts import PART_OF
from egpt_dsec.kinds import FILE_KIND_NAMES, KINDS
from egpt_dsec.options import declared
from egpt_dsec.reports.verify.clip import CHECKS
from egpt_dsec.synth.spec import SynthSpec

SRC = Path(__file__).resolve().parents[1] / "src" / "egpt_dsec"
MODULES = sorted(SRC.rglob("*.py"))
# Each fragment of an on-disk path, and the one module allowed to spell it.
FRAGMENTS = {
    ".egpt-dsec": "layout/state.py",
    "manifest": "layout/state.py",
    "scratch": "layout/state.py",
    "@": "layout/state.py",
    "events/left": "layout/dsec.py",
    "events_left": "layout/dsec.py",
    "timestamps.txt": "layout/dsec.py",
    "rectified": "layout/dsec.py",
}


def _string_literals(tree: ast.AST) -> list[str]:
    """Every string constant of a module except docstrings (f-string pieces included)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    ]


def _has(literal: str, fragment: str) -> bool:
    """Words and the separator as a whole literal (or f-string piece); paths anywhere."""
    return literal == fragment if fragment.isalpha() or fragment == "@" else fragment in literal


@pytest.mark.parametrize("fragment", sorted(FRAGMENTS))
def test_each_path_fragment_is_spelled_in_one_module(fragment: str) -> None:
    found = {
        path.relative_to(SRC).as_posix()
        for path in MODULES
        if any(_has(s, fragment) for s in _string_literals(ast.parse(path.read_text())))
    }
    assert found == {FRAGMENTS[fragment]}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n.startswith("egpt_dsec.")}


def _package(module: str) -> str:
    """The first level below ``egpt_dsec``: a package or a top-level module."""
    return module.split(".")[1]


def test_no_import_loop_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in MODULES:
        rel = path.relative_to(SRC.parent).with_suffix("").as_posix().replace("/", ".")
        here = _package(rel) if rel.count(".") else rel
        for target in _imports(path):
            there = _package(target)
            if there != here:
                graph[here].add(there)
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            assert state.get(nxt) != "open", f"import loop: {' -> '.join([*trail, nxt])}"
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_modules_and_functions_stay_small() -> None:
    too_big = []
    for path in MODULES:
        text = path.read_text()
        if len(text.splitlines()) > 400:
            too_big.append(f"{path.relative_to(SRC)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 60:
                    too_big.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}()")
    assert too_big == []


def test_every_file_kind_has_a_writer_and_a_check() -> None:
    assert set(PART_OF) == set(FILE_KIND_NAMES)
    assert set(CHECKS) == set(FILE_KIND_NAMES)


def test_kind_options_are_config_options() -> None:
    names = {d.name for d in declared(BuildConfig)}
    for kind in KINDS:
        assert set(kind.options) <= names, kind.name


@pytest.mark.parametrize("config", [BuildConfig, SynthSpec])
def test_every_flag_has_help_and_an_example_or_choices(config: type) -> None:
    flags = [d for d in declared(config) if d.flag is not None]
    assert flags
    for d in flags:
        assert d.flag is not None and d.flag.help, d.name
        assert d.flag.example or d.flag.choices or d.flag.switch, d.name
    assert len({d.flag.flag for d in flags if d.flag}) == len(flags)
