"""Training data: questions written from report paragraphs, and the (question, passage, label) pairs built from them.

Hard negatives come from our own first stage (dense + BM25, fused) over the reports of the question's authority,
exactly as a question about that authority is searched at run time; every paragraph the writer marked as
answering is a positive, and never a negative.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DATA_DIR = Path(__file__).resolve().parent / "data"
SPLIT_FILE = Path(__file__).resolve().parent / "authority_split.json"


class TrainingQuestion(BaseModel):
    """One question written from a report's paragraphs: answerable (paragraphs) or a near miss (near)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    document_id: str = Field(description="The report the question was written from.")
    question: str = Field(min_length=1)
    wording: str = Field(alias="register", description="everyday or report.")
    answerable: bool
    paragraphs: list[str] = Field(description="Labels of every paragraph of the report that answers it.")
    near: list[str] = Field(description="Near misses: labels of paragraphs that look relevant but do not answer.")


class Pair(BaseModel):
    """A (question, passage) pair with its label, as the cross-encoder reads it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str
    passage: str
    label: float
    authority: str


def load_training_questions(data_dir: Path = DATA_DIR) -> list[TrainingQuestion]:
    """Return every training question in the data folder's JSONL files, in file order."""
    out: list[TrainingQuestion] = []
    for path in sorted(data_dir.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(TrainingQuestion.model_validate_json(line))
    return out


def data_hash(data_dir: Path = DATA_DIR) -> str:
    """Return a sha256 over the training data files (names and bytes), recorded with every trained model."""
    digest = hashlib.sha256()
    for path in sorted(data_dir.glob("*.jsonl")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def authority_split() -> dict[str, Any]:
    """Return the authority split: test and dev_heldout authorities never reach training."""
    data: dict[str, Any] = json.loads(SPLIT_FILE.read_text())
    return data


def calibration_authorities(train: list[str], share: float, seed: int) -> set[str]:
    """Return the training authorities held back from the cross-encoder to fit the answer-or-refuse decision."""
    rng = random.Random(seed)
    chosen = sorted(train)
    rng.shuffle(chosen)
    return set(chosen[: max(1, round(len(chosen) * share))])


def make_pairs(
    questions: list[TrainingQuestion],
    index: Any,
    embedder: Any,
    negatives: int,
    depth: int,
    seed: int,
) -> list[Pair]:
    """Return labelled pairs: each positive paragraph (1.0) and `negatives` first-stage candidates (0.0) per question,
    drawn from the top `depth` of the question's authority; a near miss's `near` paragraphs come first."""
    from indexer.store import Filters

    rng = random.Random(seed)
    pairs: list[Pair] = []
    for q in questions:
        report = index.reports.get(q.document_id)
        if report is None:
            continue
        authority = report.local_authority
        vector = embedder.embed_query(q.question)
        hits = index.search(q.question, vector, k=depth, filters=Filters(local_authority=authority))
        answering = {(q.document_id, label) for label in q.paragraphs}
        for label in q.paragraphs:
            chunk = index.chunk_of(q.document_id, label)
            if chunk is not None:
                pairs.append(Pair(question=q.question, passage=chunk.text, label=1.0, authority=authority))
        pool = [index.chunk_of(q.document_id, label) for label in q.near]
        others = [h.chunk for h in hits[:depth] if h.chunk.key not in answering]
        # a candidate from another report of the same authority may say the same thing: only the question's own
        # report was read by the writer, so negatives come from that report, or from the near-miss labels
        same_report = [c for c in others if c.document_id == q.document_id]
        rng.shuffle(same_report)
        seen: set[tuple[str, str]] = set()
        for chunk in [c for c in pool if c is not None] + same_report:
            if len(seen) >= negatives or chunk.key in answering or chunk.key in seen:
                continue
            seen.add(chunk.key)
            pairs.append(Pair(question=q.question, passage=chunk.text, label=0.0, authority=authority))
    return pairs


def start_run(seed: int) -> float:
    """Set up a training run: logging, no tokenizer threads fighting the trainer's, every seed; return its start."""
    import logging
    import os
    import time

    import numpy as np
    import torch

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return time.perf_counter()
