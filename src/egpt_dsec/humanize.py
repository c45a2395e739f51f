"""Numbers for people: byte sizes, durations, and aligned text tables."""

from __future__ import annotations


def format_bytes(n: float) -> str:
    """Every size egpt-dsec prints (plan, build, card, annotate, benchmarks) goes through
    here, in one unit: decimal (kB = 1000 bytes, MB = 10^6), as disks are sold and as
    ``df -H`` and the Hugging Face Hub show them."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.2f} {unit}"
    return f"{n:,.0f} B"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def text_table(lines: list[list[str]], left: int = 2) -> list[str]:
    """Columns padded to one width, the first ``left`` left-aligned, the rest right; a
    rule under the header and above the last line (the total)."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = [
        "  ".join(
            cell.ljust(w) if i < left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    text.insert(1, "-" * len(text[0]))
    text.insert(len(text) - 1, "-" * len(text[0]))
    return text


def markdown_table(lines: list[list[str]]) -> list[str]:
    """A Markdown table: the first line is the header."""
    rows = ["| " + " | ".join(line) + " |" for line in lines]
    return [rows[0], "|" + "---|" * len(lines[0]), *rows[1:]]
