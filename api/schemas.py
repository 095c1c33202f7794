"""HTTP request bodies and thin envelopes around the shared models."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from indexer.models import CitationRef, Turn
from indexer.settings import QUESTION_CHARS_CEILING
from indexer.store import Filters

# Ceilings in the schema itself; the server's settings (max_question_chars, max_history_*) may set lower limits.
HISTORY_TURNS_CEILING = 100


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        min_length=1,
        max_length=QUESTION_CHARS_CEILING,
        description="The question: at most OFSTED_QA_API__MAX_QUESTION_CHARS characters (2,000 by default).",
    )
    history: list[Turn] = Field(
        default_factory=list,
        max_length=HISTORY_TURNS_CEILING,
        description="Earlier turns, oldest first: at most OFSTED_QA_API__MAX_HISTORY_TURNS turns (10 by default) "
        "and OFSTED_QA_API__MAX_HISTORY_CHARS characters (20,000 by default).",
    )
    filters: Filters | None = Field(default=None, description="Restrict retrieval to some reports.")
    rerank_candidates: int | None = Field(
        default=None,
        ge=0,
        le=50,
        description="Candidates the cross-encoder reads (benchmarks); cut to OFSTED_QA_API__MAX_RERANK_CANDIDATES.",
    )
    debug: bool = Field(default=False, description="Return `trace`: each stage's decision, rule and scores.")
    answerer: Literal["extractive", "llm"] | None = Field(
        default=None,
        description="Who writes the answer: `extractive` or `llm`. Only where the server allows a request to choose "
        "(OFSTED_QA_LLM__ALLOW_PER_REQUEST); left out, the server's configured answerer.",
    )


class Coverage(BaseModel):
    authorities: list[str] = Field(description="Local authorities with at least one indexed report.")
    reports: int = Field(description="Number of reports indexed.")
    paragraphs: int = Field(description="Number of paragraphs indexed.")
    earliest: dt.date | None = Field(description="First inspection or visit date indexed.")
    latest: dt.date | None = Field(description="Last inspection or visit date indexed.")
    indexed_at: str = Field(description="When the index was built.")


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=QUESTION_CHARS_CEILING, description="The question asked (stored as a hash).")
    answer: str = Field(default="", max_length=20_000, description="The answer shown (stored only with log_questions).")
    citation: CitationRef = Field(description="The cited paragraph the verdict is about.")
    verdict: str = Field(default="wrong_citation", pattern=r"^[a-z_]{1,40}$", description="e.g. wrong_citation.")


class Health(BaseModel):
    status: str
    index: str | None
    reports: int
    paragraphs: int


class Ready(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ready: bool = Field(description="True once an index and the models are loaded and the last reload worked.")
    generation: str | None = Field(description="The index generation served (its directory name).")
    detail: str = Field(description="What is served, or what is missing and what to do.")
