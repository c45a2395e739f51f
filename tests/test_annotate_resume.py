"""Exactness across interruptions and channels: SIGKILL then resume, and batch files,
give the same JSON files as one uninterrupted online run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from annotate_fixtures import annotate_args, json_files, output_copy, run_cli, start_cli
from egpt_dsec.annotate import annotation_status, batch
from fake_vlm_server import FakeVLMServer, fake_completion

MIN_CONFIDENCE = "0.98"  # filters some clips, so the filter is part of what must match
REQUESTS = 70  # 7 clips x 10 questions


def online_reference(factory: pytest.TempPathFactory, folder: Path) -> tuple[dict, list[str]]:
    out = output_copy(factory, folder)
    with FakeVLMServer() as server:
        assert (
            run_cli(annotate_args(out, "--min-confidence", MIN_CONFIDENCE, endpoint=server.url))
            == 0
        )
        bodies = sorted(canonical(r.body) for r in server.completions())
    status = annotation_status(out).values()
    assert sum(s.filtered for s in status) > 0 and sum(s.kept for s in status) > 0
    return json_files(out), bodies


def canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True)


def log_rows(out: Path) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(out.glob(".egpt-dsec/answers/*/*/*.jsonl")):
        for line in path.read_bytes().split(b"\n")[:-1]:
            rows.append(json.loads(line))
    return rows


def wait_for(condition: Any, child: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if child.poll() is not None:
            raise AssertionError(f"the client exited early: {child.stderr.read()!r}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.mark.parametrize("answered_before_kill", [0, 37])
def test_sigkill_then_resume_gives_the_json_of_an_uninterrupted_run(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, answered_before_kill: int
) -> None:
    expected, _ = online_reference(tmp_path_factory, tmp_path / "reference")
    out = output_copy(tmp_path_factory, tmp_path / "killed")
    built = json_files(out)
    args = annotate_args(out, "--min-confidence", MIN_CONFIDENCE, "--concurrency", "4")
    with FakeVLMServer() as server:
        server.hold_after = answered_before_kill  # later requests wait: the kill lands mid-run
        child = start_cli([*args, "--endpoint", server.url])
        try:
            wait_for(lambda: server.received > answered_before_kill, child, "a held request")
            wait_for(lambda: len(log_rows(out)) >= answered_before_kill, child, "the answers")
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        assert child.returncode == -signal.SIGKILL
        assert len(log_rows(out)) == answered_before_kill
        assert json_files(out) == built  # nothing half-written
        server.release.set()
        server.hold_after = None
        assert run_cli([*args, "--endpoint", server.url]) == 0
    assert json_files(out) == expected
    keys = [(row["clip"], row["question"]) for row in log_rows(out) if row["ok"]]
    assert len(keys) == len(set(keys)) == REQUESTS  # every request answered exactly once


def test_sigterm_stops_cleanly_logs_every_answer_and_writes_the_json(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    expected, _ = online_reference(tmp_path_factory, tmp_path / "reference")
    out = output_copy(tmp_path_factory, tmp_path / "stopped")
    args = annotate_args(out, "--min-confidence", MIN_CONFIDENCE, "--concurrency", "4")
    with FakeVLMServer() as server:
        server.hold_after = 45
        child = start_cli([*args, "--endpoint", server.url])
        try:
            wait_for(lambda: server.received > 45, child, "a held request")
            wait_for(lambda: len(log_rows(out)) >= 45, child, "the answers")
        finally:
            child.send_signal(signal.SIGTERM)
            _, err = child.communicate(timeout=60)
        assert child.returncode == 130, err
        assert b"interrupted" in err and b"Traceback" not in err
        assert len(log_rows(out)) == 45
        status = annotation_status(out)  # the JSON and provenance hold the answers so far
        assert 0 < sum(s.answered for s in status.values()) < 7
        assert sum(len(json.loads(f)) for f in json_files(out).values()) == 2 * sum(
            s.kept for s in status.values()
        )
        server.release.set()
        server.hold_after = None
        assert run_cli([*args, "--endpoint", server.url]) == 0
    assert json_files(out) == expected


def results_for(request_files: list[Path]) -> list[dict[str, Any]]:
    """What the OpenAI Batch API / vllm run-batch return for these request files."""
    results = []
    for path in request_files:
        for n, line in enumerate(path.read_text().splitlines()):
            request = json.loads(line)
            body = fake_completion(request["body"])
            results.append(
                {
                    "id": f"batch_req_{path.stem}_{n}",
                    "custom_id": request["custom_id"],
                    "response": {"status_code": 200, "request_id": f"r{n}", "body": body},
                    "error": None,
                }
            )
    return results


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_batch_export_then_import_gives_the_json_of_the_online_run(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected, online_bodies = online_reference(tmp_path_factory, tmp_path / "online")
    out = output_copy(tmp_path_factory, tmp_path / "batch")
    monkeypatch.setattr(batch, "MAX_REQUESTS_PER_FILE", 30)
    options = ["--min-confidence", MIN_CONFIDENCE]
    assert run_cli(annotate_args(out, *options, "--export-batch", str(tmp_path / "requests"))) == 0
    files = sorted((tmp_path / "requests").glob("requests-*.jsonl"))
    lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert [len(f.read_text().splitlines()) for f in files] == [30, 30, 10]
    assert {(r["method"], r["url"]) for r in lines} == {("POST", "/v1/chat/completions")}
    assert len({r["custom_id"] for r in lines}) == REQUESTS
    assert sorted(canonical(r["body"]) for r in lines) == online_bodies  # the same requests

    results = results_for(files)[::-1]  # order does not matter
    failed, broken = results[0], dict(results[1])
    broken["response"], broken["error"] = None, {"code": "server_error", "message": "boom"}
    first = write_jsonl(tmp_path / "results-1.jsonl", [broken, *results[2:40]])
    second = write_jsonl(tmp_path / "results-2.jsonl", results[40:])
    second.write_bytes(second.read_bytes() + json.dumps(failed).encode()[:40])  # a cut line
    assert run_cli(annotate_args(out, *options, "--import-batch", str(first), str(second))) == 1
    assert "imported 68 answers, 1 failed" in capsys.readouterr().out
    assert json_files(out) != expected
    again = write_jsonl(tmp_path / "results-3.jsonl", [failed, results[1]])
    assert run_cli(annotate_args(out, *options, "--import-batch", str(again))) == 0
    assert json_files(out) == expected


def test_export_files_stay_under_the_byte_limit(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = output_copy(tmp_path_factory, tmp_path)
    folder = tmp_path / "requests"
    folder.mkdir()
    (folder / "requests-0009.jsonl").write_text("stale\n")  # a previous export's file
    assert run_cli(annotate_args(out, "--select", "one", "--export-batch", str(folder))) == 0
    one_file = (folder / "requests-0001.jsonl").read_bytes()
    limit = max(len(line) for line in one_file.splitlines(keepends=True)) * 3
    monkeypatch.setattr(batch, "MAX_BYTES_PER_FILE", limit)
    assert run_cli(annotate_args(out, "--select", "one", "--export-batch", str(folder))) == 0
    files = sorted(folder.glob("requests-*.jsonl"))
    assert len(files) >= 3 and all(f.stat().st_size <= limit for f in files)
    assert b"".join(
        sorted(line for f in files for line in f.read_bytes().splitlines())
    ) == b"".join(sorted(one_file.splitlines()))


def test_results_of_other_settings_are_refused(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = output_copy(tmp_path_factory, tmp_path)
    assert run_cli(annotate_args(out, "--select", "one", "--export-batch", str(tmp_path))) == 0
    requests = tmp_path / "requests-0001.jsonl"
    results = write_jsonl(tmp_path / "results.jsonl", results_for([requests]))
    capsys.readouterr()
    code = run_cli(
        annotate_args(
            out,
            "--select",
            "one",
            "--max-tokens",
            "64",
            "--reanswer",
            "--import-batch",
            str(results),
        )
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "other settings or questions" in err and "\n" not in err
