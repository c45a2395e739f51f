"""``plan`` and ``build`` refuse before they probe or write anything: an --out inside,
equal to or around the DSEC root, an output another build holds, bad options, and a
folder of someone else's files. Each refusal is exit code 2 and one line naming the fix,
and leaves the DSEC tree (and the refused folder) exactly as it was."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from egpt_dsec.cli import main
from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.errors import OutputError
from egpt_dsec.layout.state import STATE_DIR
from egpt_dsec.pipeline import build, preflight
from egpt_dsec.reports.plan import collect
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec
from helpers import input_tree

FAST = ["--durations", "1s", "--components", "event_npy,json", "--workers", "1"]


@pytest.fixture(scope="module")
def holder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only the DSEC root (``holder/dsec``): the --out around it."""
    holder = tmp_path_factory.mktemp("holder")
    spec = SynthSpec(sequences=1, test_sequences=1, seconds=2.0, rate=2e4, frame_size=(64, 48))
    write_synthetic_dsec(holder / "dsec", spec)
    return holder


@pytest.fixture
def no_probe(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The plan's probe (its disk test writes files) fails the command if it runs."""
    calls: list[str] = []

    def probe(config: BuildConfig, *args: object) -> None:
        calls.append(str(config.out))
        raise AssertionError(f"probed {config.out} before refusing")

    monkeypatch.setattr(collect, "probe", probe)
    return calls


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run a command that must be refused: exit code 2, one line on stderr, no traceback."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


def probes(folder: Path) -> list[Path]:
    return sorted(folder.rglob(".disk-probe-*")) + sorted(folder.rglob(".write-probe-*"))


@pytest.mark.parametrize("command", ["plan", "build"])
@pytest.mark.parametrize("where", ["inside", "equal", "around"])
def test_an_out_inside_equal_to_or_around_the_root_is_refused_before_any_probe(
    holder: Path,
    command: str,
    where: str,
    no_probe: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = holder / "dsec"
    out = {"inside": root / "train" / "out", "equal": root, "around": holder}[where]
    before = input_tree(holder)
    err = refused([command, "--dsec-root", str(root), "--out", str(out), *FAST], capsys)
    assert "DSEC root" in err and "Choose an --out" in err
    assert input_tree(holder) == before  # not a byte, not a folder's time stamp
    assert not probes(holder) and no_probe == []


@pytest.mark.parametrize("command", ["plan", "build"])
@pytest.mark.parametrize(
    "bad",
    [["--overlap", "1.5"], ["--workers", "0"], ["--durations", "soon"], ["--frames", "x"]],
    ids=["overlap", "workers", "durations", "frames"],
)
def test_bad_options_are_refused_before_anything_is_read_or_written(
    holder: Path,
    command: str,
    bad: list[str],
    no_probe: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = holder / "dsec"
    before = input_tree(holder)
    out = root / "train" / "out"  # inside the root too: the options are refused first
    argv = [command, "--dsec-root", str(root), "--out", str(out), *bad]
    with pytest.raises(SystemExit) as info:  # argparse's own refusal, or the config's
        raise SystemExit(main(argv))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert input_tree(holder) == before and no_probe == []


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """An output folder whose lock another process holds (a build running there)."""
    out = tmp_path / "out"
    (out / STATE_DIR).mkdir(parents=True)
    script = (
        "import sys, time; from pathlib import Path\n"
        "from egpt_dsec.layout.state import StateLayout\n"
        "from egpt_dsec.state.lock import output_lock\n"
        f"with output_lock(StateLayout(Path({str(out)!r}))):\n"
        "    print('held', flush=True); time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield out, holder.pid
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("command", ["plan", "build"])
def test_an_output_another_build_holds_is_refused_before_any_probe(
    holder: Path,
    held: tuple[Path, int],
    command: str,
    no_probe: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, pid = held
    before, source = input_tree(out), input_tree(holder)
    err = refused([command, "--dsec-root", str(holder / "dsec"), "--out", str(out), *FAST], capsys)
    assert f"another build is writing {out}" in err and f'"pid": {pid}' in err
    assert "wait for it to finish" in err
    assert input_tree(out) == before and input_tree(holder) == source
    assert not probes(out) and no_probe == []


def test_a_folder_of_someone_elses_files_is_refused_and_kept(
    holder: Path, tmp_path: Path, no_probe: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "my-notes"
    out.mkdir()
    readme = out / "README.md"
    readme.write_text("# my notes\n\nnot a dataset\n")
    (out / "data.csv").write_text("a,b\n1,2\n")
    before = input_tree(out)
    for command in ("build", "plan"):
        argv = [command, "--dsec-root", str(holder / "dsec"), "--out", str(out), *FAST]
        err = refused(argv, capsys)
        assert f"--out {out} already holds files" in err and "README.md, data.csv" in err
        assert f"no {STATE_DIR} folder" in err and "Choose an empty or new folder" in err
        assert input_tree(out) == before  # README.md byte-identical, nothing added
    assert readme.read_text() == "# my notes\n\nnot a dataset\n" and no_probe == []


@pytest.mark.parametrize("notes", [[], [".DS_Store"], ["Thumbs.db", "desktop.ini"]])
def test_an_empty_folder_is_accepted_even_with_a_file_managers_notes(
    holder: Path, tmp_path: Path, notes: list[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name in notes:
        (out / name).write_bytes(b"\0\0\0\1Bud1")
    config = BuildConfig(holder / "dsec", out, durations=parse_durations("1s"))
    assert [s.key for s in preflight(config)] == ["test/synth_test_00", "train/synth_00"]


def test_a_new_disks_lost_and_found_is_empty_but_a_file_of_that_name_is_not(
    holder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "disk"
    (out / "lost+found").mkdir(parents=True)
    preflight(BuildConfig(holder / "dsec", out))
    (out / "lost+found").rmdir()
    (out / "lost+found").write_text("a file")
    with pytest.raises(OutputError, match="already holds files"):
        preflight(BuildConfig(holder / "dsec", out))


def test_a_new_folder_and_an_earlier_output_are_accepted(holder: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"
    config = BuildConfig(
        holder / "dsec",
        out,
        durations=parse_durations("1s"),
        components=("event_npy", "json"),
        workers=1,
    )
    assert not build(config).failures  # a new folder (and its parent) is made
    report = build(config)  # an egpt-dsec output (it has the state folder): resumed
    assert not report.failures and report.totals.clips_built == 0
    assert report.totals.clips_skipped > 0


def test_plan_without_out_measures_the_current_folder_however_full(
    holder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "project.txt").write_text("the user's own work")
    monkeypatch.chdir(tmp_path)
    assert main(["plan", "--dsec-root", str(holder / "dsec"), *FAST]) == 0
    assert "plan:" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project.txt"]
