"""Parse the national corpus and check grades and metadata against the scraper's `reports.csv`.

    .venv/bin/python -m eval.grades /work/shared/corpus --out eval/grades

parses every PDF under the corpus folder (two processes), writes `<out>/parse_report.json` (one entry per file:
paragraphs found, numbered range and gaps, grades, metadata, warnings, seconds), then compares field by field with
`<corpus>/reports.csv` and writes `<out>/agreement.json` and `<out>/../GRADES.md`. Extraction never reads the csv:
`parse_file` only sees the PDF; the csv is read afterwards, by `compare`, for the comparison alone.

Each disagreement carries the PDF line (and page) that decides it, found by searching the PDF's own lines (not our
parse of them), and a verdict: which side the printed line supports.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import multiprocessing
import pickle
import re
import time
import unicodedata
from pathlib import Path
from typing import Any

from indexer.parse import (
    AREAS,
    Line,
    clean_line,
    document_id_for,
    page_lines,
    parse_lines,
    pdf_pages,
)

GRADE_FIELDS = {
    "overall_effectiveness_grade": "overall_effectiveness",
    "impact_of_leaders_grade": "impact_of_leaders",
    "help_and_protection_grade": "help_and_protection",
    "in_care_grade": "in_care",
    "care_leavers_grade": "care_leavers",
}
FIELDS = [
    *GRADE_FIELDS,
    "inspection_start_date",
    "inspection_end_date",
    "inspector_name",
    "local_authority",
    "published",
]
CSV_MARKERS = {"data_unreadable", "inspection_pre_dates_judgement", "not_reported_post_reform"}
AREA_PATTERNS = dict(AREAS)


# ---------------------------------------------------------------- extraction (never reads reports.csv)


def _pages(path: Path, cache: Path | None) -> list[tuple[float, list[dict[str, Any]]]]:
    """pdfplumber's lines of a PDF, from a pickle cache keyed by the file's hash when one is given."""
    if cache is None:
        return pdf_pages(path)
    key = hashlib.sha256(path.read_bytes()).hexdigest()[:20]
    hit = cache / f"{key}.pkl"
    if hit.exists():
        cached: list[tuple[float, list[dict[str, Any]]]] = pickle.loads(hit.read_bytes())  # noqa: S301 - ours
        return cached
    pages = pdf_pages(path)
    hit.write_bytes(pickle.dumps(pages))
    return pages


def _missing_explained(missing: list[int], lines: list[Line]) -> dict[str, str]:
    """Say, for each number missing from the numbered paragraphs, whether the PDF prints it at all."""
    out: dict[str, str] = {}
    for n in missing:
        pat = re.compile(rf"(?:^|\s){n}\.\s+[A-Z]")
        hit = next((ln for ln in lines if pat.search(clean_line(ln.text))), None)
        if hit is None:
            out[str(n)] = "not printed in the PDF (the report's own numbering skips it)"
        else:
            out[str(n)] = f"printed on page {hit.page} but not split out: {clean_line(hit.text)[:160]!r}"
    return out


def parse_file(path_and_cache: tuple[str, str | None]) -> dict[str, Any]:
    """Parse one PDF; return its parse-report entry plus the raw lines used for evidence (key `_lines`)."""
    path = Path(path_and_cache[0])
    cache = Path(path_and_cache[1]) if path_and_cache[1] else None
    start = time.perf_counter()
    entry: dict[str, Any] = {"document_id": document_id_for(path), "file": str(path)}
    try:
        lines = page_lines(_pages(path, cache))
        report = parse_lines(lines, document_id_for(path), source=str(path))
        if not any(p.label not in {"header", "judgements"} for p in report.paragraphs):
            raise ValueError("no report paragraphs found")
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the run
        entry.update(error=f"{type(exc).__name__}: {exc}", parse_seconds=round(time.perf_counter() - start, 3))
        entry["_lines"] = []
        return entry
    numbers = sorted(int(p.label) for p in report.paragraphs if p.label.isdigit())
    missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers)) if numbers else []
    labels = [p.label for p in report.paragraphs]
    entry.update(
        title=report.title,
        local_authority=report.local_authority,
        kind=report.kind,
        inspection_dates=[d.isoformat() for d in report.inspection_dates],
        published=report.published.isoformat() if report.published else None,
        lead_inspector=report.inspectors[0] if report.inspectors else None,
        inspectors=report.inspectors,
        grades=report.judgements,
        paragraphs=len(report.paragraphs),
        labels={
            "numbered": len(numbers),
            "p": sum(1 for x in labels if re.fullmatch(r"p\d+", x)),
            "improve": sum(1 for x in labels if x.startswith("improve-")),
            "priority": sum(1 for x in labels if x.startswith("priority-")),
            "other": [x for x in labels if not re.fullmatch(r"\d+|p\d+|improve-\d+|priority-\d+|header|judgements", x)],
        },
        numbered_range=[numbers[0], numbers[-1]] if numbers else None,
        numbered_gaps=missing,
        gaps_explained=_missing_explained(missing, lines),
        pages=max((ln.page or 0) for ln in lines),
        words=sum(len(p.text.split()) for p in report.paragraphs),
        warnings=report.warnings,
        parse_seconds=round(time.perf_counter() - start, 3),
    )
    entry["_lines"] = [(ln.page, clean_line(ln.text)) for ln in lines if ln.text.strip()]
    return entry


# ---------------------------------------------------------------- comparison (reads reports.csv)


def norm_grade(value: str | None) -> str:
    """'Requires improvement to be good', 'requires improvement', 'to requires improvement' → 'requires improvement'."""
    v = re.sub(r"\s+", " ", (value or "").strip().lower())
    for grade in ("outstanding", "good", "inadequate"):
        if v == grade:
            return grade
    if "requires improvement" in v:
        return "requires improvement"
    return v


def norm_name(value: str | None) -> str:
    """Case, accents kept; spaces around hyphens and repeated spaces dropped ('Jenny -ellen' = 'Jenny-Ellen')."""
    v = unicodedata.normalize("NFC", (value or "").strip()).casefold()
    v = re.sub(r"\s*-\s*", "-", v)
    return re.sub(r"\s+", " ", v)


# Printed short forms and the csv's own spellings of the same authority (the comparison's only name resolution).
LA_ALIASES = {
    "hull": "kingston upon hull",
    "newcastle": "newcastle upon tyne",
    "east riding": "east riding of yorkshire",
    "city of london": "london corporation",
}


def norm_la(value: str | None) -> str:
    """Case, '&'/'and', punctuation and a leading 'the' ignored; LA_ALIASES applied."""
    v = (value or "").casefold().replace("&", " and ")
    v = re.sub(r"[^a-z0-9]+", " ", v).strip()
    v = re.sub(r"^the ", "", v)
    return LA_ALIASES.get(v, v)


def csv_date(value: str) -> str:
    """'18/02/2019' → '2019-02-18'; ISO dates unchanged."""
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value.strip())
    if m:
        return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1))).isoformat()
    return value.strip()


def ours_for(entry: dict[str, Any], field: str) -> str | None:
    value = _ours_for(entry, field)
    return None if value is None else str(value)


def _ours_for(entry: dict[str, Any], field: str) -> Any:
    if field in GRADE_FIELDS:
        return entry.get("grades", {}).get(GRADE_FIELDS[field])
    if field == "inspection_start_date":
        return (entry.get("inspection_dates") or [None])[0]
    if field == "inspection_end_date":
        return (entry.get("inspection_dates") or [None])[-1]
    if field == "inspector_name":
        return entry.get("lead_inspector")
    return entry.get(field)


def same(field: str, ours: str | None, theirs: str) -> bool:
    if ours is None:
        return False
    if field in GRADE_FIELDS:
        return norm_grade(ours) == norm_grade(theirs)
    if field in {"inspection_start_date", "inspection_end_date", "published"}:
        return ours == csv_date(theirs)
    if field == "inspector_name":
        return norm_name(ours) == norm_name(theirs)
    if field == "local_authority":
        return norm_la(ours) == norm_la(theirs)
    return ours == theirs


_GRADE_WORD = re.compile(r"outstanding|good|inadequate|requires improvement", re.I)
_MONTH_DATE = re.compile(r"\d{1,2}(?:st|nd|rd|th)? [A-Z][a-z]+ \d{4}")


def evidence(field: str, lines: list[tuple[int | None, str]]) -> list[tuple[int | None, str]]:
    """The PDF lines that show this field, searched in the PDF's own lines (first hits, page order)."""
    hits: list[tuple[int | None, str]] = []
    if field in GRADE_FIELDS:
        pat = AREA_PATTERNS[GRADE_FIELDS[field]]
        for i, (page, text) in enumerate(lines):
            if pat.search(text) and (
                _GRADE_WORD.search(text.split(":")[-1]) or (text.startswith("Overall") and len(text) < 60)
            ):
                hits.append((page, text.replace("\t", " | ")))
                # a wrapped table row prints its grade on a neighbouring line
                for j in (i - 1, i + 1):
                    if 0 <= j < len(lines) and "\t" in lines[j][1] and _GRADE_WORD.search(lines[j][1]):
                        hits.append((lines[j][0], lines[j][1].replace("\t", " | ")))
            if len(hits) >= 3:
                break
        if not hits and GRADE_FIELDS[field] in {"care_leavers", "in_care"}:  # the combined 2018-2022 row shows both
            for i, (page, text) in enumerate(lines):
                if "\t" in text and re.search(r"care leavers|children in care", text) and i > 0:
                    hits = [(lines[i - 1][0], lines[i - 1][1].replace("\t", " | ")), (page, text.replace("\t", " | "))]
                    break
        if not hits:  # the table row as printed, whatever its wording
            hits = [(p, t.replace("\t", " | ")) for p, t in lines if "\t" in t][:8]
    elif field in {"inspection_start_date", "inspection_end_date"}:
        pat = re.compile(r"(inspection|visit) dates?|dates? of (inspection|visit)|inspected|took place|between", re.I)
        hits = [
            (p, t)
            for p, t in lines[:120]
            if pat.search(t) and _MONTH_DATE.search(t) or re.match(r"Inspection dates?", t, re.I)
        ][:2]
    elif field == "inspector_name":
        hits = [
            (p, t)
            for p, t in lines[:160]
            if re.search(r"inspector", t, re.I) and not re.search(r"inspectors (found|saw|met|spoke)", t)
        ][:2]
    elif field == "local_authority":
        hits = [(p, t) for p, t in lines[:30] if re.search(r"children's services|local authority", t, re.I)][:1]
    elif field == "published":
        hits = [(p, t) for p, t in lines[:40] if re.fullmatch(r"(#+ )?" + _MONTH_DATE.pattern, t)][:1]
    return hits[:4]


def verdict(field: str, ours: str | None, theirs: str, quoted: list[tuple[int | None, str]]) -> str:
    """Which side the quoted PDF lines support: 'ours', 'csv', or 'unclear' (explained in GRADES.md's notes)."""
    text = " ".join(t for _, t in quoted)
    low = text.lower()
    if field in GRADE_FIELDS:
        printed = {norm_grade(m.group(0)) for m in _GRADE_WORD.finditer(text)}
        o, c = norm_grade(ours), norm_grade(theirs)
        if ours is None:
            return "csv" if c in printed else "unclear"
        if o in printed and c not in printed:
            return "ours"
        if c in printed and o not in printed:
            return "csv"
        return "unclear"
    if field in {"inspection_start_date", "inspection_end_date", "published"}:

        def shows(iso: str | None) -> bool:
            if not iso:
                return False
            d = dt.date.fromisoformat(iso)
            return bool(re.search(rf"\b{d.day}(?:st|nd|rd|th)?\b", text)) and d.strftime("%B") in text

        a, b = shows(ours), shows(csv_date(theirs))
        return "ours" if a and not b else "csv" if b and not a else "unclear"
    if field == "inspector_name":
        a = bool(ours) and norm_name(ours) in norm_name(text)
        b = norm_name(theirs) in norm_name(text)
        return "ours" if a and not b else "csv" if b and not a else "unclear"
    if field == "local_authority":
        a = bool(ours) and norm_la(ours) in norm_la(low)
        b = norm_la(theirs) in norm_la(low)
        return "ours" if a and not b else "csv" if b and not a else "unclear"
    return "unclear"


def compare(entries: list[dict[str, Any]], csv_path: Path) -> dict[str, Any]:
    """Agreement per field with reports.csv, and every disagreement with its PDF evidence."""
    with csv_path.open(newline="", encoding="utf-8") as f:
        rows = {r["document_id"]: r for r in csv.DictReader(f)}
    per_field: dict[str, dict[str, Any]] = {
        f: {"compared": 0, "agree": 0, "skipped_markers": 0, "skipped_empty": 0} for f in FIELDS
    }
    disagreements: list[dict[str, Any]] = []
    not_in_csv: list[str] = []
    for entry in entries:
        row = rows.get(entry["document_id"])
        if row is None:
            not_in_csv.append(entry["document_id"])
            continue
        for field in FIELDS:
            theirs = (row.get(field) or "").strip()
            if theirs in CSV_MARKERS:
                per_field[field]["skipped_markers"] += 1
                continue
            if not theirs:
                per_field[field]["skipped_empty"] += 1
                continue
            ours = ours_for(entry, field)
            per_field[field]["compared"] += 1
            if same(field, ours, theirs):
                per_field[field]["agree"] += 1
                continue
            quoted = evidence(field, entry.get("_lines", []))
            disagreements.append(
                {
                    "document_id": entry["document_id"],
                    "field": field,
                    "ours": ours,
                    "csv": theirs,
                    "pdf_lines": [{"page": p, "line": t} for p, t in quoted],
                    "supports": verdict(field, ours, theirs, quoted),
                }
            )
            note = NOTES.get((entry["document_id"], field))
            if note:  # read by hand on the quoted page: the note says which side the PDF supports
                disagreements[-1]["supports"] = (
                    "ours" if note.startswith(("Ours is right", "The csv is wrong")) else "csv"
                )
                disagreements[-1]["note"] = note
    for stats in per_field.values():
        stats["rate"] = round(stats["agree"] / stats["compared"], 4) if stats["compared"] else None
    grade_n = sum(per_field[f]["compared"] for f in GRADE_FIELDS)
    grade_a = sum(per_field[f]["agree"] for f in GRADE_FIELDS)
    return {
        "fields": per_field,
        "grades_overall": {
            "compared": grade_n,
            "agree": grade_a,
            "rate": round(grade_a / grade_n, 4) if grade_n else None,
        },
        "disagreements": disagreements,
        "not_in_csv": not_in_csv,
    }


# ---------------------------------------------------------------- reporting


# Why a disagreement stands, by (document id, field): written after reading the PDF page quoted.
NOTES: dict[tuple[str, str], str] = {
    ("nottingham-inspection-2022-09-05", "care_leavers_grade"): (
        "The csv is wrong. Inspected July 2022, before care leavers were judged separately: page 1's table prints "
        "'The experiences and progress of | Requires improvement to be good' / 'children in care and care leavers' "
        "(one combined judgement, which we record as in_care) and 'Overall effectiveness | Inadequate'. No care "
        "leavers grade is printed; the csv's 'inadequate' is the overall grade shifted into the wrong column."
    ),
    ("redcar-and-cleveland-inspection-2022-09-22", "care_leavers_grade"): (
        "The csv is wrong. Page 1 prints 'The experiences and progress of | Requires improvement to be good' / "
        "'children in care and care leavers' (a combined judgement, recorded as in_care) then 'Overall "
        "effectiveness | Requires improvement to be good'; there is no separate care leavers row, so the csv should "
        "say inspection_pre_dates_judgement (its 'requires improvement' is the overall grade in the wrong column)."
    ),
    ("st-helens-inspection-2023-09-04", "help_and_protection_grade"): (
        "Ours is right. Page 1's table prints 'The experiences and progress of | Requires improvement to be good' / "
        "'children who need help and protection'; the csv's grades for this report are shifted by one row "
        "(it has good / requires improvement / good where the PDF prints requires improvement / good / outstanding)."
    ),
    ("st-helens-inspection-2023-09-04", "in_care_grade"): (
        "Ours is right. Page 1: 'The experiences and progress of | Good' / 'children in care'; page 5's heading: "
        "'The experiences and progress of children in care: good'."
    ),
    ("st-helens-inspection-2023-09-04", "care_leavers_grade"): (
        "Ours is right. Page 1: 'The experiences and progress of care | Outstanding' / 'leavers'; page 7's heading: "
        "'The experiences and progress of care leavers: outstanding'."
    ),
}


def markdown(agreement: dict[str, Any], entries: list[dict[str, Any]], seconds: float, cached: bool = False) -> str:
    failures = [e for e in entries if "error" in e]
    timing = (
        f"{seconds:.0f} s with 2 processes, pdfplumber's pages read from a development cache (`--cache`); "
        "an uncached run reads every PDF with pdfplumber: about 14 minutes on a 2-CPU machine"
        if cached
        else f"{seconds:.0f} s with 2 processes"
    )
    out = [
        "# Grades and metadata: our parser against reports.csv",
        "",
        "Generated by `.venv/bin/python -m eval.grades /work/shared/corpus --out eval/grades` "
        f"({len(entries)} PDFs, {len(failures)} parse failures; {timing}).",
        "`reports.csv` comes from an independent scraper (a proof of concept); it is a second opinion, not truth.",
        "Its markers (`data_unreadable`, `inspection_pre_dates_judgement`, `not_reported_post_reform`) and empty",
        "cells are skipped. Grades are compared after normalising spellings (`Requires improvement to be good` =",
        "`requires improvement`); names ignoring case and the spacing around hyphens; local authorities ignoring",
        "case, punctuation and `&`/`and`; dates as calendar dates.",
        "",
        "## Agreement per field",
        "",
        "| field | compared | agree | rate | skipped (markers) | skipped (empty) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for field, s in agreement["fields"].items():
        rate = f"{100 * s['rate']:.1f}%" if s["rate"] is not None else "-"
        out.append(
            f"| {field} | {s['compared']} | {s['agree']} | {rate} | {s['skipped_markers']} | {s['skipped_empty']} |"
        )
    g = agreement["grades_overall"]
    out += ["", f"All five grades together: {g['agree']} / {g['compared']} ({100 * (g['rate'] or 0):.1f}%).", ""]
    dis = agreement["disagreements"]
    out += [f"## Remaining disagreements ({len(dis)})", ""]
    if not dis:
        out.append("None.")
    for d in dis:
        note = NOTES.get((d["document_id"], d["field"]), "")
        side = {"ours": "the PDF supports our value", "csv": "the PDF supports the csv", "unclear": "see note"}[
            d["supports"]
        ]
        out.append(f"- **{d['document_id']}** `{d['field']}`: ours `{d['ours']}`, csv `{d['csv']}`: {side}.")
        for q in d["pdf_lines"]:
            out.append(f'  - page {q["page"]}: "{q["line"]}"')
        if note:
            out.append(f"  - {note}")
    out += ["", "## Parse failures", ""]
    out += [f"- {e['document_id']}: {e['error']}" for e in failures] or ["None."]
    gaps = [e for e in entries if e.get("numbered_gaps")]
    out += ["", f"## Gaps in paragraph numbering ({len(gaps)} reports)", ""]
    for e in gaps:
        for n, why in e["gaps_explained"].items():
            out.append(f"- {e['document_id']} #{n}: {why}")
    if not gaps:
        out.append("None.")
    dups = [e for e in entries if e.get("labels", {}).get("other")]
    out += ["", f"## Paragraph numbers printed twice ({len(dups)} reports; the second is labelled `N-2`)", ""]
    out += [f"- {e['document_id']}: {', '.join(e['labels']['other'])}" for e in dups] or ["None."]
    out += [
        "",
        "## How the metadata are read",
        "",
        "- local_authority: the printed name in the title (or the cover line above 'Inspection of children's social",
        "  care services', or a letter's first paragraph when its title names none) minus generic words: a leading",
        "  'the', 'London Borough of', 'Royal Borough of', 'Council of the', 'City of' (not 'City of London'), and",
        "  trailing 'Metropolitan', 'Borough', 'City', 'County', 'District', 'Council', 'Trust'. Printed short forms",
        f"  are kept ('Hull', 'Newcastle', 'East Riding'); the comparison maps them: {LA_ALIASES}.",
        "- Grades: the judgement table (2018-2026), its rows assembled by position (a grade printed beside the middle",
        "  of a wrapped area, or wrapped itself, joins its row). 2018-2022 reports judge children in care and care",
        "  leavers together: recorded as in_care, no care_leavers. Post-April-2026 reports print four judgements and",
        "  no overall effectiveness: none is recorded. 2015-2018 single inspection framework reports: 'Children's",
        "  services in X require improvement to be good' → overall_effectiveness, 'Leadership, management and",
        "  governance' → impact_of_leaders, 'Children looked after and achieving permanence' → in_care (adoption",
        "  performance stays in the judgements paragraph only).",
        "- inspection dates: the 'Inspection dates:' line (first range when two are printed), else a letter's first",
        "  paragraph; published: 'Report published:' or the letter's date where printed, else the file name's date;",
        "  lead inspector: the first name on the 'Lead inspector:' line, roles removed, else a letter's 'inspectors",
        "  were …', else (2015-2018) 'The inspection team' page.",
    ]
    return "\n".join(out) + "\n"


def run(corpus: Path, out: Path, processes: int = 2, cache: Path | None = None) -> dict[str, Any]:
    """Parse every PDF under `corpus`, write the parse report, the agreement and GRADES.md; return the agreement."""
    files = sorted(corpus.rglob("*.pdf"))
    out.mkdir(parents=True, exist_ok=True)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    args = [(str(p), str(cache) if cache else None) for p in files]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        entries = pool.map(parse_file, args, chunksize=1)
    seconds = time.perf_counter() - start
    public = [{k: v for k, v in e.items() if k != "_lines"} for e in entries]
    failures = [e["document_id"] for e in entries if "error" in e]
    (out / "parse_report.json").write_text(
        json.dumps(
            {
                "corpus": str(corpus),
                "files": len(entries),
                "failures": failures,
                "seconds": round(seconds, 1),
                "pdf_cache": str(cache) if cache else None,  # with a cache, parse_seconds exclude pdfplumber's reading
                "reports": public,
            },
            indent=1,
        )
    )
    agreement = compare(entries, corpus / "reports.csv")
    (out / "agreement.json").write_text(json.dumps(agreement, indent=1))
    (out.parent / "GRADES.md").write_text(markdown(agreement, entries, seconds, cached=cache is not None))
    return agreement


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m eval.grades", description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path, help="folder holding the PDFs (searched recursively) and reports.csv")
    ap.add_argument("--out", type=Path, default=Path("eval/grades"), help="where the JSON outputs go")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=None, help="pickle pdfplumber's pages here (development)")
    ns = ap.parse_args(argv)
    agreement = run(ns.corpus, ns.out, ns.processes, ns.cache)
    for field, s in agreement["fields"].items():
        print(f"{field:30} {s['agree']:4}/{s['compared']:<4} {100 * (s['rate'] or 0):6.2f}%")  # noqa: T201
    print(f"disagreements: {len(agreement['disagreements'])}")  # noqa: T201


if __name__ == "__main__":
    main()
