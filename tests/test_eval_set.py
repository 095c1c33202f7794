"""The curated evaluation set: schema, gold quotes inside their paragraphs, the loader's error messages."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from eval.dataset import DEFAULT_SET, DatasetError, load_questions
from indexer.parse import parse_report
from tests.conftest import SEED_INSPECTION, SEED_LETTER


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'")).strip()


SEED_DEV_EXTRA = DEFAULT_SET.parent / "dev_extra" / "seed_dev.jsonl"


@pytest.mark.parametrize("path", [DEFAULT_SET, SEED_DEV_EXTRA], ids=["questions", "dev_extra-seed"])
def test_every_gold_quote_lies_inside_its_paragraph(path: Path) -> None:
    reports = {r.document_id: r for r in (parse_report(SEED_INSPECTION), parse_report(SEED_LETTER))}
    questions = load_questions(path)
    assert questions
    for q in questions:
        for gold in q.gold:
            paragraph = reports[gold.document_id].paragraph(gold.paragraph)
            assert paragraph is not None, (q.id, gold.paragraph)
            assert norm(gold.quote) in norm(paragraph.text), (q.id, gold.paragraph, gold.quote)


def test_set_size_and_coverage() -> None:
    questions = load_questions(DEFAULT_SET)
    types = Counter(q.type for q in questions)
    assert len(questions) >= 150
    assert types["unanswerable"] >= 25
    assert {"grade", "finding", "paraphrase", "multi", "cross-report", "list", "unanswerable"} <= set(types)
    # these questions have been seen while tuning, so they are all dev; the sealed test split is eval/test/
    assert {q.split for q in questions} == {"dev"}
    assert {q.split for q in load_questions(SEED_DEV_EXTRA)} == {"dev"}


def test_malformed_lines_are_rejected_with_line_numbers(tmp_path: Path) -> None:
    good = DEFAULT_SET.read_text().splitlines()[0]
    path = tmp_path / "mine.jsonl"
    path.write_text(
        "\n".join(
            [
                good,
                "{not json",
                '{"id": "x", "type": "finding", "split": "train", "question": "q", "answerable": true, "gold": []}',
            ]
        )
        + "\n"
    )
    with pytest.raises(DatasetError) as info:
        load_questions(path)
    message = str(info.value)
    assert "2 malformed line(s)" in message
    assert "line 2: not JSON" in message
    assert "line 3: split: Input should be 'dev' or 'test'" in message
