"""A fake vLLM OpenAI-compatible server on 127.0.0.1, for tests: no GPU, no network.

Answers are a pure function of the request (``fake_completion``): they name the
question index and a digest of the decoded images (and of a ``video_url`` MP4, decoded
with PyAV, whose frame count they name), so every answer can be traced back to what was
sent, and the token logprobs (hence the confidence) vary with both.
Faults can be injected: 429 with Retry-After, 500, slow answers, dropped
connections, malformed JSON, no logprobs; and every reply shape real servers send:
``null`` content, an OpenAI refusal, a tool call, ``finish_reason: "length"``. It refuses
a wrong model (404, as vLLM does) or key (401), and more images than ``max_images`` with
vLLM's own message about ``--limit-mm-per-prompt``; it sends ``system_fingerprint`` and
answers ``GET /version`` when told to.

Prefix caching is emulated as vLLM's automatic prefix caching behaves: a request's
prefix is everything before the question (the model, the images and their labels, byte
for byte), and a request is a *hit* when a request with the same prefix finished before
it arrived. ``compute_s`` makes a miss (and a hit) take that long. Every request body is
recorded with its hit or miss.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

from egpt_dsec.answers.questions import DEFAULT_QUESTIONS

SERVED_MODEL = "fake/vlm-7b"


def image_urls(body: dict[str, Any]) -> list[str]:
    return [
        part["image_url"]["url"]
        for message in body["messages"]
        for part in message["content"]
        if part["type"] == "image_url"
    ]


def video_urls(body: dict[str, Any]) -> list[str]:
    return [
        part["video_url"]["url"]
        for message in body["messages"]
        for part in message["content"]
        if part["type"] == "video_url"
    ]


def decode_video(url: str) -> tuple[list[Any], int]:
    """The frames of a ``data:video/mp4;base64,`` URL (RGB arrays, decoded with PyAV) and
    the frame count the container states (Video-LLaVA samples by it)."""
    import av

    header, data = url.split(",", 1)
    assert header == "data:video/mp4;base64", header
    with av.open(io.BytesIO(base64.b64decode(data))) as container:
        stream = container.streams.video[0]
        stated = int(stream.frames)
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    return frames, stated


def prompt_text(body: dict[str, Any]) -> str:
    return "\n".join(
        part["text"]
        for message in body["messages"]
        for part in message["content"]
        if part["type"] == "text"
    )


def decode_image(url: str) -> Image.Image:
    header, data = url.split(",", 1)
    assert header in ("data:image/jpeg;base64", "data:image/png;base64"), header
    with Image.open(io.BytesIO(base64.b64decode(data))) as image:
        image.load()
        return image.copy()


def image_digest(body: dict[str, Any]) -> str:
    """sha256 over the decoded pixels of every image, then every video frame, in order."""
    digest = hashlib.sha256()
    for url in image_urls(body):
        image = decode_image(url)
        digest.update(f"{image.mode}{image.size}".encode())
        digest.update(image.tobytes())
    for url in video_urls(body):
        for frame in decode_video(url)[0]:
            digest.update(frame.tobytes())
    return digest.hexdigest()


def prefix_digest(body: dict[str, Any], questions: tuple[str, ...]) -> str:
    """sha256 of everything before the question: the model and the messages as sent,
    cut where the question starts (so the images and their labels, byte for byte)."""
    text = json.dumps([body["model"], body["messages"]], ensure_ascii=False)
    index = question_index(body, questions)
    cut = text.rfind(json.dumps(questions[index], ensure_ascii=False)[1:-1]) if index >= 0 else -1
    return hashlib.sha256(text[: cut if cut >= 0 else len(text)].encode()).hexdigest()


def question_index(body: dict[str, Any], questions: tuple[str, ...]) -> int:
    """The index of the (longest) listed question found in the prompt, -1 if none."""
    text = prompt_text(body)
    found = [i for i, q in enumerate(questions) if q in text]
    return max(found, key=lambda i: len(questions[i])) if found else -1


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts."""
    h = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def fake_completion(
    body: dict[str, Any],
    questions: tuple[str, ...] = DEFAULT_QUESTIONS,
    logprobs: bool = True,
) -> dict[str, Any]:
    """The response vLLM would give, as a pure function of the request body."""
    digest, index = image_digest(body), question_index(body, questions)
    n_images = len(image_urls(body))
    videos = [len(decode_video(url)[0]) for url in video_urls(body)]
    seen = f"{n_images} images" + "".join(f" and a video of {n} frames" for n in videos)
    text = f"Answer q{index} to {seen} {digest[:12]}: a road with cars and trees."
    tokens = [t + " " for t in text.split(" ")]
    tokens[-1] = tokens[-1].rstrip()
    scale = 0.6 * _unit("scale", digest, index)  # confidence spreads over ~[0.74, 1]
    values = [-scale * _unit("token", digest, index, i) for i in range(len(tokens))]
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": text, "tool_calls": []},
        "logprobs": None,
        "finish_reason": "stop",
        "stop_reason": None,
    }
    if logprobs and body.get("logprobs"):
        choice["logprobs"] = {
            "content": [
                {"token": t, "logprob": v, "bytes": list(t.encode()), "top_logprobs": []}
                for t, v in zip(tokens, values, strict=True)
            ]
        }
    prompt_tokens = 20 + 64 * n_images + 256 * len(videos)
    return {
        "id": f"chatcmpl-{digest[:16]}{index}",
        "object": "chat.completion",
        "created": 0,
        "model": body["model"],
        "choices": [choice],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(tokens),
            "total_tokens": prompt_tokens + len(tokens),
        },
    }


def reshape(response: dict[str, Any], kind: str) -> dict[str, Any]:
    """A normal completion turned into one of the other shapes real servers send."""
    choice = response["choices"][0]
    message = choice["message"]
    if kind == "null":  # e.g. a reasoning model that spent its budget: vLLM sends this
        message["content"], choice["logprobs"], choice["finish_reason"] = None, None, "length"
        message["reasoning_content"] = "Let me think about the road. The road"
    elif kind == "refusal":  # OpenAI's refusal shape
        message["content"], choice["logprobs"] = None, None
        message["refusal"] = "I'm sorry, I can't help with that."
    elif kind == "tool_call":
        message["content"], choice["logprobs"], choice["finish_reason"] = None, None, "tool_calls"
        message["tool_calls"] = [
            {"id": "call_0", "type": "function", "function": {"name": "look", "arguments": "{}"}}
        ]
    elif kind == "length":  # cut at max_tokens: the first half of the answer
        words = message["content"].split(" ")
        message["content"] = " ".join(words[: len(words) // 2])
        if choice["logprobs"]:
            choice["logprobs"]["content"] = choice["logprobs"]["content"][: len(words) // 2]
        choice["finish_reason"] = "length"
    else:
        raise ValueError(f"unknown reply shape {kind}")
    return response


RESHAPES = ("null", "refusal", "tool_call", "length")


@dataclass
class Fault:
    """Applied to the next ``times`` requests that ``match`` (``times=None``: forever)."""

    kind: str  # "429", "500", "400", "slow", "drop", "malformed", or one of RESHAPES
    times: int | None = 1
    retry_after: str | None = None
    delay: float = 0.0
    match: Callable[[dict[str, Any]], bool] | None = None


@dataclass(frozen=True)
class Recorded:
    body: dict[str, Any]
    fault: str  # "" when answered normally
    response: dict[str, Any] | None
    hit: bool = False  # a request with the same prefix had finished when it arrived
    arrived: float = 0.0
    finished: float = 0.0


class FakeVLMServer:
    """``with FakeVLMServer() as server: server.url`` is ``http://127.0.0.1:PORT/v1``."""

    def __init__(
        self,
        model: str = SERVED_MODEL,
        api_key: str | None = None,
        questions: tuple[str, ...] = DEFAULT_QUESTIONS,
    ) -> None:
        self.model, self.api_key, self.questions = model, api_key, questions
        self.logprobs = True
        self.faults: list[Fault] = []
        self.recorded: list[Recorded] = []
        self.hold_after: int | None = None  # answer this many, then hold until released
        self.max_images: int | None = None  # vLLM's --limit-mm-per-prompt for images
        self.fingerprint: str | None = None  # sent as system_fingerprint
        self.version: str | None = None  # GET /version answers it (404 when None)
        self.compute_s: tuple[float, float] = (0.0, 0.0)  # time of a prefix miss, a hit
        self._finished_prefixes: set[str] = set()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._answered = 0
        self.received = 0  # chat-completion requests that arrived (held ones included)
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def inject(self, kind: str, **options: Any) -> Fault:
        fault = Fault(kind, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def completions(self) -> list[Recorded]:
        """The requests that got a normal answer."""
        with self._lock:
            return [r for r in self.recorded if not r.fault]

    def hit_rate(self) -> float:
        """The share of answered requests that found their prefix computed."""
        done = [r for r in self.recorded if r.response is not None]
        return sum(r.hit for r in done) / max(len(done), 1)

    def __enter__(self) -> FakeVLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- used by the handler --------------------------------------------------------

    def take_fault(self, body: dict[str, Any]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times != 0 and (fault.match is None or fault.match(body)):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def record(
        self,
        body: dict[str, Any],
        fault: str,
        response: dict[str, Any] | None,
        timing: tuple[bool, float, float] = (False, 0.0, 0.0),
    ) -> None:
        with self._lock:
            self.recorded.append(Recorded(body, fault, response, *timing))

    def arrive(self, body: dict[str, Any]) -> tuple[str, bool, float]:
        """The request's prefix, whether it is a hit, and when it arrived."""
        prefix = prefix_digest(body, self.questions)
        with self._lock:
            return prefix, prefix in self._finished_prefixes, time.monotonic()

    def computed(self, prefix: str) -> None:
        with self._lock:
            self._finished_prefixes.add(prefix)

    def wait_turn(self) -> None:
        """With ``hold_after``: the first N answers go out, later ones wait for release."""
        with self._lock:
            self._answered += 1
            held = self.hold_after is not None and self._answered > self.hold_after
        if held:
            self.release.wait(timeout=60)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeVLMServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like vLLM's uvicorn
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client went away (timeout, kill)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        error = {"object": "error", "message": message, "type": "Error", "code": status}
        self._send(status, json.dumps(error).encode(), headers)

    def _authorized(self) -> bool:
        key = self.server.fake.api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        self._send(401, json.dumps({"error": "Unauthorized"}).encode())
        return False

    def do_GET(self) -> None:
        fake = self.server.fake
        if self.path == "/version" and fake.version is not None:
            self._send(200, json.dumps({"version": fake.version}).encode())
        elif self.path != "/v1/models":
            self._send(404, json.dumps({"detail": "Not Found"}).encode())
        elif self._authorized():
            model = {"id": fake.model, "object": "model", "owned_by": "vllm"}
            self._send(200, json.dumps({"object": "list", "data": [model]}).encode())

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with fake._lock:
            fake.received += 1
        if self.path != "/v1/chat/completions":
            self._send(404, json.dumps({"detail": "Not Found"}).encode())
            return
        if not self._authorized():
            return
        body = json.loads(raw)
        if body.get("model") != fake.model:
            fake.record(body, "404", None)
            self._error(404, f"The model `{body.get('model')}` does not exist.")
            return
        images = len(image_urls(body))
        if fake.max_images is not None and images > fake.max_images:
            fake.record(body, "limit", None)
            self._error(
                400,
                f"At most {fake.max_images} image(s) may be provided in one prompt. "
                "Set `--limit-mm-per-prompt` to increase this limit.",
            )
            return
        for url in video_urls(body):
            frames, stated = decode_video(url)
            if len(frames) != stated or not frames:
                fake.record(body, "video", None)
                self._error(400, f"video: {len(frames)} frames decoded, {stated} stated")
                return
        self._answer(fake, body)

    def _answer(self, fake: FakeVLMServer, body: dict[str, Any]) -> None:
        prefix, hit, arrived = fake.arrive(body)
        fault = fake.take_fault(body)
        if fault is not None and fault.kind not in ("slow", *RESHAPES):
            fake.record(body, fault.kind, None)
            self._fault(fault)
            return
        if fault is not None:
            time.sleep(fault.delay)
        time.sleep(fake.compute_s[1] if hit else fake.compute_s[0])
        fake.wait_turn()
        response = fake_completion(body, fake.questions, fake.logprobs)
        if fake.fingerprint is not None:
            response["system_fingerprint"] = fake.fingerprint
        if hit:
            response["usage"]["prompt_tokens_details"] = {"cached_tokens": 16}
        if fault is not None and fault.kind in RESHAPES:
            response = reshape(response, fault.kind)
        kind = "" if fault is None or fault.kind == "slow" else fault.kind
        self._send(200, json.dumps(response).encode())
        fake.computed(prefix)
        fake.record(
            body, kind or ("slow" if fault else ""), response, (hit, arrived, time.monotonic())
        )

    def _fault(self, fault: Fault) -> None:
        if fault.kind == "429":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._error(429, "rate limited", headers)
        elif fault.kind == "500":
            self._error(500, "engine died")
        elif fault.kind == "400":
            self._error(400, "At most 1 image(s) may be provided in one request.")
        elif fault.kind == "malformed":
            self._send(200, b'{"id": "x", "choices": [{"message": ')
        elif fault.kind == "drop":
            self.close_connection = True  # close without a response
        else:
            raise ValueError(f"unknown fault {fault.kind}")
