"""Parser on layouts of the national corpus: 2015 single inspection framework, 2019 ILACS with a wrapped grade
column, the post-April-2026 four-judgement format (no overall grade) and a focused-visit letter.

The PDFs are real Ofsted reports (Crown copyright, Open Government Licence v3.0) copied into tests/data so that
these tests never read /work/shared.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from indexer.models import Report
from indexer.parse import authority_name, parse_report
from tests.conftest import DATA

RI = "Requires improvement to be good"


def load(name: str) -> Report:
    return parse_report(DATA / f"{name}.pdf")


@pytest.fixture(scope="module")
def brent() -> Report:
    return load("brent-inspection-2026-06-17")


@pytest.fixture(scope="module")
def derbyshire() -> Report:
    return load("derbyshire-inspection-2019-09-19")


@pytest.fixture(scope="module")
def camden() -> Report:
    return load("camden-focused-visit-2023-12-05")


@pytest.fixture(scope="module")
def peterborough_2015() -> Report:
    return load("peterborough-inspection-2015-09-18")


def words(report: Report, label: str) -> tuple[str, str]:
    paragraph = report.paragraph(label)
    assert paragraph is not None, label
    tokens = paragraph.text.split()
    return tokens[0], tokens[-1]


# ---------------------------------------------------------------- 2026: four judgements, no overall grade


def test_new_format_has_four_grades_and_no_overall(brent: Report) -> None:
    assert brent.judgements == {
        "impact_of_leaders": "Good",
        "help_and_protection": "Good",
        "in_care": "Good",
        "care_leavers": "Good",
    }
    assert "overall_effectiveness" not in brent.judgements
    table = brent.paragraph("judgements")
    assert table is not None and "Overall" not in table.text
    assert "The experiences and progress of care leavers: Good" in table.text


def test_new_format_metadata(brent: Report) -> None:
    assert brent.local_authority == "Brent"
    assert brent.kind == "inspection"
    assert brent.inspection_dates == [dt.date(2026, 4, 27), dt.date(2026, 5, 1)]
    assert brent.inspectors == ["Monique Lindsay"]
    assert brent.published == dt.date(2026, 6, 17)  # from the file name: not printed on the report


def test_new_format_labels(brent: Report) -> None:
    labels = [p.label for p in brent.paragraphs]
    assert labels[:9] == ["header", "judgements", "p1", "p2", "p3", *[f"improve-{i}" for i in range(1, 5)]]
    assert labels[9:] == [str(i) for i in range(1, 58)]
    assert brent.warnings == []


def test_paragraph_joined_across_page_break_and_footnote_dropped(brent: Report) -> None:
    three = brent.paragraph("3")
    assert three is not None and three.page == 2
    assert words(brent, "3") == ("The", "missed.")
    assert "insufficient consideration of repeat contacts" in three.text
    assert "National Framework" not in three.text  # the footnote printed under it on page 2
    improve = brent.paragraph("improve-1")
    assert improve is not None and improve.section == "What needs to improve?"  # footnote mark '1' removed


# ---------------------------------------------------------------- 2019: grades beside wrapped areas


def test_wrapped_grade_column(derbyshire: Report) -> None:
    assert derbyshire.judgements == {
        "impact_of_leaders": "Good",
        "help_and_protection": RI,
        "in_care": RI,
        "overall_effectiveness": RI,  # printed 'Requires improvement' above the row, 'to be good' below it
    }
    table = derbyshire.paragraph("judgements")
    assert table is not None
    assert "Overall effectiveness: Requires improvement to be good" in table.text
    assert "The experiences and progress of children in care and care leavers: Requires improvement to be good" in (
        table.text
    )


def test_cover_with_authority_above_subtitle(derbyshire: Report) -> None:
    assert derbyshire.title == "Derbyshire County Council: Inspection of children's social care services"
    assert derbyshire.local_authority == "Derbyshire"
    assert derbyshire.kind == "inspection"
    assert derbyshire.inspection_dates == [dt.date(2019, 7, 8), dt.date(2019, 7, 12)]
    assert derbyshire.inspectors == ["Julie Knight"]  # 'Julie Knight Her Majesty's Inspector' on two bold lines
    labels = [p.label for p in derbyshire.paragraphs]
    assert labels[-44:] == [str(i) for i in range(1, 45)]
    assert words(derbyshire, "4") == ("Although", "work.")


# ---------------------------------------------------------------- focused-visit letter


def test_focused_visit_letter(camden: Report) -> None:
    assert camden.kind == "focused visit"
    assert camden.local_authority == "Camden"  # title has no name: read from the first paragraph
    assert camden.inspection_dates == [dt.date(2023, 10, 31), dt.date(2023, 11, 1)]
    assert camden.published == dt.date(2023, 12, 5)
    assert camden.inspectors == ["Naintara Khosla", "Russel Breyer"]
    assert camden.judgements == {}
    labels = [p.label for p in camden.paragraphs]
    assert labels[0] == "header" and "judgements" not in labels
    assert not any(x.isdigit() for x in labels)  # letters' paragraphs are not numbered
    assert {"improve-1", "improve-2", "p20"} <= set(labels)
    assert words(camden, "p1") == ("This", "Breyer.")


# ---------------------------------------------------------------- 2015 single inspection framework


def test_single_inspection_framework_cover(peterborough_2015: Report) -> None:
    r = peterborough_2015
    assert r.local_authority == "Peterborough"
    assert r.kind == "inspection"
    assert r.inspection_dates == [dt.date(2015, 4, 13), dt.date(2015, 5, 8)]
    assert r.published == dt.date(2015, 9, 18)  # 'Report published: 18 September 2015'
    assert r.inspectors == ["Nigel Parkes"]  # from 'The inspection team' on the last page
    assert r.judgements == {
        "overall_effectiveness": RI,
        "help_and_protection": RI,
        "in_care": RI,
        "care_leavers": RI,
        "impact_of_leaders": RI,
    }
    table = r.paragraph("judgements")
    assert table is not None
    assert "Children looked after and achieving permanence: Requires improvement" in table.text
    assert "Adoption performance: Good" in table.text
    assert r.paragraph("p1") is not None and r.paragraph("p1").text.startswith("There are no widespread")


# ---------------------------------------------------------------- every layout


@pytest.mark.parametrize(
    "name",
    ["brent", "derbyshire", "camden", "peterborough_2015"],
)
def test_no_running_headers_footers_or_page_numbers(name: str, request: pytest.FixtureRequest) -> None:
    report: Report = request.getfixturevalue(name)
    furniture = re.compile(
        r"Inspection of Brent local authority children's services \d|27 April to 1 May 2026"
        r"|Piccadilly Gate|enquiries@ofsted|0300 123 1231|Yours sincerely|Crown copyright"
        r"|Derbyshire County Council Inspection of children's social care services"
    )
    for paragraph in report.paragraphs:
        if paragraph.label == "header":
            continue
        assert not furniture.search(paragraph.text), (paragraph.label, paragraph.text[:200])
        assert not re.search(r"\s\d{1,2}$", paragraph.text), (paragraph.label, paragraph.text[-80:])


@pytest.mark.parametrize(
    ("printed", "name"),
    [
        ("Kingston upon Hull City Council", "Kingston upon Hull"),
        ("the London Borough of Barking and Dagenham", "Barking and Dagenham"),
        ("City of Bradford Metropolitan District Council", "Bradford"),
        ("City of London", "City of London"),
        ("Royal Borough of Windsor and Maidenhead", "Windsor and Maidenhead"),
        ("Council of the Isles of Scilly", "Isles of Scilly"),
        ("Telford and Wrekin Council", "Telford and Wrekin"),
    ],
)
def test_authority_name_drops_generic_words(printed: str, name: str) -> None:
    assert authority_name(printed) == name


@pytest.mark.parametrize(
    "name",
    ["luton-focused-visit-2024-09-09.pdf", "brent-inspection-2026-06-17.pdf", "derbyshire-inspection-2019-09-19.pdf"],
)
def test_pdfium_reads_what_pdfplumber_reads(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast reader (pdfium, the default) gives the same lines and the same report as pdfplumber itself."""
    import indexer.parse as parse

    path = DATA / name
    fast, slow = parse.pdf_pages_pdfium(path), parse.pdf_pages_plumber(path)
    assert [round(h, 2) for h, _ in fast] == [round(h, 2) for h, _ in slow]
    for (_, mine), (_, theirs) in zip(fast, slow, strict=True):
        assert [(r["text"], r["size"], r["bold"]) for r in mine] == [(r["text"], r["size"], r["bold"]) for r in theirs]
        assert max((abs(a["top"] - b["top"]) for a, b in zip(mine, theirs, strict=True)), default=0.0) < 0.05
    monkeypatch.setattr(parse, "PDF_BACKEND", "pdfplumber")
    reference = parse_report(path)
    monkeypatch.setattr(parse, "PDF_BACKEND", "pdfium")
    assert parse_report(path) == reference
