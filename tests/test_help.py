"""``build -h`` and ``plan -h`` as a new user reads them: flags in groups in a fixed
order, each default said once and meaningfully, and worked examples that really parse."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import pytest

from egpt_dsec.cli import build as build_cli
from egpt_dsec.cli import main
from egpt_dsec.cli.build import EXAMPLES
from egpt_dsec.cli.config_args import config_from_args
from egpt_dsec.config import SHARED_GROUPS, BuildConfig
from egpt_dsec.kinds import KINDS
from egpt_dsec.options import Declared, declared

FLAGS = [d for d in declared(BuildConfig) if d.flag is not None]
OWN_FLAGS = {
    "build": ["--executor", "--ray-address", "--rebuild-changed", "--no-space-check"],
    "plan": ["--format"],
}


def render(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as info:
        main([command, "-h"])
    assert info.value.code == 0
    return capsys.readouterr().out


def sections(text: str) -> list[tuple[str, list[str]]]:
    """(heading, its option entries, each joined onto one line), in the order shown."""
    found = []
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if not lines or lines[0].startswith(" ") or not lines[0].endswith(":"):
            continue  # the usage and description
        entries: list[str] = []
        for line in lines[1:]:
            if line.startswith("  -"):
                entries.append(line.strip())
            elif entries:
                entries[-1] += " " + line.strip()
        found.append((lines[0].removesuffix(":"), entries))
    return found


def heading_of(d: Declared) -> str:
    """The group heading the declaration puts the flag under, spelled independently."""
    assert d.flag is not None
    if "." in d.name:
        return next(f"{k.name} ({k.title})" for k in KINDS if k.name == d.name.split(".")[0])
    return SHARED_GROUPS[d.flag.group]


def entry_of(flag: str, found: list[tuple[str, list[str]]]) -> tuple[str, str]:
    """The one (heading, entry) that documents ``flag``."""
    hits = [(h, e) for h, entries in found for e in entries if e.split(" ")[0] == flag]
    assert len(hits) == 1, f"{flag} is shown {len(hits)} times"
    return hits[0]


@pytest.mark.parametrize("command", ["build", "plan"])
def test_help_groups_come_in_order(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    headings = [h for h, _ in sections(render(command, monkeypatch, capsys))]
    kinds = [f"{k.name} ({k.title})" for k in KINDS if k.options_type is not None]
    assert len(kinds) >= 5  # event_image, video, mp4, event_tensor, json
    assert headings[0] == "options" and headings[-1].startswith("examples")
    assert headings[1:-1] == [
        "input",
        "clip windows and view",
        *kinds,
        "output and run",
        f"{command} only",
    ]


@pytest.mark.parametrize("command", ["build", "plan"])
def test_every_flag_is_shown_once_in_its_group_with_its_default_said_once(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = render(command, monkeypatch, capsys)
    found = sections(text)
    assert "default: None" not in text and "default: False" not in text
    for _, entries in found:
        for entry in entries:
            assert entry.count("default") <= 1, entry
    for d in FLAGS:
        assert d.flag is not None
        heading, entry = entry_of(d.flag.flag, found)
        assert heading == heading_of(d), d.flag.flag
        has_default = not d.flag.switch and (not d.required or (command, d.name) == ("plan", "out"))
        assert entry.count("default: ") == int(has_default), entry
    for flag in OWN_FLAGS[command]:
        assert entry_of(flag, found)[0] == f"{command} only"


@pytest.mark.parametrize(
    ("flag", "said"),
    [
        ("--video-size", "default: the frames' size"),
        ("--event-image-rate", "default: off, the fixed count"),
        ("--splits", "default: all;"),
        ("--shard-seconds", "default: 160;"),
        ("--tensors", "default: none;"),
        ("--questions", "default: the 4 built-in questions"),
    ],
)
def test_an_absent_default_says_what_absent_means(
    flag: str, said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, entry = entry_of(flag, sections(render("build", monkeypatch, capsys)))
    assert said in entry


def test_plan_says_where_its_free_space_comes_from(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, entry = entry_of("--out", sections(render("plan", monkeypatch, capsys)))
    assert "default: the current folder, for its free space" in entry


class _Raising(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ValueError(message)


@pytest.mark.parametrize(("comment", "command"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_every_worked_example_parses_with_the_real_flags(comment: str, command: str) -> None:
    words = shlex.split(command)
    assert words[:2] == ["egpt-dsec", "build"]
    declared_flags = {d.flag.flag for d in FLAGS if d.flag is not None}
    if "--windows" in words and "--windows" not in declared_flags:
        pytest.skip("--windows (sliding|per-frame) is not declared yet: BuildConfig.windows")
    parser = _Raising(prog="egpt-dsec build")
    build_cli.add_arguments(parser)
    config = config_from_args(parser.parse_args(words[2:]), BuildConfig)
    assert config.dsec_root == Path("DSEC")
    default_build = BuildConfig(config.dsec_root, config.out)
    if words[2:] == ["--dsec-root", "DSEC", "--out", config.out.as_posix()]:
        assert config == default_build
    else:  # every other example changes what is built
        assert config != default_build


@pytest.mark.parametrize("command", ["build", "plan"])
def test_the_help_ends_with_the_examples_in_80_columns(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = render(command, monkeypatch, capsys)
    epilog = text[text.rindex("\nexamples") :]
    assert max(len(line) for line in epilog.splitlines()) <= 80
    joined = epilog.replace(" \\\n      ", " ")
    for comment, example in EXAMPLES:
        assert f"\n  # {comment}\n  {example.replace(' build ', f' {command} ')}\n" in joined
    assert len({out for _, e in EXAMPLES for out in shlex.split(e)[5:6]}) == len(EXAMPLES)
