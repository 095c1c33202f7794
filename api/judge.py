"""Judge: the one learned answer-or-refuse decision, read from the cross-encoder's logits over the candidates.

A small logistic model, fitted by `make train` on questions of authorities the cross-encoder never trained on,
gives the probability that the best-ranked paragraph answers the question. Its training rows are answerable
questions (label: the best candidate is a paragraph the writer marked as answering), near misses (label 0) and
each answerable question again with its answering paragraphs taken out of the candidates (label 0: the case
where retrieval missed, which looks like a near miss to everything downstream). Its threshold is a setting
chosen on the dev split (`OFSTED_QA_ANSWER__JUDGE_THRESHOLD`).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

FEATURES = ("top_logit", "gap_logit", "top3_mean_logit", "passing_count")


class Judge(BaseModel):
    """The fitted decision: standardised features, coefficients and intercept of a logistic model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    features: list[str] = Field(description="Feature names, in coefficient order.")
    mean: list[float] = Field(description="Feature means on the fitting rows (standardisation).")
    std: list[float] = Field(description="Feature standard deviations on the fitting rows.")
    coef: list[float] = Field(description="Logistic coefficients over the standardised features.")
    intercept: float
    rows: int = Field(description="Fitting rows.")
    positives: int = Field(description="Fitting rows whose best candidate answers.")


class Judgement(BaseModel):
    """What the judge decided for one question, and why (reported in the debug trace)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    answer: bool = Field(description="True when the best paragraph is judged to answer the question.")
    probability: float = Field(description="The judge's probability that the best paragraph answers.")
    threshold: float = Field(description="The probability needed to answer (a setting chosen on dev).")
    features: dict[str, float] = Field(description="The features the decision read.")


def features_of(logits: list[float]) -> list[float]:
    """Return the judge's features of the candidates' cross-encoder logits (any order)."""
    ranked = sorted(logits, reverse=True) or [-12.0]
    top = ranked[0]
    second = ranked[1] if len(ranked) > 1 else top - 12.0
    return [top, top - second, float(np.mean(ranked[:3])), float(sum(x > 0 for x in ranked))]


def probability(judge: Judge, logits: list[float]) -> float:
    """Return the probability that the best-scored candidate answers the question."""
    x = (np.asarray(features_of(logits)) - np.asarray(judge.mean)) / np.asarray(judge.std)
    z = float(x @ np.asarray(judge.coef) + judge.intercept)
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


def decide(judge: Judge, logits: list[float], threshold: float) -> Judgement:
    """Return the answer-or-refuse judgement for the candidates' logits."""
    p = probability(judge, logits)
    named = dict(zip(FEATURES, (round(v, 3) for v in features_of(logits)), strict=True))
    return Judgement(answer=p >= threshold, probability=round(p, 4), threshold=threshold, features=named)


@lru_cache(maxsize=4)
def load_judge(path: Path) -> Judge:
    """Return the judge stored beside a fine-tuned cross-encoder (judge.json)."""
    return Judge.model_validate_json(path.read_text())


def fit_judge(rows: list[dict[str, Any]], l2: float = 1e-2, steps: int = 3000) -> dict[str, Any]:
    """Return a fitted Judge (as a dict) from rows with `logits` and `label`: logistic regression, L2, gradient
    descent on standardised features (a few hundred rows: a second of work, no extra dependency)."""
    x = np.asarray([features_of(r["logits"]) for r in rows], dtype=np.float64)
    y = np.asarray([float(r["label"]) for r in rows])
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / std
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        w -= 0.5 * ((z.T @ (p - y)) / len(y) + l2 * w)
        b -= 0.5 * float(np.mean(p - y))
    judge = Judge(
        features=list(FEATURES),
        mean=mean.tolist(),
        std=std.tolist(),
        coef=w.tolist(),
        intercept=b,
        rows=len(rows),
        positives=int(y.sum()),
    )
    fitted: dict[str, Any] = json.loads(judge.model_dump_json())
    return fitted


def judge_features(questions: list[Any], index: Any, embedder: Any, session: Any, depth: int) -> list[dict[str, Any]]:
    """Return fitting rows for training questions: each question's candidates (its authority's first-stage top
    `depth`) scored by the cross-encoder `session`, labelled as described in the module docstring."""
    from indexer.store import Filters

    rows: list[dict[str, Any]] = []
    for q in questions:
        report = index.reports.get(q.document_id)
        if report is None:
            continue
        vector = embedder.embed_query(q.question)
        hits = index.search(q.question, vector, k=30, filters=Filters(local_authority=report.local_authority))
        answering = {(q.document_id, label) for label in q.paragraphs}
        head = hits[:depth]
        logits = [float(session.run(q.question, h.chunk.text)[0]) for h in head]
        if not logits:
            continue
        best = int(np.argmax(logits))
        top_correct = head[best].chunk.key in answering
        rows.append({"answerable": q.answerable, "top_correct": top_correct, "logits": logits, "label": top_correct})
        if q.answerable:
            # the same question with retrieval missing every answering paragraph: judged as a near miss
            rest = [h for h in hits if h.chunk.key not in answering][:depth]
            missed = [float(session.run(q.question, h.chunk.text)[0]) for h in rest]
            if missed:
                rows.append({"answerable": False, "top_correct": False, "logits": missed, "label": False})
    return rows


def logit(p: float) -> float:
    """Return the logit of a probability (the cross-encoder's raw score)."""
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))
