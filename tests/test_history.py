"""Over time: grade history answered from every inspection's table, and the current position before history."""

from __future__ import annotations

import json

import httpx

from api.citations import supports
from api.engine import Engine
from api.scope import resolve_scope
from indexer.models import Citation


def test_grade_history_since_a_year_cites_each_inspections_table(history: Engine) -> None:
    answer = history.ask("How has Peterborough's overall effectiveness changed since 2018?")
    assert answer.answerable
    cited = [answer.citations[s.citations[0]] for s in answer.sentences]
    assert [c.paragraph for c in cited] == ["judgements", "judgements"]
    assert [c.inspection_dates[-1].year for c in cited] == [2018, 2023]
    assert "judged good" in answer.sentences[0].text and "judged inadequate" in answer.sentences[1].text


def test_grade_history_spans_frameworks_without_inventing_grades(history: Engine) -> None:
    answer = history.ask("How have care leavers been judged over time in Peterborough?")
    texts = [s.text for s in answer.sentences]
    assert len(texts) == 3, texts  # 2015 (old framework), 2018 (care leavers graded with children in care), 2023
    assert "2015" in texts[0] and "requires improvement to be good" in texts[0]
    assert "children in care and care leavers was judged good" in texts[1]
    assert "care leavers was judged inadequate" in texts[2]


def test_no_overall_grade_is_said_not_invented_and_plain_wording_reads_the_table(history: Engine) -> None:
    overall = history.ask("What overall effectiveness grade did Brent receive at its 2026 inspection?")
    assert not overall.answerable and "gave no overall effectiveness grade" in overall.answer
    assert [(c.document_id, c.paragraph) for c in overall.closest] == [("brent-inspection-2026-06-17", "judgements")]
    rated = history.ask("How did Ofsted rate Brent's services for care leavers most recently?")
    assert [(c.document_id, c.paragraph) for c in rated.citations] == [("brent-inspection-2026-06-17", "judgements")]
    assert "care leavers was judged good" in rated.answer
    effective = history.ask("How effective overall are Peterborough's children's services now, according to Ofsted?")
    assert "overall effectiveness was judged inadequate" in effective.answer


def _table(text: str) -> Citation:
    return Citation(
        document_id="x",
        paragraph="judgements",
        section="",
        page=None,
        text=text,
        score=1.0,
        local_authority="X",
        kind="inspection",
        inspection_dates=[],
    )


def test_grade_sentences_are_checked_against_the_printed_table() -> None:
    new_format = _table("The experiences and progress of children in care: Good\nThe impact of leaders: Good")
    assert supports("The X inspection (2026) gave no grade for overall effectiveness.", new_format)
    assert not supports(
        "The X inspection (2026) gave no grade for the experiences and progress of children in care.", new_format
    )
    old_format = _table("Experiences and progress of care leavers: Requires improvement")
    assert supports("In the X inspection (2015), care leavers was judged requires improvement to be good.", old_format)
    assert not supports("In the X inspection (2015), care leavers was judged inadequate.", old_format)


def test_the_current_position_comes_first_and_older_reports_are_marked_history(history: Engine) -> None:
    questions = [
        # asked of every report ('over the years'): an untimed question is about the current position only
        "What have inspectors said about the emergency duty team in Peterborough over the years?",
        "How well have personal advisers supported care leavers in Peterborough over time?",
        "What have inspectors ever found about private fostering in Peterborough?",
        "Have social workers' caseloads been manageable in Peterborough over the years?",
    ]
    flagged = 0
    for question in questions:
        answer = history.ask(question)
        if answer.earlier:
            flagged += 1
            # the answer's citations are the current position; older reports are shown apart, as history
            newest = max(c.inspection_dates[-1] for c in answer.citations)
            assert all(c.inspection_dates[-1] < newest for c in answer.earlier_citations)
            assert not any(s.earlier for s in answer.sentences) and all(s.earlier for s in answer.earlier)
            assert all(0 <= i < len(answer.earlier_citations) for s in answer.earlier for i in s.citations)
            assert "Earlier reports: " in answer.answer
    assert flagged >= 1  # the history index holds six Peterborough reports: some answers span them
    dated = history.ask("What did the 2023 inspection say about the emergency duty team in Peterborough?")
    assert not dated.earlier and not any(s.earlier for s in dated.sentences)
    # untimed: the current position (the newest inspection and the visits since) answers, nothing older
    now = history.ask("What did inspectors say about the emergency duty team in Peterborough?")
    newest_inspection = max(
        r.ends
        for r in history.require_index().reports.values()
        if r.kind == "inspection" and "peterborough" in r.document_id
    )
    assert now.citations and all(c.inspection_dates[-1] >= newest_inspection for c in now.citations)
    assert not now.earlier


def test_an_inspection_stays_current_until_the_next_unless_a_later_visit_answers_as_well(history: Engine) -> None:
    from api.compose import earlier_reports
    from indexer.models import Hit

    index = history.require_index()
    reports = sorted((r for r in index.reports.values() if r.local_authority == "Peterborough"), key=lambda r: r.ends)
    latest = max((r for r in reports if r.kind == "inspection"), key=lambda r: r.ends)
    assert any(r.kind != "inspection" and r.ends > latest.ends for r in reports)  # a visit since it

    def hits(latest_score: float) -> list[Hit]:
        return [
            Hit(
                chunk=index.chunk_of(r.document_id, r.paragraphs[0].label),
                score=latest_score if r is latest else 0.9,
                branch="reranked",
            )
            for r in reports
        ]

    before = {r.document_id for r in reports if r.ends < latest.ends}
    question = "What did inspectors say about supervision?"
    # the latest inspection answers better than the visit since: it stays the current position with the visit
    assert before and earlier_reports(question, hits(0.95), index) == before
    # the visit since answers as well: it is the current position, and the inspection history
    assert earlier_reports(question, hits(0.8), index) == before | {latest.document_id}
    # only visits cited: the newest is the current position
    visits = [h for h in hits(0.9) if index.reports[h.chunk.document_id].kind != "inspection"]
    newest_visit = max((r for r in reports if r.kind != "inspection"), key=lambda r: r.ends)
    assert earlier_reports(question, visits, index) == {h.chunk.document_id for h in visits} - {
        newest_visit.document_id
    }
    # a question naming a time has no history
    assert earlier_reports("What did the 2023 inspection say about supervision?", hits(0.9), index) == set()
    # a question asking how things are now: only the newest cited report is the answer, however well others score
    newest = max(reports, key=lambda r: r.ends)
    still = "Is supervision still irregular?"
    assert earlier_reports(still, hits(0.95), index) == {r.document_id for r in reports} - {newest.document_id}


def test_streamed_sentences_carry_the_history_flag(history_server: str) -> None:
    body = {"question": "What did inspectors say about the emergency duty team in Peterborough?"}
    with httpx.Client(base_url=history_server, timeout=60) as client:
        text = client.post("/ask/stream", json=body).text
    events = [
        (block.split("\n")[0].removeprefix("event: "), json.loads(block.split("\n")[1].removeprefix("data: ")))
        for block in text.strip().split("\n\n")
    ]
    sentences = [data for name, data in events if name == "sentence"]
    done = next(data for name, data in events if name == "done")
    shown = done["sentences"] + done["earlier"]  # the current position, then the history
    assert [s["earlier"] for s in sentences] == [s["earlier"] for s in shown]
    assert [s["text"] for s in sentences] == [s["text"] for s in shown]
    for event, sentence in zip(sentences[len(done["sentences"]) :], done["earlier"], strict=True):
        assert event["citations"] == [done["earlier_citations"][i] for i in sentence["citations"]]


def test_the_last_and_the_previous_inspection_mean_one_report_each(history: Engine) -> None:
    index = history.require_index()
    inspections = sorted(
        (r for r in index.reports.values() if r.local_authority == "Peterborough" and r.kind == "inspection"),
        key=lambda r: r.ends,
    )
    last = history.ask("What did the last inspection say about private fostering in Peterborough?")
    assert last.answerable and {c.document_id for c in last.citations} == {inspections[-1].document_id}
    previous = history.ask("What did the previous inspection say about private fostering in Peterborough?")
    assert previous.answerable and {c.document_id for c in previous.citations} == {inspections[-2].document_id}
    visit = history.ask("What did the latest focused visit say about the front door in Peterborough?")
    newest_visit = max(
        (r for r in index.reports.values() if r.kind == "focused visit" and r.local_authority == "Peterborough"),
        key=lambda r: r.ends,
    )
    assert visit.answerable and {c.document_id for c in visit.citations} == {newest_visit.document_id}


def test_the_second_focused_visit_is_one_report_and_a_missing_third_is_refused(history: Engine) -> None:
    index = history.require_index()
    visits = sorted(
        (r for r in index.reports.values() if r.local_authority == "Peterborough" and r.kind == "focused visit"),
        key=lambda r: r.ends,
    )
    assert len(visits) == 2  # 2021 and 2023 in tests/data
    second = history.ask("What did Peterborough's second focused visit say about the front door?")
    assert second.answerable and {c.document_id for c in second.citations} == {visits[1].document_id}
    third = history.ask("What did the third focused visit say about the front door in Peterborough?")
    assert not third.answerable and not third.citations
    assert "the third focused visit" in third.answer
    # 'a second visit' from a social worker is not a report
    home = resolve_scope("Do children get a second visit from their social worker in Peterborough?", index, None)
    assert {v.document_id for v in visits} <= set(home.filters.document_ids or [])


def test_the_report_before_or_after_a_year_is_that_one_report(history: Engine) -> None:
    from api.scope import resolve_scope

    index = history.require_index()
    mine = sorted((r for r in index.reports.values() if r.local_authority == "Peterborough"), key=lambda r: r.ends)
    inspections = [r for r in mine if r.kind == "inspection"]
    last = inspections[-1].ends.year
    scope = resolve_scope(f"In Peterborough's inspection before the {last} one, what needed to improve?", index, None)
    assert scope.filters.document_ids == [inspections[-2].document_id]
    first = inspections[0].ends.year
    after = resolve_scope(f"What did the visit after the {first} inspection find in Peterborough?", index, None)
    visits = [r for r in mine if r.kind != "inspection" and r.ends.year > first]
    assert after.filters.document_ids == [visits[0].document_id]
    none = resolve_scope(f"What did Peterborough's inspection before {first} say?", index, None)
    assert (
        none.filters.document_ids == []
        and not history.ask(f"What did Peterborough's inspection before {first} say?").answerable
    )


def test_a_month_and_year_pick_the_one_report_of_that_month(history: Engine) -> None:
    import calendar

    from api.scope import resolve_scope

    index = history.require_index()
    mine = [r for r in index.reports.values() if r.local_authority == "Peterborough"]
    by_year: dict[int, list[str]] = {}
    for report in mine:
        for day in {*report.inspection_dates, *([report.published] if report.published else [])}:
            by_year.setdefault(day.year, []).append(report.document_id)
    year = next(y for y, ids in sorted(by_year.items()) if len(set(ids)) > 1)  # a year with two reports
    for report in (r for r in mine if year in {d.year for d in r.inspection_dates}):
        day = report.inspection_dates[0]
        question = (
            f"What did Ofsted find about care leavers in Peterborough in {calendar.month_name[day.month]} {year}?"
        )
        assert resolve_scope(question, index, None).filters.document_ids == [report.document_id], question
    # the year alone still means every report of that year
    assert len(resolve_scope(f"What did Ofsted find in Peterborough in {year}?", index, None).filters.document_ids) > 1
