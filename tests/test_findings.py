"""Findings over Peterborough's real history (2015, 2018, 2023 inspections; 2021, 2023 focused visits; 2025 letter)
and one real peer (Luton, a statistical neighbour in the same region), against gold written from the reports first."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.cli import app
from api.engine import Engine
from api.findings import FindingsRequest, TopicMatcher, lexical_score, topic_terms
from eval.findings import DEFAULT_TOPICS, evaluate_findings, load_topics
from indexer.errors import NotFoundError, QuestionError

THRESHOLDS = Path(__file__).resolve().parent.parent / "eval" / "thresholds.json"


def returned(findings) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(c.document_id, c.paragraph) for g in findings.groups for r in g.reports for c in r.paragraphs}


@pytest.mark.parametrize("topic_id", ["f07", "f13"])
def test_gold_topics_return_every_about_paragraph_and_nothing_off_topic(history: Engine, topic_id: str) -> None:
    topic = next(t for t in load_topics() if t.id == topic_id)
    index = history.require_index()
    about = {(index.resolve_id(g.document_id), g.paragraph) for g in topic.about}
    allowed = about | {(index.resolve_id(g.document_id), g.paragraph) for g in topic.mentions}
    got = returned(history.findings(FindingsRequest(topic=topic.topic, local_authority="Peterborough")))
    assert about <= got, sorted(about - got)
    assert got <= allowed, sorted(got - allowed)


def test_virtual_school_findings_come_from_exactly_the_gold_reports(history: Engine) -> None:
    topic = next(t for t in load_topics() if t.id == "f13")
    index = history.require_index()
    findings = history.findings(FindingsRequest(topic=topic.topic, local_authority="Peterborough"))
    reports = [r.document_id for g in findings.groups for r in g.reports]
    assert set(reports) == {index.resolve_id(g.document_id) for g in topic.about}


def test_findings_quality_on_all_gold_topics_stays_above_the_floors(history: Engine) -> None:
    floors = json.loads(THRESHOLDS.read_text())["findings"]
    index = history.require_index()
    result = evaluate_findings(load_topics(DEFAULT_TOPICS), history.findings, index.resolve_id)
    summary = result["summary"]["all"]
    assert summary["topics"] >= 10
    assert summary["recall"] >= floors["recall"], summary
    assert summary["precision"] >= floors["precision"], summary


def test_findings_over_time_are_oldest_first_with_grade_history(history: Engine) -> None:
    findings = history.findings(FindingsRequest(topic="emergency duty team", local_authority="Peterborough"))
    [group] = findings.groups
    assert group.local_authority == "Peterborough" and group.role == "requested"
    ends = [r.inspection_dates[-1] for r in group.reports]
    assert ends == sorted(ends) and len(ends) >= 2
    assert [r.latest for r in group.reports].count(True) <= 1
    latest = [r for r in group.reports if r.latest]
    assert not latest or latest[0] is group.reports[-1]
    for report in group.reports:
        first = report.paragraphs[0]
        assert report.summary in first.text  # one sentence copied from its most relevant paragraph
        assert report.summary_paragraph == first.paragraph
        scores = [c.score for c in report.paragraphs]
        assert scores == sorted(scores, reverse=True)
    # grade history: every indexed inspection, oldest first, each citing its judgement table
    years = [g.inspection_dates[-1].year for g in group.grade_history]
    assert years == sorted(years) and {2018, 2023} <= set(years)
    graded_2023 = next(g for g in group.grade_history if g.inspection_dates[-1].year == 2023)
    assert graded_2023.grades["Overall effectiveness"] == "Inadequate"
    assert graded_2023.citation.endswith("/paragraphs/judgements")


def test_filters_narrow_findings_by_kind_and_date(history: Engine) -> None:
    visits = history.findings(FindingsRequest(topic="MASH", local_authority="Peterborough", kind="focused visit"))
    assert {r.kind for g in visits.groups for r in g.reports} == {"focused visit"}
    since = history.findings(FindingsRequest(topic="MASH", local_authority="Peterborough", since="2023-01-01"))
    assert all(r.inspection_dates[-1].year >= 2023 for g in since.groups for r in g.reports)
    assert (
        since.reports_searched
        < history.findings(FindingsRequest(topic="MASH", local_authority="Peterborough")).reports_searched
    )


def test_compare_with_statistical_neighbours_and_region(history: Engine) -> None:
    for compare, role in (("statistical_neighbours", "statistical neighbour"), ("region", "region")):
        findings = history.findings(
            FindingsRequest(topic="care leavers", local_authority="Peterborough", compare_with=compare)
        )
        roles = {g.local_authority: g.role for g in findings.groups}
        assert roles["Peterborough"] == "requested"
        assert roles["Luton"] == role
        assert "No indexed report" in findings.note  # the peers that are not indexed are named
    neighbours = history.findings(
        FindingsRequest(topic="care leavers", local_authority="Peterborough", compare_with="statistical_neighbours")
    )
    assert "Coventry" in neighbours.note and "Thurrock" in neighbours.note


def test_without_an_authority_findings_span_authorities(history: Engine) -> None:
    findings = history.findings(FindingsRequest(topic="care leavers' personal advisers"))
    assert {g.role for g in findings.groups} == {"all"}
    assert {"Peterborough", "Luton"} <= {g.local_authority for g in findings.groups}


def test_bad_findings_requests_say_what_to_change(history: Engine) -> None:
    with pytest.raises(QuestionError, match="needs local_authority"):
        history.findings(FindingsRequest(topic="MASH", compare_with="region"))
    with pytest.raises(NotFoundError, match="Indexed: .*Peterborough"):
        history.findings(FindingsRequest(topic="MASH", local_authority="Hull"))
    with pytest.raises(NotFoundError, match="Use one of"):
        history.findings(FindingsRequest(topic="MASH", kind="audit"))
    with pytest.raises(QuestionError, match="50,000 characters"):
        history.findings(FindingsRequest(topic="x" * 50_000))


def test_glossary_expands_topics_and_scores_a_passing_mention_below_a_finding() -> None:
    terms = topic_terms("MASH")
    assert "multi-agency safeguarding hub" in terms and "front door" in terms
    assert topic_terms("MASH", expand=False) == ["MASH"]
    matcher = TopicMatcher.of(terms)
    about = "The front door is effective. Decisions in the MASH are timely. Thresholds are understood."
    passing = "Leaders have improved supervision. Audits are regular. Staff, including those in the MASH, are trained."
    assert lexical_score(about, matcher) > lexical_score(passing, matcher) > 0
    assert lexical_score("Nothing about it here.", matcher) == 0


def test_findings_over_http_as_json_markdown_and_csv(history_server: str) -> None:
    body = {"topic": "private fostering", "local_authority": "Peterborough"}
    with httpx.Client(base_url=history_server, timeout=60) as client:
        data = client.post("/findings", json=body).json()
        markdown = client.post("/findings?format=markdown", json=body)
        table = client.post("/findings?format=csv", json=body)
        bad = client.post("/findings", json={"topic": "MASH", "local_authority": "Nowhere"})
        glossary = client.get("/glossary").json()
    paragraphs = [c for g in data["groups"] for r in g["reports"] for c in r["paragraphs"]]
    assert paragraphs
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "# What inspectors said about: private fostering" in markdown.text
    assert "Open Government Licence v3.0" in markdown.text
    assert all(f"**Para {c['paragraph']}**" in markdown.text for c in paragraphs)
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [(r["document_id"], r["paragraph"]) for r in rows] == [
        (c["document_id"], c["paragraph"]) for c in paragraphs
    ]
    assert all("Open Government Licence" in r["source"] for r in rows)
    assert bad.status_code == 404 and "Indexed:" in bad.json()["detail"]
    mash = next(e for e in glossary if e["term"] == "MASH")
    assert mash["expansion"] == "multi-agency safeguarding hub" and "front door" in mash["synonyms"]
    assert all(e["meaning"] and e["source"] for e in glossary) and len(glossary) >= 20


def test_findings_from_the_cli_in_every_format(history: Engine) -> None:
    index = str(history.settings.index.dir)
    runner = CliRunner()
    args = ["findings", "private fostering", "--la", "Peterborough", "--index", index]
    markdown = runner.invoke(app, [*args, "--format", "markdown"])
    assert markdown.exit_code == 0, markdown.output
    assert "## Peterborough" in markdown.output and "Open Government Licence" in markdown.output
    table = runner.invoke(app, [*args, "--format", "csv"])
    assert table.output.splitlines()[0].startswith("local_authority,role,document_id")
    data = json.loads(runner.invoke(app, [*args, "--format", "json"]).output)
    assert data["groups"][0]["local_authority"] == "Peterborough"
    wrong = runner.invoke(app, [*args, "--format", "pdf"])
    assert wrong.exit_code == 1 and "use markdown, csv or json" in wrong.output
