"""The HTTP client against the fake server: retries, Retry-After, timeouts, fail-fast."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from egpt_dsec.annotate.client import ChatClient, ClientOptions, Reply
from egpt_dsec.answers.errors import AnnotateError
from fake_vlm_server import SERVED_MODEL, FakeVLMServer, fake_completion

QUESTION = {"type": "text", "text": "What is this scene about?"}
BODY = {
    "model": SERVED_MODEL,
    "messages": [{"role": "user", "content": [QUESTION]}],
    "max_tokens": 16,
    "temperature": 0.0,
    "logprobs": True,
    "top_logprobs": 0,
}


def run_client(
    options: ClientOptions, use: Callable[[ChatClient], Awaitable[Any]]
) -> tuple[Any, list[float]]:
    """Run ``use(client)``; the client's sleeps are recorded, not slept."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def main() -> Any:
        async with ChatClient.open_session(options) as session:
            return await use(ChatClient(options, session, sleep=sleep))

    return asyncio.run(main()), slept


def ask(server: FakeVLMServer, **options: Any) -> tuple[Reply, list[float]]:
    opts = ClientOptions(server.url, **options)
    return run_client(opts, lambda c: c.complete(json.dumps(BODY).encode()))


def test_a_429_waits_exactly_what_retry_after_says() -> None:
    with FakeVLMServer() as server:
        server.inject("429", retry_after="7")
        reply, slept = ask(server)
    assert reply.completion is not None and reply.attempts == 2
    assert slept == [7.0]
    assert reply.completion.text == fake_completion(BODY)["choices"][0]["message"]["content"]


@pytest.mark.parametrize("kind", ["500", "drop", "malformed"])
def test_server_errors_dropped_connections_and_bad_json_are_retried(kind: str) -> None:
    with FakeVLMServer() as server:
        server.inject(kind, times=2)
        reply, slept = ask(server)
        faults = [r.fault for r in server.recorded]
    assert reply.completion is not None and reply.attempts == 3
    assert faults == [kind, kind, ""]
    assert len(slept) == 2 and 0 <= slept[0] <= 1.0 and 0 <= slept[1] <= 2.0  # backoff bounds


def test_a_slow_answer_times_out_and_is_retried() -> None:
    with FakeVLMServer() as server:
        server.inject("slow", delay=1.5)
        reply, _ = ask(server, timeout_s=0.3)
    assert reply.completion is not None and reply.attempts == 2


def test_after_its_retries_a_request_fails_with_the_servers_message() -> None:
    with FakeVLMServer() as server:
        server.inject("500", times=None)
        reply, slept = ask(server, retries=3)
        attempts = len(server.recorded)
    assert reply.completion is None and reply.attempts == 4 == attempts
    assert reply.error == "HTTP 500: engine died" and len(slept) == 3


def test_a_client_error_is_not_retried() -> None:
    with FakeVLMServer(model="other") as server:
        reply, slept = ask(server)
    assert reply.completion is None and reply.attempts == 1 and not slept
    assert reply.error == f"HTTP 404: The model `{SERVED_MODEL}` does not exist."


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("server_args", "endpoint", "expected"),
    [
        ({}, "http://127.0.0.1:{closed}/v1", "cannot reach"),
        ({}, "{url}/nope", "OpenAI-compatible base URL"),
        ({"model": "someone/else"}, "{url}", "is not served"),
        ({"api_key": "right"}, "{url}", "refused the API key"),
    ],
)
def test_wrong_endpoint_model_or_key_fail_fast_in_one_line(
    server_args: dict[str, Any], endpoint: str, expected: str
) -> None:
    with FakeVLMServer(**server_args) as server:
        url = endpoint.format(url=server.url, closed=_closed_port())
        with pytest.raises(AnnotateError) as err:
            run_client(ClientOptions(url, api_key="wrong"), lambda c: c.check_model(SERVED_MODEL))
        assert not server.recorded
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_the_right_key_and_model_pass_the_check() -> None:
    with FakeVLMServer(api_key="right") as server:
        opts = ClientOptions(server.url, api_key="right")
        run_client(opts, lambda c: c.check_model(SERVED_MODEL))
        reply, _ = ask(server, api_key="right")
    assert reply.completion is not None
