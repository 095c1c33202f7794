"""Parser: labels, joined paragraphs, grades, metadata and no page furniture, for both seeds and the PDF."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from indexer.errors import ReportParseError
from indexer.models import Report
from indexer.parse import parse_report
from tests.conftest import PDF_INSPECTION, SEED_INSPECTION, SEED_LETTER

INSPECTION_LABELS = [
    "header",
    "judgements",
    "p1",
    "p2",
    *[f"improve-{i}" for i in range(1, 9)],
    *[str(i) for i in range(1, 53)],
]
LETTER_LABELS = ["header", *[f"p{i}" for i in range(1, 21)]]
GRADES = {
    "impact_of_leaders": "Requires improvement to be good",
    "help_and_protection": "Requires improvement to be good",
    "in_care": "Requires improvement to be good",
    "care_leavers": "Inadequate",
    "overall_effectiveness": "Inadequate",
}
FURNITURE = re.compile(
    r"Piccadilly Gate|0300 123 1231|enquiries@ofsted|Yours sincerely|Dear John|Open Government Licence"
    r"|Office for Standards in Education|copying this letter|Sand Martin House|PE2 8TY"
    r"|Inspection of Peterborough local authority children's services \d|27 November to 8 December 2023 \d",
)


@pytest.fixture(scope="module")
def inspection() -> Report:
    return parse_report(SEED_INSPECTION)


@pytest.fixture(scope="module")
def letter() -> Report:
    return parse_report(SEED_LETTER)


@pytest.fixture(scope="module")
def pdf() -> Report:
    return parse_report(PDF_INSPECTION)


def words(report: Report, label: str) -> tuple[str, str]:
    paragraph = report.paragraph(label)
    assert paragraph is not None, label
    tokens = paragraph.text.split()
    return tokens[0], tokens[-1]


def test_inspection_labels_are_exact(inspection: Report, pdf: Report) -> None:
    assert [p.label for p in inspection.paragraphs] == INSPECTION_LABELS
    assert [p.label for p in pdf.paragraphs] == INSPECTION_LABELS


def test_letter_labels_are_exact(letter: Report) -> None:
    assert [p.label for p in letter.paragraphs] == LETTER_LABELS


@pytest.mark.parametrize("which", ["inspection", "pdf"])
def test_parse_joins_paragraph_split_by_page_break(which: str, request: pytest.FixtureRequest) -> None:
    report: Report = request.getfixturevalue(which)
    eleven = report.paragraph("11")
    assert eleven is not None
    assert "which has stretched current service capacity" in eleven.text
    assert words(report, "11") == ("The", "escalate.")
    assert report.paragraph("12") is not None and report.paragraph("12").text.startswith(
        "Homeless 16- and 17-year-olds"
    )


def test_letter_joins_paragraph_split_by_page_break(letter: Report) -> None:
    p17 = letter.paragraph("p17")
    assert p17 is not None
    assert "do not have to wait until assessments are completed to receive help and support." in p17.text
    assert words(letter, "p17") == ("Children's", "practice.")


@pytest.mark.parametrize("which", ["inspection", "pdf"])
def test_first_and_last_words_of_sample_paragraphs(which: str, request: pytest.FixtureRequest) -> None:
    report: Report = request.getfixturevalue(which)
    assert words(report, "p1") == ("Since", "recently.")
    assert words(report, "1") == ("Children", "interventions.")
    assert words(report, "7") == ("When", "them.")
    assert words(report, "34") == ("When", "trauma.")
    assert words(report, "52") == ("Despite", "Peterborough.")
    assert words(report, "improve-8") == ("The", "care.")


def test_letter_bullets_join_their_lead_in(letter: Report) -> None:
    p2 = letter.paragraph("p2")
    assert p2 is not None
    assert p2.text.startswith("During this visit, inspectors reviewed")
    assert p2.text.count("\n- ") == 4
    assert words(letter, "p20") == ("Staff", "flourish.")
    assert words(letter, "p1") == ("This", "Cobarzan.")


@pytest.mark.parametrize("which", ["inspection", "pdf"])
def test_five_grades(which: str, request: pytest.FixtureRequest) -> None:
    report: Report = request.getfixturevalue(which)
    assert report.judgements == GRADES
    table = report.paragraph("judgements")
    assert table is not None
    assert "The experiences and progress of care leavers: Inadequate" in table.text
    assert "Overall effectiveness: Inadequate" in table.text


@pytest.mark.parametrize("which", ["inspection", "letter", "pdf"])
def test_no_page_furniture_inside_paragraphs(which: str, request: pytest.FixtureRequest) -> None:
    report: Report = request.getfixturevalue(which)
    for paragraph in report.paragraphs:
        assert not FURNITURE.search(paragraph.text), (paragraph.label, paragraph.text[:200])
        assert not re.search(r"\s\d{1,2}$", paragraph.text), paragraph.label  # no trailing page number


def test_pdf_text_matches_seed_text(inspection: Report, pdf: Report) -> None:
    def norm(s: str) -> str:
        return re.sub(r"\s+", " ", s.replace("\u2019", "'")).strip()

    for a, b in zip(inspection.paragraphs, pdf.paragraphs, strict=True):
        if a.label == "header":
            continue
        assert norm(a.text) == norm(b.text), a.label


def test_pdf_paragraphs_know_their_page_and_section(pdf: Report) -> None:
    assert pdf.paragraph("1").page == 2
    assert pdf.paragraph("11").page == 3  # starts on page 3, ends on page 4
    assert pdf.paragraph("14").page == 4
    assert pdf.paragraph("32").section.startswith("The experiences and progress of care leavers")


def test_inspection_metadata(inspection: Report, pdf: Report) -> None:
    for report in (inspection, pdf):
        assert report.local_authority == "Peterborough"
        assert report.kind == "inspection"
        assert report.inspection_dates == [dt.date(2023, 11, 27), dt.date(2023, 12, 8)]
        assert report.inspectors == ["Russel Breyer"]
        assert report.identity == inspection.identity
    assert pdf.published == dt.date(2024, 1, 30)
    assert inspection.document_id == "peterborough-ilacs-2023"


def test_letter_metadata(letter: Report) -> None:
    assert letter.kind == "monitoring visit"
    assert letter.local_authority == "Peterborough"
    assert letter.inspection_dates == [dt.date(2025, 1, 21), dt.date(2025, 1, 22)]
    assert letter.published == dt.date(2025, 2, 20)
    assert letter.inspectors == ["Nicki Shaw", "Rodica Cobarzan"]
    assert letter.judgements == {}
    assert letter.paragraph("header").text.startswith("Monitoring visit to Peterborough children's services")


def test_labels_are_stable_across_parses() -> None:
    assert [p.model_dump() for p in parse_report(SEED_LETTER).paragraphs] == [
        p.model_dump() for p in parse_report(SEED_LETTER).paragraphs
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "not a readable PDF"),
        ("empty.txt", b"", "no report paragraphs found"),
        ("latin1.txt", "caf\xe9 \xff".encode("latin-1"), "not UTF-8"),
        ("report.docx", b"PK\x03\x04", "unsupported file type"),
    ],
)
def test_bad_files_raise_a_clear_error(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReportParseError, match=message) as info:
        parse_report(path)
    assert str(path) in str(info.value)
