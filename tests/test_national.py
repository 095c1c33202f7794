"""Authorities, filters and grades as data: resolution among all English authorities, /judgements, lists."""

from __future__ import annotations

import httpx
import pytest

from indexer.authorities import find_authorities, load_authorities
from indexer.errors import NotFoundError
from indexer.store import Filters


def test_all_english_authorities_with_aliases_are_known() -> None:
    assert len(load_authorities()) == 156
    assert [a.name for a in find_authorities("How is Hull doing?")] == ["Kingston upon Hull"]
    assert [a.name for a in find_authorities("what about BCP")] == ["Bournemouth, Christchurch and Poole"]
    assert [a.name for a in find_authorities("North East Lincolnshire v Lincolnshire")] == [
        "North East Lincolnshire",
        "Lincolnshire",
    ]
    assert find_authorities("children's reading age and bury the past") == []
    assert [a.name for a in find_authorities("Reading's care leavers")] == ["Reading"]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("In Brighton's 2018 inspection", ["Brighton and Hove"]),
        ("care leavers in Southend", ["Southend-on-Sea"]),
        ("How is Bath doing?", ["Bath and North East Somerset"]),
        ("a warm bath and barking dogs", []),  # names that are everyday words count only when capitalised
        ("how are kids in care in southend doing", ["Southend-on-Sea"]),  # other names in any case
        ("Kingston's front door", ["Kingston upon Thames"]),  # everyday name (authority_aliases.json); Hull is 'Hull'
        ("apprenticeships with East Riding council", ["East Riding of Yorkshire"]),  # the part before 'of'
        ("care leavers in the east riding", ["East Riding of Yorkshire"]),
        ("Cheshire West's Intervention Hub", ["Cheshire West and Chester"]),  # two capitalised words
        ("children on Scilly and the Wight ferry", ["Isles of Scilly", "Isle of Wight"]),
        ("the City of London", ["City of London"]),
        ("across London", []),  # London is not the City of London
    ],
)
def test_the_first_part_of_a_compound_name_names_the_authority(text: str, names: list[str]) -> None:
    assert [a.name for a in find_authorities(text)] == names


def test_question_about_an_authority_not_indexed_is_refused_naming_what_is(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("What did inspectors say about care leavers in Hull?")
    assert not answer.answerable and answer.citations == []
    assert answer.answer.startswith("No indexed report matches Kingston upon Hull.")
    assert "Peterborough monitoring visit (21 to 22 January 2025)" in answer.answer


def test_unknown_filter_values_are_rejected_with_valid_ones(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError, match="Unknown kind 'letter'. Use one of: inspection, monitoring visit"):
        engine.ask("How is the MASH?", filters=Filters(kind="letter"))
    with pytest.raises(NotFoundError, match="No indexed reports for local authority 'Hull'. Indexed: Peterborough."):
        engine.ask("How is the MASH?", filters=Filters(local_authority="Hull"))


def test_filter_restricts_the_answer_to_one_report(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("What about the emergency duty team?", filters=Filters(kind="inspection"))
    assert answer.answerable
    assert {c.document_id for c in answer.citations} == {"peterborough-ilacs-2023"}


def test_which_councils_question_is_answered_from_the_grades(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("Which councils were judged inadequate for care leavers in 2023?")
    assert answer.answerable
    assert answer.sentences[0].text == (
        "Among the 1 inspections indexed in 2023, 1 judged inadequate for the experiences and progress of care leavers."
    )
    assert [(c.document_id, c.paragraph) for c in answer.citations] == [("peterborough-ilacs-2023", "judgements")]
    none = engine.ask("Which councils were judged outstanding for care leavers?")
    assert not none.answerable and none.answer.startswith("Among the 1 inspections indexed, 0 judged")


def test_judgements_endpoint_json_and_csv(live_server: str) -> None:
    rows = httpx.get(f"{live_server}/judgements", params={"local_authority": "peterborough"}).json()
    assert [(r["area"], r["grade"]) for r in rows] == [
        ("impact_of_leaders", "Requires improvement to be good"),
        ("help_and_protection", "Requires improvement to be good"),
        ("in_care", "Requires improvement to be good"),
        ("care_leavers", "Inadequate"),
        ("overall_effectiveness", "Inadequate"),
    ]
    assert rows[0]["citation"] == "/reports/peterborough-ilacs-2023/paragraphs/judgements"
    inadequate = httpx.get(f"{live_server}/judgements", params={"grade": "inadequate", "year": 2023}).json()
    assert {r["area"] for r in inadequate} == {"care_leavers", "overall_effectiveness"}
    csv_text = httpx.get(f"{live_server}/judgements", params={"area": "care_leavers", "format": "csv"}).text
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("document_id,local_authority,kind,inspection_dates")
    assert "Open Government Licence" in lines[1] and "Inadequate" in lines[1]
    bad = httpx.get(f"{live_server}/judgements", params={"area": "mash"})
    assert bad.status_code == 404 and "Use one of: impact_of_leaders" in bad.json()["detail"]
