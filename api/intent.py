"""Grade intent: whether a question asks how Ofsted judged an area, read by a small model trained on our questions.

`models/grade-intent/model.json` is a logistic regression over tf-idf word unigrams and bigrams, fitted by
`python -m training.train_intent` on the training questions (label: the judgement table answers it). It reads
everyday forms that no word rule lists ('what did brum get overall', 'what did they get for leadership').
Scoring is plain arithmetic on the stored vocabulary and weights: no library model is loaded at run time.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

from indexer.settings import REPO_ROOT

GRADE_INTENT_MODEL = REPO_ROOT / "models" / "grade-intent" / "model.json"
_TOKEN = re.compile(r"[a-z0-9&]+")


def intent_terms(question: str) -> list[str]:
    """Return the question's terms as the model reads them: lower-case words and adjacent word pairs."""
    words = _TOKEN.findall(question.lower())
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


@cache
def _load(path: Path) -> dict[str, Any]:
    model: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return model


def grade_intent_probability(question: str, path: Path = GRADE_INTENT_MODEL) -> float:
    """Return the model's probability that the question asks for a judgement grade."""
    model = _load(path)
    vocab: dict[str, list[float]] = model["terms"]  # term -> [idf, weight]
    counts = Counter(t for t in intent_terms(question) if t in vocab)
    values = {t: (1.0 + math.log(n)) * vocab[t][0] for t, n in counts.items()}
    norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
    z = model["intercept"] + sum(v / norm * vocab[t][1] for t, v in values.items())
    return 1.0 / (1.0 + math.exp(-z))


def asks_grade_by_model(question: str, path: Path = GRADE_INTENT_MODEL) -> bool:
    """Return whether the model reads a grade question, at the threshold stored with it (chosen on dev)."""
    if not _present(path):
        return False
    return grade_intent_probability(question, path) >= float(_load(path)["threshold"])


@cache
def _present(path: Path) -> bool:  # looked up once, not on each of a question's several grade checks
    return path.exists()
