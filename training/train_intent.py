"""`make train` (third step): fit the grade-intent model on our training questions and write
`models/grade-intent/model.json` (see `api/intent.py`). Seeded and deterministic; a few seconds on 2 cores.

Label: the question's answer includes the judgement table. Tf-idf (sublinear, word unigrams and bigrams seen in
at least two questions) and a class-balanced logistic regression. The threshold is a setting chosen on dev
questions and stored with the model.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Annotated

import typer

from api.intent import GRADE_INTENT_MODEL, intent_terms
from training.data import data_hash, load_training_questions

log = logging.getLogger("ofsted_qa.train")


def main(
    out: Annotated[Path, typer.Option(help="Model file to write.")] = GRADE_INTENT_MODEL,
    c: Annotated[float, typer.Option(help="Inverse regularisation strength.")] = 10.0,
    threshold: Annotated[float, typer.Option(help="Probability from which a question is a grade question.")] = 0.9,
) -> None:
    """Fit the grade-intent model and write it with its training record."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    questions = load_training_questions()
    texts = [q.question for q in questions]
    labels = [int("judgements" in q.paragraphs) for q in questions]
    vectoriser = TfidfVectorizer(analyzer=intent_terms, sublinear_tf=True, min_df=2)
    features = vectoriser.fit_transform(texts)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, random_state=0).fit(features, labels)
    weights = model.coef_[0]
    terms = {
        term: [round(float(vectoriser.idf_[i]), 6), round(float(weights[i]), 6)]
        for term, i in sorted(vectoriser.vocabulary_.items())
        if abs(weights[i]) > 1e-6
    }
    record = {
        "about": "Grade intent: logistic regression over tf-idf word unigrams and bigrams (api/intent.py).",
        "data_sha256": data_hash(),
        "questions": len(questions),
        "grade_questions": sum(labels),
        "hyperparameters": {"C": c, "min_df": 2, "class_weight": "balanced", "sublinear_tf": True},
        "threshold": threshold,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**record, "intercept": float(model.intercept_[0]), "terms": terms}, indent=0))
    (out.parent / "training.json").write_text(json.dumps(record, indent=1) + "\n")
    log.info("wrote %s: %d terms", out, len(terms))


if __name__ == "__main__":
    typer.run(main)
