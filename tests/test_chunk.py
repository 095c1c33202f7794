"""Chunking: one chunk per paragraph, windows for very long ones, report and section as context."""

from __future__ import annotations

from indexer.chunk import make_chunks, windows
from indexer.models import Paragraph
from indexer.parse import parse_report
from tests.conftest import SEED_INSPECTION


def test_one_chunk_per_paragraph_with_context() -> None:
    report = parse_report(SEED_INSPECTION)
    chunks = make_chunks(report)
    assert [(c.document_id, c.paragraph) for c in chunks] == [(report.document_id, p.label) for p in report.paragraphs]
    c32 = next(c for c in chunks if c.paragraph == "32")
    assert c32.text.startswith(
        "Peterborough inspection 2023. The experiences and progress of care leavers: inadequate.\n"
    )
    assert c32.text.endswith(report.paragraph("32").text)


def test_long_paragraph_is_windowed_and_every_window_cites_it() -> None:
    report = parse_report(SEED_INSPECTION)
    long_text = " ".join(f"word{i}" for i in range(1000))
    para = Paragraph(document_id=report.document_id, label="99", section="S", text=long_text)
    report = report.model_copy(update={"paragraphs": [para]})
    chunks = make_chunks(report, max_words=300)
    assert len(chunks) == 5  # starts at words 0, 225, 450, 675, 900
    assert {c.paragraph for c in chunks} == {"99"}
    assert [c.window for c in chunks] == [0, 1, 2, 3, 4]
    assert "word999" in chunks[-1].text


def test_windows_overlap_by_a_quarter() -> None:
    parts = windows(" ".join(str(i) for i in range(20)), 8)
    assert parts[0].split()[-2:] == ["6", "7"]
    assert parts[1].split()[:2] == ["6", "7"]


def test_chunk_ids_are_content_hashes() -> None:
    a = make_chunks(parse_report(SEED_INSPECTION))
    b = make_chunks(parse_report(SEED_INSPECTION))
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)
