"""HTTP request bodies and thin envelopes around the shared models."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from indexer.models import CitationRef, Turn
from indexer.store import Filters


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, description="The question, 1 to 2,000 characters.")
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, oldest first.")
    filters: Filters | None = Field(default=None, description="Restrict retrieval to some reports.")
    rerank_candidates: int | None = Field(default=None, ge=0, le=50, description="Override (benchmarks).")
    debug: bool = Field(default=False, description="Return `trace`: each stage's decision, rule and scores.")


class Coverage(BaseModel):
    authorities: list[str] = Field(description="Local authorities with at least one indexed report.")
    reports: int = Field(description="Number of reports indexed.")
    paragraphs: int = Field(description="Number of paragraphs indexed.")
    earliest: dt.date | None = Field(description="First inspection or visit date indexed.")
    latest: dt.date | None = Field(description="Last inspection or visit date indexed.")
    indexed_at: str = Field(description="When the index was built.")


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=20000)
    answer: str = Field(default="", max_length=50000)
    citation: CitationRef
    verdict: str = Field(default="wrong_citation", pattern=r"^[a-z_]{1,40}$")


class Health(BaseModel):
    status: str
    index: str | None
    reports: int
    paragraphs: int
