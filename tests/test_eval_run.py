"""`ofsted-qa eval --url`: a running deployment evaluated over HTTP, results written to disk."""

from __future__ import annotations

import json
from pathlib import Path

from api.engine import Engine
from eval.dataset import DEFAULT_SET
from eval.report import evaluate


def test_eval_over_http_writes_results_and_report(live_server: str, tmp_path: Path) -> None:
    lines = DEFAULT_SET.read_text().splitlines()
    chosen = [line for line in lines if json.loads(line)["id"] in {"q001", "q002", "q126", "q155"}]
    mine = tmp_path / "mine.jsonl"
    mine.write_text("\n".join(chosen) + "\n")
    result = evaluate([mine], url=live_server, out=tmp_path / "out", plots=False)
    assert result["url"] == live_server and result["answer_cache"] == "none"
    assert [r["id"] for r in result["records"]] == ["q001", "q002", "q126", "q155"]
    q001 = result["records"][0]
    assert q001["hit"] == 1.0 and [list(c) for c in q001["cited"]] == [["peterborough-ilacs-2023", "judgements"]]
    assert q001["latency_ms"] > 0
    summary = result["summary"]["ofsted-qa"]["all"]
    assert summary["questions"] == 4 and summary["hit_rate"]["n"] == 2
    assert (tmp_path / "out" / "report.md").read_text().startswith("# ofsted-qa evaluation")
    again = evaluate([mine], url=live_server, out=tmp_path / "again", plots=False)
    assert again["summary"]["ofsted-qa"]["all"]["hit_rate"] == summary["hit_rate"]  # same figures twice


def test_authority_checks_count_wrong_authority_and_stale_citations() -> None:
    from eval.dataset import Question
    from eval.run import Output, authority_checks, score

    reports = {
        "hull-2023": ("Kingston upon Hull", "2023-01-13"),
        "hull-2026": ("Kingston upon Hull", "2026-05-18"),
        "york-2024": ("York", "2024-02-01"),
    }
    q = Question.model_validate(
        {
            "id": "x1",
            "type": "la-current",
            "split": "test",
            "question": "Is there a hub for care leavers in Hull?",
            "answerable": True,
            "must": [],
            "gold": [{"document_id": "hull-2026", "paragraph": "38", "quote": "hub"}],
        }
    )
    cited = [("hull-2026", "38"), ("hull-2023", "31"), ("york-2024", "5")]
    record = score(q, Output(answer="", answerable=True, cited=cited), "s", {})
    checks = authority_checks([record], [q], reports)
    assert checks["citations_checked"] == 3
    assert checks["wrong_authority"] == 1 and checks["wrong_authority_questions"] == ["x1"]
    assert checks["stale"] == 1 and checks["stale_questions"] == ["x1"]
    assert record.precision == 1 / 3 and record.precision_with_history == 1 / 3

    # the same older paragraph shown apart as an earlier report's finding: history, not a citation of the answer
    shown = Output(answer="", answerable=True, cited=[cited[0], cited[2]], history=[cited[1]])
    as_history = score(q, shown, "s", {})
    assert as_history.precision == 1 / 2 and as_history.precision_with_history == 1 / 3
    checks = authority_checks([as_history], [q], reports)
    assert checks["stale"] == 0 and checks["older_shown_as_history"] == 1 and checks["citations_checked"] == 3


def test_ceiling_counts_direct_answers_as_answered_and_the_rest_by_gold_rank() -> None:
    from eval.ceiling import CeilingRow, ceiling, gold_rank, summary

    assert gold_rank([("r", "1"), ("r", "2"), ("s", "2")], {("s", "2"), ("r", "2")}) == 1
    assert gold_rank([("r", "1")], {("r", "9")}) is None
    rows = [
        CeilingRow("a", "test", direct=True, hit=1.0, gold_rank=None),  # a grade read from the table
        CeilingRow("b", "test", direct=True, hit=0.0, gold_rank=None),  # refused before retrieval
        CeilingRow("c", "test", direct=False, hit=0.0, gold_rank=3),
        CeilingRow("d", "test", direct=False, hit=1.0, gold_rank=9),
        CeilingRow("e", "test", direct=False, hit=0.0, gold_rank=None),
    ]
    assert [ceiling(rows, d) for d in (3, 4, 9, 10, 30)] == [0.2, 0.4, 0.4, 0.6, 0.6]
    figures = summary(rows, depths=(4, 10))
    assert figures["answered_without_reranker"] == 2 and figures["of_which_hit"] == 1
    assert figures["hit_rate"] == 0.4 and figures["ceiling"] == {"4": 0.4, "10": 0.6}


def test_ceiling_rows_read_the_first_stage_the_answer_was_reranked_from(engine: Engine) -> None:
    from eval.ceiling import ceiling_rows
    from eval.dataset import Question

    def question(id_: str, text: str, gold: list[tuple[str, str, str]]) -> Question:
        return Question.model_validate(
            {
                "id": id_,
                "type": "finding",
                "split": "dev",
                "question": text,
                "answerable": True,
                "gold": [{"document_id": d, "paragraph": p, "quote": q} for d, p, q in gold],
            }
        )

    grade = question("g", "How were care leavers judged in 2023?", [("peterborough-ilacs-2023", "judgements", "care")])
    finding = question(
        "f", "Has rising demand stretched current service capacity?", [("peterborough-ilacs-2023", "11", "capacity")]
    )
    candidates = engine.candidates(finding.question)
    keys = [h.chunk.key for h in candidates]
    assert len(keys) == len(set(keys)) >= 8  # both branches' top 30, fused without duplicates
    rows = ceiling_rows(
        [grade, finding],
        lambda q, history: engine.ask(q, history=history),
        lambda q, history: engine.candidates(q, history=history),
        engine.require_index().resolve_id,
    )
    assert rows[0].direct and rows[0].hit == 1.0 and rows[0].gold_rank is None
    assert not rows[1].direct and rows[1].gold_rank == keys.index(("peterborough-ilacs-2023", "11"))
    assert engine.candidates("How is Camden doing for care leavers?") == []  # no indexed report in scope


def test_test_split_reports_aggregates_only(live_server: str, tmp_path: Path) -> None:
    lines = [json.loads(line) for line in DEFAULT_SET.read_text().splitlines()]
    sealed = [{**q, "split": "test"} for q in lines if q["id"] in {"q001", "q126"}]
    mine = tmp_path / "sealed.jsonl"
    mine.write_text("\n".join(json.dumps(q) for q in sealed) + "\n")
    out = tmp_path / "out"
    result = evaluate([mine], url=live_server, split="test", out=out, plots=False)
    assert result["records"] == [] and result["summary"]["ofsted-qa"]["all"]["questions"] == 2
    written = (out / "results.json").read_text() + (out / "report.md").read_text()
    assert "q001" not in written and "q126" not in written
    assert not (out / "metrics.png").exists()


def test_eval_refuses_a_split_other_than_dev_or_test() -> None:
    import pytest

    from eval.dataset import DatasetError, load_questions
    from eval.report import select

    with pytest.raises(DatasetError, match="--split must be dev or test, not 'all'"):
        select(load_questions(DEFAULT_SET), "all")
    assert select(load_questions(DEFAULT_SET), "test") == []
