"""An OpenAI-compatible chat-completions client that retries politely and never raises
for one bad request: the outcome is an answer or the server's message.

Retried: 429, 408, 5xx, timeouts, dropped connections, bodies that are not a chat
completion; ``Retry-After`` is honoured, otherwise full-jitter exponential backoff.
Not retried: other 4xx (a bad request stays bad).
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from egpt_dsec.annotate.pacing import RateLimiter, Sleep, backoff_delay, parse_retry_after
from egpt_dsec.annotate.response import (
    Completion,
    MalformedResponse,
    error_message,
    parse_completion,
)
from egpt_dsec.answers.errors import AnnotateError

RETRY_STATUS = frozenset({408, 409, 429})


@dataclass(frozen=True)
class ClientOptions:
    endpoint: str  # base URL, e.g. http://gpu-box:8000/v1
    api_key: str | None = None
    api_key_env: str = "OPENAI_API_KEY"  # named in messages about the key
    timeout_s: float = 300.0
    retries: int = 5
    rpm: float | None = None
    concurrency: int = 16
    prefix_first: bool = True  # a clip's first question alone, the others once answered

    def __post_init__(self) -> None:
        if not self.endpoint.startswith(("http://", "https://")):
            raise AnnotateError(f"--endpoint {self.endpoint!r}: use http(s)://HOST:PORT/v1")
        if self.concurrency < 1 or self.retries < 0 or self.timeout_s <= 0:
            raise AnnotateError("--concurrency must be >= 1, --retries >= 0, --timeout > 0")
        if self.rpm is not None and self.rpm <= 0:
            raise AnnotateError(f"--rpm must be > 0, got {self.rpm}")

    def url(self, path: str) -> str:
        return self.endpoint.rstrip("/") + path

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers


@dataclass(frozen=True)
class Reply:
    """An answer, or the last error after every attempt; ``attempts`` counts requests."""

    completion: Completion | None
    error: str = ""
    attempts: int = 1


@dataclass(frozen=True)
class _Attempt:
    completion: Completion | None = None
    error: str = ""
    retry: bool = False
    retry_after: float | None = None


class ChatClient:
    """Bounded in-flight requests over one keep-alive connection pool."""

    def __init__(
        self,
        options: ClientOptions,
        session: aiohttp.ClientSession,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.options = options
        self.session = session
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._limiter = RateLimiter(options.rpm, sleep)
        self._slots = asyncio.Semaphore(options.concurrency)
        self.retried = 0

    @staticmethod
    def open_session(options: ClientOptions) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=options.concurrency, force_close=False)
        return aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=options.timeout_s)
        )

    async def complete(self, body: bytes) -> Reply:
        attempt = _Attempt()
        for n in range(self.options.retries + 1):
            if n:
                self.retried += 1
                await self._sleep(backoff_delay(n - 1, attempt.retry_after, self._rng))
            await self._limiter.wait()
            async with self._slots:
                attempt = await self._post(body)
            if not attempt.retry:
                return Reply(attempt.completion, attempt.error, n + 1)
        return Reply(None, attempt.error, self.options.retries + 1)

    async def _post(self, body: bytes) -> _Attempt:
        url = self.options.url("/chat/completions")
        try:
            async with self.session.post(url, data=body, headers=self.options.headers) as resp:
                payload = await resp.read()
                status, retry_after = resp.status, resp.headers.get("Retry-After")
        except asyncio.TimeoutError:
            return _Attempt(error=f"no answer within {self.options.timeout_s:g} s", retry=True)
        except aiohttp.ClientError as exc:
            return _Attempt(error=f"connection failed: {type(exc).__name__}: {exc}", retry=True)
        if status != 200:
            retry = status in RETRY_STATUS or status >= 500
            return _Attempt(
                error=error_message(status, payload),
                retry=retry,
                retry_after=parse_retry_after(retry_after),
            )
        try:
            return _Attempt(completion=parse_completion(payload))
        except MalformedResponse as exc:
            return _Attempt(error=f"HTTP 200 but {exc}", retry=True)

    async def server_version(self) -> str:
        """``version <v>`` from ``GET /version`` beside ``/v1`` (vLLM has it), else ""."""
        root = self.options.endpoint.rstrip("/").removesuffix("/v1")
        try:
            timeout = aiohttp.ClientTimeout(total=min(10.0, self.options.timeout_s))
            async with self.session.get(
                root + "/version", headers=self.options.headers, timeout=timeout
            ) as resp:
                payload = await resp.read() if resp.status == 200 else b""
            version = json.loads(payload).get("version") if payload else None
        except (asyncio.TimeoutError, aiohttp.ClientError, ValueError, AttributeError):
            return ""
        return f"version {version}" if isinstance(version, str) and version else ""

    async def check_model(self, model: str) -> None:
        """Fail fast, in one line, on a wrong endpoint, key or model (``GET /models``)."""
        opts = self.options
        where = opts.url("/models")
        try:
            async with self.session.get(where, headers=opts.headers) as resp:
                status, payload = resp.status, await resp.read()
        except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
            raise AnnotateError(
                f"cannot reach {opts.endpoint} ({type(exc).__name__}: {exc}); "
                "check --endpoint, e.g. http://gpu-box:8000/v1"
            ) from None
        if status in (401, 403):
            raise AnnotateError(
                f"{opts.endpoint} refused the API key ({error_message(status, payload)}); "
                f"set the right key in ${opts.api_key_env} (--api-key-env)"
            )
        if status != 200:
            raise AnnotateError(
                f"GET {where} gave {error_message(status, payload)}; --endpoint must be an "
                "OpenAI-compatible base URL, usually ending in /v1"
            )
        served = _model_ids(payload)
        if served is None:
            raise AnnotateError(f"GET {where} did not list models: not an OpenAI-compatible API")
        if model not in served:
            raise AnnotateError(
                f"model {model!r} is not served at {opts.endpoint} (it serves: "
                f"{', '.join(sorted(served)) or 'nothing'}); check --model"
            )


def _model_ids(payload: bytes) -> set[str] | None:
    try:
        return {str(m["id"]) for m in json.loads(payload)["data"]}
    except (ValueError, KeyError, TypeError):
        return None


def endpoint_host(endpoint: str) -> str:
    """``http://gpu-box:8000/v1`` -> ``gpu-box:8000`` (no path, no credentials)."""
    parts = urlsplit(endpoint)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else ""
