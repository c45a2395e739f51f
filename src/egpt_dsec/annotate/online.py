"""Asking the server: clips -> prepared images -> bounded in-flight requests -> the log.

Three stages run side by side: two threads decode and encode the next clips' images,
``concurrency`` workers send requests, one writer appends each batch of finished
answers to the log (one fsync per batch). A request that fails after its retries is
logged as failed and the others go on; a clip whose images cannot be read fails alone.

Prefix reuse: every request of a clip starts with the same bytes (the labelled images;
the question comes last), and a server with a prefix cache (vLLM's automatic prefix
caching, OpenAI's prompt caching) computes that prefix once only if it has finished
computing it when the next request arrives. So a clip's first question goes alone, and
its other questions are queued, ahead of any new clip, once it has been answered; the
first questions of the next clips keep the other workers busy meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from egpt_dsec.annotate.body import BodyBuilder, PreparedClip
from egpt_dsec.annotate.client import ChatClient, ClientOptions, Reply
from egpt_dsec.annotate.model import ClipToAsk
from egpt_dsec.annotate.progress import Progress
from egpt_dsec.annotate.response import media_limit
from egpt_dsec.answers.errors import AnnotateError
from egpt_dsec.answers.log import Answer, AnswersLog

PREPARE_THREADS = 2
PREPARE_AHEAD = 4  # clips prepared beyond those the workers can keep busy
REFUSED_AFTER = 8  # this many failures before any answer: the server refuses them all
FOLLOWER, LEADER, END = 0, 1, 2  # queue priorities: a clip's cached questions go first


@dataclass(frozen=True)
class ClipWork:
    """A clip and the indices of the questions it still needs answered."""

    clip: ClipToAsk
    question_indices: tuple[int, ...]


@dataclass
class OnlineStats:
    requests: int = 0  # (clip, question) pairs asked
    answered: int = 0
    failed: int = 0
    attempts: int = 0  # HTTP requests, retries included
    retries: int = 0
    tokens: int = 0
    unscored: int = 0  # answers that came without logprobs
    body_bytes: int = 0
    refused: int = 0  # answers the model declined to give (never asked again)
    truncated: int = 0  # answers cut at the token cap
    prompt_tokens: int = 0  # as the server counted them
    cached_tokens: int = 0  # of them, served from its prefix cache (when it says)
    unreadable: dict[str, str] = field(default_factory=dict)  # clip id -> why


def answer_from_reply(
    clip: ClipToAsk, question: str, reply: Reply, source: str, server: str = ""
) -> Answer:
    """The log line of one reply; ``server`` (the server's version) when the reply names
    no ``system_fingerprint``."""
    where = (clip.split, clip.duration_label, clip.id, question)
    done = reply.completion
    if done is None:
        return Answer(*where, ok=False, error=reply.error, source=source)
    scores = done.confidence
    return Answer(
        *where,
        ok=True,
        text=done.text,
        confidence=scores.value if scores else None,
        min_token_prob=scores.min_token_prob if scores else None,
        tokens=scores.tokens if scores else done.completion_tokens,
        finish_reason=done.finish_reason,
        source=source,
        refusal=done.refusal,
        server=done.server or server,
    )


def answer_online(
    work: Sequence[ClipWork],
    questions: tuple[str, ...],
    builder: BodyBuilder,
    options: ClientOptions,
    log: AnswersLog,
    progress: Progress,
    source: str,
) -> OnlineStats:
    """Check the endpoint and model (fail fast), then ask everything in ``work``."""
    return asyncio.run(_answer(work, questions, builder, options, log, progress, source))


async def _answer(
    work: Sequence[ClipWork],
    questions: tuple[str, ...],
    builder: BodyBuilder,
    options: ClientOptions,
    log: AnswersLog,
    progress: Progress,
    source: str,
) -> OnlineStats:
    async with ChatClient.open_session(options) as session:
        client = ChatClient(options, session)
        await client.check_model(builder.settings.model)
        server = await client.server_version()
        progress.start(sum(len(w.question_indices) for w in work))
        run = _Pipeline(questions, builder, client, log, progress, (source, server))
        await run.run(work)
        if run.stop is not None:
            raise AnnotateError(run.stop)
        return run.stats


@dataclass(frozen=True)
class _Job:
    prepared: PreparedClip
    index: int


class _Pipeline:
    def __init__(
        self,
        questions: tuple[str, ...],
        builder: BodyBuilder,
        client: ChatClient,
        log: AnswersLog,
        progress: Progress,
        origin: tuple[str, str],
    ) -> None:
        self.questions, self.builder, self.client = questions, builder, client
        self.log, self.progress = log, progress
        self.source, self.server = origin
        self.stats = OnlineStats()
        self.stop: str | None = None  # why the rest is not sent (the server refuses)
        self.workers = client.options.concurrency
        self.jobs: asyncio.PriorityQueue[tuple[int, int, _Job | None]] = asyncio.PriorityQueue()
        self._order = itertools.count()
        self._open = asyncio.Semaphore(self.workers + PREPARE_AHEAD)  # clips in progress
        self._left: dict[str, int] = {}  # clip id -> its jobs not finished yet
        self._followers: dict[str, list[int]] = {}  # clip id -> questions after the first
        self._server_failures = 0
        self.results: asyncio.Queue[Answer | None] = asyncio.Queue()  # None: the end

    async def run(self, work: Sequence[ClipWork]) -> None:
        writer = asyncio.create_task(self._write())
        workers = [self._work() for _ in range(self.workers)]
        try:
            await asyncio.gather(self._produce(work), *workers)
        finally:  # also when interrupted: every answer received is logged
            self.results.put_nowait(None)
            try:
                await writer
            finally:  # the writer was cancelled too (an interrupt cancels every task)
                self.log.append(a for a in self._pending() if a is not None)

    async def _produce(self, work: Sequence[ClipWork]) -> None:
        """Prepare clips in threads, as many ahead as keep the workers busy; queue each
        clip's first question (or, without prefix reuse, all of them) in clip order."""
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(PREPARE_THREADS, thread_name_prefix="images") as pool:
            pending: list[asyncio.Future[PreparedClip | str]] = []
            items = list(work)
            for item in items:
                if self.stop is not None:
                    break
                await self._open.acquire()
                pending.append(loop.run_in_executor(pool, self._prepare, item.clip))
                while pending and (pending[0].done() or len(pending) > PREPARE_THREADS):
                    self._start(items[len(self._left)], await pending.pop(0))
            for future in pending:
                self._start(items[len(self._left)], await future)
        for _ in range(self.workers + PREPARE_AHEAD):  # every clip is done: workers leave
            await self._open.acquire()
        for _ in range(self.workers):
            self.jobs.put_nowait((END, next(self._order), None))

    def _prepare(self, clip: ClipToAsk) -> PreparedClip | str:
        try:
            return self.builder.prepare(clip)
        except AnnotateError as exc:
            return str(exc)  # this clip's requests fail with the message; others go on

    def _start(self, item: ClipWork, prepared: PreparedClip | str) -> None:
        clip, indices = item.clip, list(item.question_indices)
        self._left[clip.id] = len(indices)
        if isinstance(prepared, str):
            self.stats.unreadable[clip.id] = prepared
            for index in indices:
                reply = Reply(None, f"{clip.id}: {prepared}", attempts=0)
                self._record(answer_from_reply(clip, self.questions[index], reply, self.source))
            self._open.release()
            return
        if self.stop is not None:
            self._open.release()
            return
        first = indices if not self.client.options.prefix_first else indices[:1]
        self._followers[clip.id] = indices[len(first) :]
        for index in first:
            self.jobs.put_nowait((LEADER, next(self._order), _Job(prepared, index)))

    async def _work(self) -> None:
        while (item := await self.jobs.get())[2] is not None:
            job = item[2]
            if self.stop is None:
                await self._ask(job)
            self._finish(job)

    async def _ask(self, job: _Job) -> None:
        clip, question = job.prepared.clip, self.questions[job.index]
        body = self.builder.body(job.prepared, question)
        self.stats.body_bytes += len(body)
        reply = await self.client.complete(body)
        self._tally(reply)
        answer = answer_from_reply(clip, question, reply, self.source, self.server)
        if not answer.ok:
            self._server_failures += 1
            self._check_refused(answer.error, job.prepared)
        self._record(answer)

    def _finish(self, job: _Job) -> None:
        """Queue the clip's other questions after its first; free its place at its end."""
        clip_id = job.prepared.clip.id
        for index in self._followers.pop(clip_id, []):
            self.jobs.put_nowait((FOLLOWER, next(self._order), _Job(job.prepared, index)))
        self._left[clip_id] -= 1
        if not self._left[clip_id] and clip_id not in self._followers:
            self._open.release()

    def _check_refused(self, error: str, prepared: PreparedClip) -> None:
        """Stop sending when the server refuses: too many images (vLLM's limit), or
        every request so far failed."""
        if self.stop is not None:
            return
        limit = media_limit(error)
        if limit is not None:
            self.stop = _limit_message(limit, prepared, self.builder.settings.video)
        elif not self.stats.answered and self._server_failures >= REFUSED_AFTER:
            self.stop = (
                f"the first {self._server_failures} requests all failed ({error}); the rest "
                "were not sent: fix the server or the options (vLLM: --limit-mm-per-prompt, "
                "--max-model-len) and re-run"
            )

    def _tally(self, reply: Reply) -> None:
        s, done = self.stats, reply.completion
        s.attempts += reply.attempts
        s.retries += max(reply.attempts - 1, 0)
        if done is not None:
            s.prompt_tokens += done.prompt_tokens
            s.cached_tokens += done.cached_tokens
            s.refused += bool(done.refusal)
            s.truncated += done.finish_reason == "length" and not done.refusal

    def _record(self, answer: Answer) -> None:
        s = self.stats
        s.requests += 1
        s.answered += answer.ok
        s.failed += not answer.ok
        s.tokens += answer.tokens
        s.unscored += answer.ok and answer.confidence is None and not answer.refusal
        self.results.put_nowait(answer)
        self.progress.advance(answer.tokens, not answer.ok)

    async def _write(self) -> None:
        """Group commit, off the event loop: what finishes during one append (write,
        flush, fsync) goes in the next; returns after the end mark."""
        while True:
            batch = [await self.results.get(), *self._pending()]
            answers = [a for a in batch if a is not None]
            await asyncio.shield(asyncio.to_thread(self.log.append, answers))  # runs to its end
            if batch[-1] is None:
                return

    def _pending(self) -> list[Answer | None]:
        batch = []
        while not self.results.empty():
            batch.append(self.results.get_nowait())
        return batch


def _limit_message(limit: tuple[int, str], prepared: PreparedClip, video: bool) -> str:
    """One line naming the vLLM flag that lets the requests through."""
    allowed, modality = limit
    images = prepared.image_count
    wanted = {"image": images, "video": 1 if video else 0}
    return (
        f"the server takes at most {allowed} {modality}(s) per prompt and these requests "
        f"carry {wanted[modality]}; restart vLLM with --limit-mm-per-prompt "
        f'\'{{"image": {images}, "video": {wanted["video"]}}}\' (its JSON form), or ask '
        "with fewer --frames or without --event-images"
    )
