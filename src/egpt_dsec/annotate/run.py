"""One annotate run: find the clips, ask what is missing (online, or by batch file),
then let the build's JSON writer rewrite the files from the answers log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from egpt_dsec.annotate import dataset
from egpt_dsec.annotate.batch import (
    ExportStats,
    ImportStats,
    batch_tag,
    export_batch,
    import_results,
)
from egpt_dsec.annotate.body import BodyBuilder
from egpt_dsec.annotate.client import ClientOptions, endpoint_host
from egpt_dsec.annotate.images import CacheStats, ImageCache
from egpt_dsec.annotate.model import ClipToAsk
from egpt_dsec.annotate.online import ClipWork, OnlineStats, answer_online
from egpt_dsec.annotate.progress import NullProgress, Progress
from egpt_dsec.annotate.settings import AnswerSettings
from egpt_dsec.answers.active import AnswerSet, activate
from egpt_dsec.answers.errors import AnnotateError
from egpt_dsec.answers.log import Answer, AnswerKey, AnswersLog
from egpt_dsec.answers.model import ActiveAnswers, Choices
from egpt_dsec.answers.provenance import count_outcomes, filter_reasons
from egpt_dsec.answers.questions import DEFAULT_QUESTIONS
from egpt_dsec.answers.select import SELECT_MODES, questions_needed
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.pipeline.build import publish


@dataclass(frozen=True)
class AnnotateConfig:
    """Everything one run needs; exactly one of ``client``, ``export_batch``,
    ``import_batch`` says where answers come from."""

    out: Path
    settings: AnswerSettings
    questions: tuple[str, ...] = DEFAULT_QUESTIONS
    select: str = "best"
    min_confidence: float = 0.9
    client: ClientOptions | None = None
    export_batch: Path | None = None
    import_batch: tuple[Path, ...] = ()
    splits: tuple[str, ...] | None = None
    durations: tuple[str, ...] | None = None
    sequences: tuple[str, ...] | None = None
    limit: int | None = None
    reanswer: bool = False
    keep_truncated: bool = False
    dry_run: bool = False  # print the cost only: no answer source needed
    cache_entries: int = 512

    def __post_init__(self) -> None:
        if self.select not in SELECT_MODES:
            raise AnnotateError(f"--select must be one of {SELECT_MODES}, not {self.select!r}")
        if not 0 <= self.min_confidence <= 1:
            raise AnnotateError(f"--min-confidence must be in [0, 1], got {self.min_confidence}")
        if self.limit is not None and self.limit < 1:
            raise AnnotateError(f"--limit must be >= 1, got {self.limit}")
        sources = [self.client is not None, self.export_batch is not None, bool(self.import_batch)]
        if sum(sources) != 1 and not (self.dry_run and sum(sources) == 0):
            raise AnnotateError("give exactly one of --endpoint, --export-batch, --import-batch")

    @property
    def choices(self) -> Choices:
        return Choices(self.questions, self.select, self.min_confidence, self.keep_truncated)

    @property
    def active(self) -> ActiveAnswers:
        return ActiveAnswers(self.settings.key, self.settings.to_json(), self.choices)


@dataclass
class AnnotateReport:
    clips: int = 0  # built clips in the chosen splits and durations
    clips_asked: int = 0  # of them, clips that needed answers in this run
    requests_needed: int = 0
    online: OnlineStats | None = None
    exported: ExportStats | None = None
    imported: ImportStats | None = None
    cache: CacheStats = field(default_factory=CacheStats)
    groups: dict[dataset.Group, dict[str, Any]] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(g["failed"] for g in self.groups.values())

    @property
    def unscored(self) -> int:
        return sum(g["unscored"] for g in self.groups.values())


def plan_work(
    clips: Sequence[ClipToAsk],
    known: Mapping[dataset.Group, Mapping[AnswerKey, Answer]],
    config: AnnotateConfig,
) -> list[ClipWork]:
    """The clips (in time order, so overlapping clips share cached frames) and the
    questions each still needs; ``--sequences`` and ``--limit`` narrow what is asked."""
    work = []
    for clip in sorted(clips, key=lambda c: (c.split, c.sequence, c.start_s, c.duration_s)):
        if config.sequences is not None and clip.sequence not in config.sequences:
            continue
        answers = known[clip.group]
        missing = tuple(
            i
            for i in questions_needed(config.select, clip.id, len(config.questions))
            if not _ok(answers.get((clip.id, config.questions[i])))
        )
        if missing:
            work.append(ClipWork(clip, missing))
        if config.limit is not None and len(work) >= config.limit:
            break
    return work


def _ok(answer: Answer | None) -> bool:
    return answer is not None and answer.ok


def annotate(config: AnnotateConfig, progress: Progress | None = None) -> AnnotateReport:
    """Run once; safe to interrupt and re-run (it asks only what is missing)."""
    state = StateLayout(config.out)
    with dataset.locked(config.out):
        with_labels = config.settings.with_labels
        clips = dataset.find_clips(config.out, config.splits, config.durations, with_labels)
        if not clips:
            raise AnnotateError(
                f"{config.out} has no built clip for these --splits/--durations; "
                "check them against egpt-dsec status"
            )
        if config.export_batch is None:  # exporting asks nothing: the JSON stays as it is
            activate(state, config.active, config.settings.prompt_template, config.reanswer)
        log = AnswersLog(state, config.settings.key)
        try:
            return _run(config, clips, log, progress or NullProgress())
        finally:
            log.close()


def _run(
    config: AnnotateConfig, clips: list[ClipToAsk], log: AnswersLog, progress: Progress
) -> AnnotateReport:
    known = {group: log.read(*group) for group in sorted({c.group for c in clips})}
    work = plan_work(clips, known, config)
    cache = ImageCache(config.settings.image, config.cache_entries)
    builder = BodyBuilder(config.settings, cache)
    report = AnnotateReport(clips=len(clips), clips_asked=len(work), cache=cache.stats)
    report.requests_needed = sum(len(w.question_indices) for w in work)
    if config.export_batch is not None:
        report.exported = export_batch(work, config.questions, builder, config.export_batch)
        return report
    try:
        if config.import_batch:
            report.imported = _import(config, clips, known, log)
        elif config.client is not None:
            source = f"online {endpoint_host(config.client.endpoint)}"
            report.online = answer_online(
                work, config.questions, builder, config.client, log, progress, source
            )
    except KeyboardInterrupt:
        _write_json(config, log)
        raise
    finally:
        progress.close()
    _write_json(config, log)
    report.groups = _counts(config, clips)
    return report


def _write_json(config: AnnotateConfig, log: AnswersLog) -> None:
    """The build's JSON writer, with every answer logged so far."""
    log.close()  # flushed and fsynced: the writer reads the log files
    publish(dataset.build_config(config.out))


def _counts(config: AnnotateConfig, clips: list[ClipToAsk]) -> dict[dataset.Group, dict[str, Any]]:
    answers = AnswerSet.load(StateLayout(config.out))
    assert answers is not None  # activated by this run
    counts, reasons = {}, filter_reasons(config.choices)
    for group in sorted({c.group for c in clips}):
        ids = [c.id for c in clips if c.group == group]
        known = set(ids)
        logged = [a for a in answers.log.read(*group).values() if a.clip in known]
        outcomes = answers.outcomes(*group, ids).values()
        counts[group] = count_outcomes(outcomes, reasons, logged)
    return counts


def _import(
    config: AnnotateConfig,
    clips: list[ClipToAsk],
    known: Mapping[dataset.Group, Mapping[AnswerKey, Answer]],
    log: AnswersLog,
) -> ImportStats:
    by_id = {clip.id: clip for clip in clips}
    merged = {key: a for answers in known.values() for key, a in answers.items()}
    tag = batch_tag(config.settings.key, config.questions)
    answers, stats = import_results(config.import_batch, by_id, config.questions, tag, merged)
    log.append(answers)
    return stats
