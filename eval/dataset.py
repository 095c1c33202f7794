"""Question sets: the schema and a loader that rejects malformed lines with their line number."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from indexer.errors import OfstedQAError
from indexer.models import Turn

DEFAULT_SET = Path(__file__).resolve().parent / "questions.jsonl"


class Gold(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    document_id: str = Field(description="Report id (or an alias of it).")
    paragraph: str = Field(description="Paragraph label.")
    quote: str = Field(min_length=1, description="A verbatim span of that paragraph.")


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(min_length=1)
    type: str = Field(min_length=1, description="grade, finding, paraphrase, multi, cross-report, list, unanswerable…")
    split: Literal["dev", "test"]
    wording: Literal["everyday", "report", "unmarked"] = Field(
        default="unmarked",
        alias="register",
        description="everyday: worded as practitioners talk, sharing few words with the report; report: its terms.",
    )
    question: str = Field(min_length=1)
    history: list[Turn] = Field(default_factory=list)
    answerable: bool
    must: list[str] = Field(default_factory=list)
    gold: list[Gold] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.answerable and not self.gold:
            raise ValueError("an answerable question needs at least one gold paragraph")
        if not self.answerable and self.gold:
            raise ValueError("an unanswerable question must have no gold paragraphs")
        return self


class DatasetError(OfstedQAError):
    """A question file has malformed lines."""


def load_questions(path: Path) -> list[Question]:
    """Return the questions in a JSONL file, or raise DatasetError listing every bad line and what is wrong."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror}).") from exc
    questions: list[Question] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            q = Question.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg} at column {exc.colno})")
            continue
        except ValidationError as exc:
            what = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'question'}: {e['msg']}" for e in exc.errors())
            problems.append(f"line {number}: {what}")
            continue
        if q.id in seen:
            problems.append(f"line {number}: duplicate id {q.id!r}")
            continue
        seen.add(q.id)
        questions.append(q)
    if problems:
        raise DatasetError(
            f"{path}: {len(problems)} malformed line(s), nothing evaluated. " + " | ".join(problems[:20])
        )
    if not questions:
        raise DatasetError(f"{path}: no questions found. One JSON object per line; see eval/DATASET.md.")
    return questions
