"""Understand: dates that name reports against dates of events, 'since', ungraded kinds, services out of remit.

Written from the rules' descriptions, not from any evaluation question.
"""

from __future__ import annotations

import datetime as dt

from api.scope import resolve_scope
from api.understand import (
    asks_for_grade,
    event_dates,
    outside_remit,
    referenced_reports,
    report_references,
    reports_since,
    ungraded_only,
)
from indexer.models import Report


def _report(doc: str, kind: str, start: dt.date) -> Report:
    return Report(document_id=doc, local_authority="Anytown", kind=kind, inspection_dates=[start, start], paragraphs=[])  # type: ignore[arg-type]


REPORTS = [
    _report("anytown-inspection-2019", "inspection", dt.date(2019, 5, 13)),
    _report("anytown-focused-visit-2022", "focused visit", dt.date(2022, 3, 8)),
    _report("anytown-inspection-2024", "inspection", dt.date(2024, 1, 22)),
    _report("anytown-focused-visit-2025", "focused visit", dt.date(2025, 10, 1)),
]


def test_a_date_attached_to_a_report_word_names_a_report() -> None:
    refs = report_references("What did the 2025 focused visit say about care leavers?")
    assert [(r.kind, r.year, r.month, r.since) for r in refs] == [("focused visit", 2025, None, False)]
    refs = report_references("In the inspection of March 2024, were strategy meetings timely?")
    assert [(r.kind, r.year, r.month) for r in refs] == [("inspection", 2024, 3)]
    assert event_dates("In the inspection of March 2024, were strategy meetings timely?") == []


def test_a_date_of_an_event_names_no_report() -> None:
    question = "After the front door moved to a new building in March 2023, did contacts get screened faster?"
    assert report_references(question) == []
    assert [(d.year, d.month) for d in event_dates(question)] == [(2023, 3)]


def test_a_named_kind_and_year_selects_that_report_only() -> None:
    (ref,) = report_references("Had things improved by the 2025 focused visit?")
    assert [r.document_id for r in referenced_reports(ref, REPORTS)] == ["anytown-focused-visit-2025"]


def test_since_a_report_that_is_not_indexed_means_the_reports_after_it() -> None:
    (ref,) = report_references("What has got better since the 2021 inspection?")
    assert ref.since
    assert [r.document_id for r in reports_since(ref, REPORTS)] == [
        "anytown-focused-visit-2022",
        "anytown-inspection-2024",
        "anytown-focused-visit-2025",
    ]
    (indexed,) = report_references("What has changed since the 2024 inspection?")
    assert [r.document_id for r in reports_since(indexed, REPORTS)] == [
        "anytown-inspection-2024",
        "anytown-focused-visit-2025",
    ]


def test_grades_asked_of_visits_only() -> None:
    assert asks_for_grade("What rating did the focused visit give?")
    assert not asks_for_grade("How well did the focused visit say care leavers are doing?")
    assert ungraded_only(REPORTS[1:2]) and not ungraded_only(REPORTS[:2]) and not ungraded_only([])


def test_services_outside_childrens_social_care_are_out_of_remit() -> None:
    assert outside_remit("How good is adult social care in Anytown?") == "adult social care"
    assert outside_remit("What are the school ratings like in Anytown?") == "school inspections"
    assert outside_remit("Do care leavers move smoothly to adult services?") is None  # children's services' work
    assert outside_remit("How are children in care doing at school?") is None


def test_event_date_with_no_report_that_month_keeps_the_scope(engine) -> None:  # type: ignore[no-untyped-def]
    index = engine.require_index()
    scope = resolve_scope(
        "After the new duty team started in March 2023, were Peterborough's visits on time?", index, None
    )
    assert scope.filters.document_ids != []


def test_named_visit_is_the_scope_even_in_a_comparison(engine) -> None:  # type: ignore[no-untyped-def]
    index = engine.require_index()
    scope = resolve_scope("Had Peterborough's front door improved by the 2025 monitoring visit?", index, None)
    assert scope.filters.document_ids == ["peterborough-monitoring-visit-2025"]


def test_since_an_unindexed_inspection_answers_from_the_later_reports(engine) -> None:  # type: ignore[no-untyped-def]
    index = engine.require_index()
    scope = resolve_scope("What has improved in Peterborough since the 2018 inspection?", index, None)
    assert scope.filters.document_ids is None or set(scope.filters.document_ids) == set(index.reports)


def test_a_grade_asked_of_a_visit_says_visits_give_no_grades(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("What grade did the 2025 monitoring visit give Peterborough?")
    assert not answer.answerable and answer.citations == []
    assert "gives no judgement grades" in answer.answer


def test_a_question_about_adult_social_care_is_refused_as_out_of_remit(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("How is adult social care rated in Peterborough?")
    assert not answer.answerable and answer.citations == []
    assert "do not cover adult social care" in answer.answer


def test_asked_how_things_are_now_means_the_newest_inspection_and_the_visits_since() -> None:
    from api.scope import asks_current_position, current_position

    for question in (
        "Is Anytown still short of foster carers?",
        "What is the position on care leavers at the moment?",
        "Is Anytown rated outstanding after its latest Ofsted?",
    ):
        assert asks_current_position(question), question
    for question in (
        "Is it better now than in 2019?",  # a comparison needs both reports
        "What did the latest inspection say about care leavers?",  # names its report: which_report picks it
        "Were care leavers well supported?",
    ):
        assert not asks_current_position(question), question
    assert [r.document_id for r in current_position(REPORTS)] == [
        "anytown-inspection-2024",
        "anytown-focused-visit-2025",
    ]
    visits_only = [r for r in REPORTS if r.kind == "focused visit"]
    assert current_position(visits_only) == visits_only  # no inspection indexed: every report stands


def test_everyday_names_of_authorities_name_them_in_any_case_unless_an_everyday_word() -> None:
    from indexer.authorities import everyday_aliases, find_authorities, load_authorities

    names = {la.name for la in load_authorities()}
    assert set(everyday_aliases().values()) <= names  # every alias points at an authority in the DfE table
    assert [la.name for la in find_authorities("Are care leavers in South Glos housed well?")] == [
        "South Gloucestershire"
    ]
    assert [la.name for la in find_authorities("Kingston's fostering service")] == ["Kingston upon Thames"]
    assert [la.name for la in find_authorities("Kingston upon Hull's fostering service")] == ["Kingston upon Hull"]
    assert [la.name for la in find_authorities("does kingston stop helping care leavers at 21")] == [
        "Kingston upon Thames"
    ]
    assert [la.name for la in find_authorities("how are south glos rated for care leavers")] == [
        "South Gloucestershire"
    ]
    assert [la.name for la in find_authorities("what did brum get overall")] == ["Birmingham"]
    assert find_authorities("The manager bucks the trend") == []  # an everyday word counts only capitalised
    assert [la.name for la in find_authorities("Bucks care leavers")] == ["Buckinghamshire"]


def test_acronyms_are_understood_where_any_report_spells_them_out() -> None:
    from indexer.acronyms import defined_acronyms

    table = defined_acronyms(
        [
            "Risks of female genital mutilation (FGM) are recognised.",
            "The multi-agency safeguarding hub (MASH) screens contacts. Personal advisers (PAs) keep in touch.",
            "Staff use the signs of safety model (SoS) and the Public Law Outline (PLO).",
            "Leaders (the council) agreed.",  # brackets that define nothing
        ]
    )
    assert table["FGM"] == "female genital mutilation"
    assert table["MASH"] == "multi-agency safeguarding hub"  # the shortest run of words that fits
    assert table["PAs"] == "personal advisers"
    assert table["PLO"] == "public law outline"
    assert "council" not in " ".join(table)


def test_only_a_question_about_grades_is_answered_from_the_judgement_table() -> None:
    from api.understand import about_grades

    for question in (
        "How were care leavers judged at the latest inspection?",
        "How did Ofsted rate services for children in care?",
        "Is Anytown still rated outstanding?",
        "It came out good overall, but which area was only RI?",
    ):
        assert about_grades(question), question
    for question in (
        "Is the leaving care team still snowed under?",
        "Have children in care changed the words professionals use about them?",  # names an area, asks no grade
    ):
        assert not about_grades(question), question


def test_a_what_needs_to_improve_point_gives_way_unless_improvement_is_asked() -> None:
    from api.compose import is_recommendation

    assert is_recommendation("What happens after a child who ran away comes back?", ("anytown-inspection", "improve-1"))
    assert not is_recommendation("What needs to improve for care leavers?", ("anytown-inspection", "improve-1"))
    assert not is_recommendation("What happens after a child comes back?", ("anytown-inspection", "12"))
