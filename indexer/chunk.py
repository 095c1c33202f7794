"""Chunking: Report → list[Chunk], one per paragraph (windows for very long ones), with report context."""

from __future__ import annotations

from indexer.models import Chunk, Paragraph, Report


def report_context(report: Report) -> str:
    """Return the short context line embedded with every chunk, e.g. 'Peterborough inspection 2023'."""
    year = report.inspection_dates[-1].year if report.inspection_dates else ""
    return " ".join(str(x) for x in (report.local_authority, report.kind, year) if x)


def chunk_text(report: Report, paragraph: Paragraph, body: str) -> str:
    """Return the text to embed: report context, section heading, then the paragraph text."""
    parts = [report_context(report)]
    if paragraph.section:
        parts.append(paragraph.section)
    return ". ".join(parts) + ".\n" + body


def windows(text: str, max_words: int) -> list[str]:
    """Split a long text into overlapping windows of at most `max_words` words (a quarter overlap)."""
    words = text.split()
    if len(words) <= max_words:
        return [text]
    step = max(1, max_words * 3 // 4)
    return [" ".join(words[i : i + max_words]) for i in range(0, max(1, len(words) - max_words // 4), step)]


def make_chunks(report: Report, max_words: int = 350) -> list[Chunk]:
    """Return the chunks of a report: every paragraph, windowed when longer than `max_words`."""
    chunks: list[Chunk] = []
    for paragraph in report.paragraphs:
        for n, body in enumerate(windows(paragraph.text, max_words)):
            text = chunk_text(report, paragraph, body)
            chunks.append(
                Chunk(
                    id=Chunk.make_id(report.document_id, paragraph.label, n, text),
                    document_id=report.document_id,
                    paragraph=paragraph.label,
                    window=n,
                    text=text,
                )
            )
    return chunks
