"""The code's own rules: one home per path fragment, one table of kinds, no package loops,
small modules and functions. Read from the source, so a change that breaks one fails here."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import typing
from collections import defaultdict
from pathlib import Path

import pytest

from egpt_dsec.config import SHARED_GROUPS, BuildConfig
from egpt_dsec.kinds import KINDS, Kind
from egpt_dsec.options import declared
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
    "SYNTHETIC.md": "layout/dsec.py",
    "object_detections": "layout/dsec.py",
    "tracks.npy": "layout/dsec.py",
    "label_qa.json": "layout/output.py",
    "label_qa_mc.json": "layout/output.py",
    "label_qa_summary.json": "layout/output.py",
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


KIND_MODULES = sorted(
    p for p in (SRC / "kinds").glob("*.py") if p.stem not in ("__init__", "base", "contexts")
)


def _overrides(kind: Kind, hook: str) -> bool:
    return getattr(type(kind), hook) is not getattr(Kind, hook)


@pytest.mark.parametrize("path", KIND_MODULES, ids=lambda p: p.stem)
def test_a_kind_is_one_module_and_one_registry_line(path: Path) -> None:
    """Each kind module defines exactly one kind, registered once; nothing else does."""
    module = importlib.import_module(f"egpt_dsec.kinds.{path.stem}")
    defined = [v for v in vars(module).values() if isinstance(v, Kind)]
    own = [k for k in defined if type(k).__module__ == module.__name__]
    assert len(own) == 1, f"{path.name} defines {[k.name for k in own]}"
    assert sum(k is own[0] for k in KINDS) == 1, f"{own[0].name} is not in the registry once"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_every_kind_has_its_writer_check_and_cost(kind: Kind) -> None:
    """What the frameworks need of each kind lives in the kind's own module."""
    module = type(kind).__module__
    if kind.per_dataset:
        assert _overrides(kind, "publish"), kind.name
        return
    if kind.per_clip:
        assert _overrides(kind, "part_type") or _overrides(kind, "unit_writer"), kind.name
        assert _overrides(kind, "check") and _overrides(kind, "clip_cost"), kind.name
    else:  # a kind without files of its own adds keys to the JSON entries
        assert _overrides(kind, "entry_fields"), kind.name
    if kind.options_type is not None:
        assert kind.options_type.__module__ == module, f"{kind.name}'s options live elsewhere"


def test_every_kinds_options_are_a_config_group_named_after_it() -> None:
    hints = typing.get_type_hints(BuildConfig)
    groups = {name for name, hint in hints.items() if dataclasses.is_dataclass(hint)}
    with_options = {k.name for k in KINDS if k.options_type is not None}
    assert groups == with_options
    for kind in KINDS:
        if kind.options_type is not None:
            assert hints[kind.name] is kind.options_type


def test_kind_options_are_config_options_with_unique_last_names() -> None:
    """Older outputs recorded options by other dotted names; last names map them."""
    names = [d.name for d in declared(BuildConfig)]
    for kind in KINDS:
        assert set(kind.option_names) <= set(names), kind.name
    last = [n.rsplit(".", 1)[-1] for n in names]
    assert len(set(last)) == len(last)


def test_no_module_reads_another_kinds_options() -> None:
    """A kind's options group is named only in its module and in the config that holds
    it; the event format only in the config (it picks the event kind)."""
    owners = {k.options_type.__name__: type(k).__module__ for k in KINDS if k.options_type}
    for path in MODULES:
        rel = path.relative_to(SRC).with_suffix("").as_posix().removesuffix("/__init__")
        module = "egpt_dsec." + rel.replace("/", ".")
        text = path.read_text()
        for name, owner in owners.items():
            if name in text:
                assert module in (owner, "egpt_dsec.config"), f"{module} names {name}"
        if "event_format" in text:
            assert module.startswith("egpt_dsec.config"), f"{module} reads event_format"


@pytest.mark.parametrize("config", [BuildConfig, SynthSpec])
def test_every_flag_has_help_and_an_example_or_choices(config: type) -> None:
    flags = [d for d in declared(config) if d.flag is not None]
    assert flags
    for d in flags:
        assert d.flag is not None and d.flag.help, d.name
        assert d.flag.example or d.flag.choices or d.flag.switch, d.name
    assert len({d.flag.flag for d in flags if d.flag}) == len(flags)


def test_every_shared_flag_names_its_help_group_and_every_kind_group_its_title() -> None:
    """``build -h`` groups its flags: a shared option declares its group (``group=``) with
    the option; a kind's own options are grouped by their options group, titled by the
    kind."""
    for d in declared(BuildConfig):
        if d.flag is None:
            continue
        if "." in d.name:  # a kind's own option: its group is the kind's
            assert d.flag.group == "", f"{d.flag.flag}: a kind's option takes its kind's group"
        else:
            assert d.flag.group in SHARED_GROUPS, f"{d.flag.flag} has no help group (group=)"
    for kind in KINDS:
        assert kind.name not in SHARED_GROUPS, kind.name
        if kind.options_type is not None:
            assert kind.title, f"{kind.name} has options but no title for their help group"


@pytest.mark.parametrize("config", [BuildConfig, SynthSpec])
def test_a_choice_flag_shown_by_a_name_names_every_choice_in_its_help(config: type) -> None:
    """``--frames MODE`` hides the braces of choices, so its help must say them all."""
    for d in declared(config):
        if d.flag is not None and d.flag.choices and d.flag.metavar:
            missing = [c for c in d.flag.choices if c not in d.flag.help]
            assert missing == [], f"{d.flag.flag} does not say {missing}"
