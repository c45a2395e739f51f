"""Asking the server: clips -> prepared images -> bounded in-flight requests -> the log.

Three stages run side by side: two threads decode and encode the next clips' images
(a few clips ahead), ``concurrency`` workers send requests, one writer appends each
batch of finished answers to the log (one fsync per batch). A request that fails
after its retries is logged as failed and the others go on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from egpt_dsec.annotate.body import BodyBuilder, PreparedClip
from egpt_dsec.annotate.client import ChatClient, ClientOptions, Reply
from egpt_dsec.annotate.model import ClipToAsk
from egpt_dsec.annotate.progress import Progress
from egpt_dsec.answers.errors import AnnotateError
from egpt_dsec.answers.log import Answer, AnswersLog

PREPARE_THREADS = 2
PREPARE_AHEAD = 4  # clips whose images are being prepared while requests run
REFUSED_AFTER = 8  # this many failures before any answer: the server refuses them all


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
    tokens: int = 0
    unscored: int = 0  # answers that came without logprobs
    body_bytes: int = 0


def answer_from_reply(clip: ClipToAsk, question: str, reply: Reply, source: str) -> Answer:
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
        progress.start(sum(len(w.question_indices) for w in work))
        run = _Pipeline(questions, builder, client, log, progress, source)
        await run.run(work)
        if run.refused is not None:
            raise AnnotateError(
                f"the first {run.stats.failed} requests all failed ({run.refused}); the rest "
                "were not sent: fix the server or the options (vLLM: --limit-mm-per-prompt, "
                "--max-model-len) and re-run"
            )
        return run.stats


class _Pipeline:
    def __init__(
        self,
        questions: tuple[str, ...],
        builder: BodyBuilder,
        client: ChatClient,
        log: AnswersLog,
        progress: Progress,
        source: str,
    ) -> None:
        self.questions, self.builder, self.client = questions, builder, client
        self.log, self.progress, self.source = log, progress, source
        self.stats = OnlineStats()
        self.refused: str | None = None  # set when every request so far has failed
        workers = client.options.concurrency
        self.jobs: asyncio.Queue[tuple[PreparedClip | str, ClipToAsk, int] | None]
        self.jobs = asyncio.Queue(maxsize=2 * workers)
        self.results: asyncio.Queue[Answer | None] = asyncio.Queue()  # None: the end

    async def run(self, work: Sequence[ClipWork]) -> None:
        writer = asyncio.create_task(self._write())
        workers = [self._work() for _ in range(self.client.options.concurrency)]
        try:
            await asyncio.gather(self._produce(work), *workers)
        finally:  # also when interrupted: every answer received is logged
            self.results.put_nowait(None)
            try:
                await writer
            finally:  # the writer was cancelled too (an interrupt cancels every task)
                self.log.append(a for a in self._pending() if a is not None)

    async def _produce(self, work: Sequence[ClipWork]) -> None:
        """Prepare a few clips ahead in threads; queue their requests in clip order."""
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(PREPARE_THREADS, thread_name_prefix="images") as pool:
            pending: deque[tuple[ClipWork, asyncio.Future[PreparedClip | str]]] = deque()
            for item in work:
                if self.refused is not None:
                    break
                pending.append((item, loop.run_in_executor(pool, self._prepare, item.clip)))
                if len(pending) >= PREPARE_AHEAD:
                    await self._enqueue(*pending.popleft())
            while pending:
                await self._enqueue(*pending.popleft())
        for _ in range(self.client.options.concurrency):
            await self.jobs.put(None)

    def _prepare(self, clip: ClipToAsk) -> PreparedClip | str:
        try:
            return self.builder.prepare(clip)
        except AnnotateError as exc:
            return str(exc)  # this clip's requests fail with the message; others go on

    async def _enqueue(self, item: ClipWork, future: asyncio.Future[PreparedClip | str]) -> None:
        prepared = await future
        for index in item.question_indices:
            await self.jobs.put((prepared, item.clip, index))

    async def _work(self) -> None:
        while (job := await self.jobs.get()) is not None:
            if self.refused is not None:
                continue  # not sent, not logged: the next run asks it
            prepared, clip, index = job
            question = self.questions[index]
            if isinstance(prepared, str):
                reply = Reply(None, prepared, attempts=0)
            else:
                body = self.builder.body(prepared, question)
                self.stats.body_bytes += len(body)
                reply = await self.client.complete(body)
            self._record(answer_from_reply(clip, question, reply, self.source), reply)

    def _record(self, answer: Answer, reply: Reply) -> None:
        s = self.stats
        s.requests += 1
        s.attempts += reply.attempts
        s.answered += answer.ok
        s.failed += not answer.ok
        s.tokens += answer.tokens
        s.unscored += answer.ok and answer.confidence is None
        if not s.answered and s.failed >= REFUSED_AFTER and self.refused is None:
            self.refused = answer.error
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
