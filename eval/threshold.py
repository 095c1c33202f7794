"""`ofsted-qa eval-threshold`: choose the judge's threshold on dev questions.

Each dev question is answered once with the threshold at 0 and its trace kept: the judge's probability and the
answer it would give. Every threshold of a grid is then applied to those probabilities (a question whose
probability falls under it is refused), which gives each threshold's hit rate, precision, refusal accuracy and
false refusals without asking again. Only the dev split: the test split stays sealed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from eval.dataset import Question
from eval.run import Output, Record, score, summarise

# fine under 0.1, where the threshold is chosen
GRID = [round(0.01 * i, 2) for i in range(1, 10)] + [round(0.05 * i, 2) for i in range(2, 20)]


def judged(engine: Any, questions: list[Question]) -> list[tuple[Question, Output, float | None]]:
    """Return each question with the answer given at threshold 0 and the judge's probability (None: a rule
    decided before the judge)."""
    from eval.systems import _output

    settings = engine.settings
    answer_settings = settings.answer.model_copy(update={"judge_threshold": 0.0})
    engine.settings = settings.model_copy(update={"answer": answer_settings})
    out = []
    try:
        for q in questions:
            answer = engine.ask(q.question, history=list(q.history), debug=True)
            judge = [s for s in answer.trace or [] if s.stage == "judge" and "probability" in s.scores]
            out.append((q, _output(answer), judge[0].scores["probability"] if judge else None))
    finally:
        engine.settings = settings
    return out


def at_threshold(
    rows: list[tuple[Question, Output, float | None]], threshold: float, aliases: dict[str, str]
) -> list[Record]:
    """Return the records the system would give at this threshold."""
    records = []
    for q, output, p in rows:
        if p is not None and p < threshold:
            output = replace(output, answerable=False, cited=[], ranked=[], history=[], answer="", support=None)
        records.append(score(q, output, "ofsted-qa", aliases))
    return records


def sweep(
    rows: list[tuple[Question, Output, float | None]], aliases: dict[str, str], grid: list[float] = GRID
) -> list[dict[str, Any]]:
    """Return one row of figures per threshold: hit, precision, refusal accuracy, false refusals."""
    table = []
    for t in grid:
        s = summarise(at_threshold(rows, t, aliases))
        table.append(
            {
                "threshold": t,
                **{k: s[k]["value"] for k in ("hit_rate", "citation_precision", "refusal_accuracy", "false_refusals")},
            }
        )
    return table


def markdown(table: list[dict[str, Any]]) -> str:
    """Return the sweep as a Markdown table."""
    lines = ["| threshold | hit | precision | refusal accuracy | false refusals |", "|---|---|---|---|---|"]
    for r in table:
        cells = [r["hit_rate"], r["citation_precision"], r["refusal_accuracy"], r["false_refusals"]]
        lines.append(f"| {r['threshold']:.2f} | " + " | ".join("–" if c is None else f"{c:.3f}" for c in cells) + " |")
    return "\n".join(lines)
