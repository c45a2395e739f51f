"""The gallery page: plain HTML and CSS, relative links only, so it opens from disk."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
.clip { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 0.8em;
        margin: 1em 0; }
.row { display: flex; flex-wrap: wrap; gap: 4px; margin: 0.4em 0; }
.row img { width: 160px; height: auto; border: 1px solid #ccc; }
.media { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
figure { margin: 0; }
figure img, video { width: 480px; max-width: 100%; border: 1px solid #ccc; }
figcaption, .meta { color: #666; font-size: 12px; }
.sheet { max-width: 100%; border: 1px solid #ccc; }
dt { font-weight: bold; } dd { margin: 0 0 0.5em 1em; white-space: pre-wrap; }
"""


@dataclass(frozen=True)
class ClipCard:
    """What one clip shows; every path points at a file that exists."""

    title: str
    meta: str
    event_images: tuple[Path, ...]
    frames: tuple[Path, ...]  # the strip's thumbnails
    overlay: Path | None
    caption: str
    mp4: Path | None
    question: str
    answer: str
    boxes: tuple[tuple[Path, str], ...] = ()  # pictures with the labelled boxes, captions
    labels: tuple[tuple[str, str, str], ...] = ()  # label questions: task, question, answer


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    sheet: Path | None
    cards: tuple[ClipCard, ...]


def link(path: Path, page_dir: Path) -> str:
    """``path`` relative to the page, URL-quoted (spaces and ``#`` survive in file://)."""
    return quote(Path(os.path.relpath(path, page_dir)).as_posix())


def _images(paths: tuple[Path, ...], page_dir: Path, alt: str) -> str:
    tags = [
        f'<img src="{link(p, page_dir)}" alt="{html.escape(alt)} {i}" loading="eager">'
        for i, p in enumerate(paths)
    ]
    return f'<div class="row">{"".join(tags)}</div>' if tags else ""


def _card(card: ClipCard, page_dir: Path) -> str:
    parts = [f"<h3>{html.escape(card.title)}</h3>", f'<p class="meta">{html.escape(card.meta)}</p>']
    parts.append(_images(card.event_images, page_dir, "event image"))
    parts.append(_images(card.frames, page_dir, "frame"))
    media = []
    if card.overlay is not None:
        media.append(
            f'<figure><img src="{link(card.overlay, page_dir)}" alt="events over the frame">'
            f"<figcaption>{html.escape(card.caption)}</figcaption></figure>"
        )
    if card.mp4 is not None:
        media.append(
            f'<video controls muted preload="metadata" src="{link(card.mp4, page_dir)}"></video>'
        )
    for path, text in card.boxes:
        media.append(
            f'<figure class="boxes"><img src="{link(path, page_dir)}" alt="labelled boxes">'
            f"<figcaption>{html.escape(text)}</figcaption></figure>"
        )
    parts.append(f'<div class="media">{"".join(media)}</div>')
    answer = card.answer or "(no answer yet)"
    parts.append(
        f"<dl><dt>Question</dt><dd>{html.escape(card.question)}</dd>"
        f"<dt>Answer</dt><dd>{html.escape(answer)}</dd></dl>"
    )
    if card.labels:
        parts.append(_labels(card.labels))
    return f'<article class="clip">{"".join(parts)}</article>'


def _labels(labels: tuple[tuple[str, str, str], ...]) -> str:
    """The label questions and their answers from the labels."""
    rows = "".join(
        f"<dt>{html.escape(task)}: {html.escape(question)}</dt><dd>{html.escape(answer)}</dd>"
        for task, question, answer in labels
    )
    summary = f"<summary>Label questions ({len(labels)})</summary>"
    return f'<details class="labels" open>{summary}<dl>{rows}</dl></details>'


def render_page(title: str, summary: str, sections: list[Section], page_dir: Path) -> str:
    """The whole ``index.html``; the same input gives the same bytes."""
    nav = " · ".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in sections)
    body = []
    for s in sections:
        body.append(f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>')
        if s.sheet is not None:
            body.append(f'<img class="sheet" src="{link(s.sheet, page_dir)}" alt="contact sheet">')
        body.extend(_card(c, page_dir) for c in s.cards)
        body.append("</section>")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<link rel="icon" href="data:,"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(summary)}</p><nav>{nav}</nav>\n" + "\n".join(body) + "\n</body></html>\n"
    )
