"""Compare the two PDF readers (pdfium, the default, and pdfplumber) through the whole parser.

Each PDF is parsed twice by `indexer.parse.parse_report`, once per backend (`parse.PDF_BACKEND`), and the two
Reports are compared: identical, or which labels only one has, which paragraphs' text differs (whitespace
collapsed, with a short word diff), which metadata or grades differ. Timings are the whole `parse_report` per
backend, taken one after the other in this process.

    .venv/bin/python -m eval.compare_pdf_backends tests/data /work/shared/corpus --limit 60 --json out.jsonl
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from indexer import parse
from indexer.errors import ReportParseError
from indexer.models import Report

BACKENDS = ("pdfplumber", "pdfium")  # the reference first
METADATA = ("title", "local_authority", "kind", "inspection_dates", "published", "inspectors", "judgements")


def say(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def find_pdfs(paths: list[Path], limit: int | None) -> list[Path]:
    """The PDFs named or under the folders named (recursively), sorted; `limit` spreads N picks over them."""
    found: list[Path] = []
    for path in paths:
        found += sorted(path.rglob("*.pdf")) if path.is_dir() else [path]
    found = list(dict.fromkeys(found))
    if limit is not None and 0 < limit < len(found):
        step = len(found) / limit
        found = [found[int(i * step)] for i in range(limit)]
    return found


def parse_with(backend: str, path: Path) -> tuple[Report | str, float]:
    """The Report parsed with `backend` (or the parse error's message) and the seconds it took."""
    previous = parse.PDF_BACKEND
    parse.PDF_BACKEND = backend
    start = time.perf_counter()
    try:
        result: Report | str = parse.parse_report(path)
    except ReportParseError as exc:
        result = f"ReportParseError: {exc}"
    finally:
        parse.PDF_BACKEND = previous
    return result, time.perf_counter() - start


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def word_diff(old: str, new: str, context: int = 4, width: int = 300) -> str:
    """The changed words of `new` against `old`: `[-old-]{+new+}` with a few words of context, shortened."""
    a, b = old.split(), new.split()
    parts: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            words = a[i1:i2]
            if len(words) > 2 * context:
                words = [*words[:context], "…", *words[-context:]] if parts else ["…", *words[-context:]]
            parts.append(" ".join(words))
        else:
            parts.append(
                (f"[-{' '.join(a[i1:i2])}-]" if i2 > i1 else "") + (f"{{+{' '.join(b[j1:j2])}+}}" if j2 > j1 else "")
            )
    if parts and not parts[-1].startswith(("[-", "{+")):
        words = parts[-1].split()
        parts[-1] = " ".join(words[:context] + (["…"] if len(words) > context else []))
    text = " ".join(p for p in parts if p)
    return text if len(text) <= width else text[: width - 1] + "…"


def _keyed(report: Report) -> dict[tuple[str, int], Any]:
    """Paragraphs by (label, occurrence), so a repeated label still pairs up in order."""
    seen: Counter[str] = Counter()
    out: dict[tuple[str, int], Any] = {}
    for p in report.paragraphs:
        out[(p.label, seen[p.label])] = p
        seen[p.label] += 1
    return out


def compare(reference: Report | str, other: Report | str) -> dict[str, Any]:
    """What differs between the pdfplumber Report and the pdfium one; empty when they are identical."""
    if isinstance(reference, str) or isinstance(other, str):
        if isinstance(reference, str) and isinstance(other, str):
            return {}  # both refused the file (their messages name different exceptions)
        show = [r if isinstance(r, str) else "parsed" for r in (reference, other)]
        return {"error": dict(zip(BACKENDS, show, strict=True))}
    if reference.model_dump() == other.model_dump():
        return {}
    out: dict[str, Any] = {}
    for name in (*METADATA, "warnings"):
        old, new = getattr(reference, name), getattr(other, name)
        if old != new:
            out.setdefault("metadata", {})[name] = {"pdfplumber": _plain(old), "pdfium": _plain(new)}
    a, b = _keyed(reference), _keyed(other)
    only = {name: [f"{k[0]}" for k in x if k not in y] for name, x, y in (("pdfplumber", a, b), ("pdfium", b, a))}
    if any(only.values()):
        out["labels_only_in"] = {name: labels for name, labels in only.items() if labels}
    texts, placed = [], []
    for key in (k for k in a if k in b):
        pa, pb = a[key], b[key]
        if normalise(pa.text) != normalise(pb.text):
            texts.append({"label": key[0], "diff": word_diff(normalise(pa.text), normalise(pb.text))})
        elif (pa.section, pa.page) != (pb.section, pb.page):
            placed.append({"label": key[0], "pdfplumber": [pa.section, pa.page], "pdfium": [pb.section, pb.page]})
    if texts:
        out["text_differs"] = texts
    if placed:
        out["section_or_page_differs"] = placed
    if not out:
        order = [p.label for p in reference.paragraphs] != [p.label for p in other.paragraphs]
        out["other"] = "paragraph order" if order else "whitespace inside paragraphs or other fields"
    return out


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def show(name: str, seconds: dict[str, float], diff: dict[str, Any]) -> None:
    times = "  ".join(f"{b} {seconds[b]:6.2f}s" for b in BACKENDS)
    say(f"{'identical' if not diff else 'DIFFERENT':9}  {name:60}  {times}")
    if "error" in diff:
        for backend, message in diff["error"].items():
            say(f"    {backend}: {message}")
    for field, values in diff.get("metadata", {}).items():
        say(f"    {field}: pdfplumber {values['pdfplumber']!r}  pdfium {values['pdfium']!r}")
    for backend, labels in diff.get("labels_only_in", {}).items():
        say(f"    labels only in {backend}: {', '.join(labels[:30])}{' …' if len(labels) > 30 else ''}")
    for item in diff.get("text_differs", [])[:10]:
        say(f"    paragraph {item['label']}: {item['diff']}")
    if len(diff.get("text_differs", [])) > 10:
        say(f"    … and {len(diff['text_differs']) - 10} more paragraphs")
    for item in diff.get("section_or_page_differs", [])[:5]:
        say(f"    paragraph {item['label']} section/page: pdfplumber {item['pdfplumber']}  pdfium {item['pdfium']}")
    if "other" in diff:
        say(f"    differs in: {diff['other']}")


def run(paths: list[Path], limit: int | None, json_out: Path | None) -> dict[str, Any]:
    pdfs = find_pdfs(paths, limit)
    totals = dict.fromkeys(BACKENDS, 0.0)
    identical: list[str] = []
    different: list[str] = []
    sink = json_out.open("w") if json_out else None
    try:
        for path in pdfs:
            results: dict[str, Report | str] = {}
            seconds: dict[str, float] = {}
            for backend in BACKENDS:
                results[backend], seconds[backend] = parse_with(backend, path)
                totals[backend] += seconds[backend]
            diff = compare(results["pdfplumber"], results["pdfium"])
            (different if diff else identical).append(str(path))
            show(str(path), seconds, diff)
            if sink:
                record = {"file": str(path), "identical": not diff, "seconds": seconds, "diff": diff}
                sink.write(json.dumps(record, default=str) + "\n")
                sink.flush()
    finally:
        if sink:
            sink.close()
    n = max(1, len(pdfs))
    say()
    say(f"files: {len(pdfs)}  identical: {len(identical)}  different: {len(different)}")
    for backend in BACKENDS:
        say(f"{backend:10} {totals[backend]:8.1f}s in all, {totals[backend] / n:6.2f}s per PDF")
    if totals["pdfium"]:
        say(f"pdfium is {totals['pdfplumber'] / totals['pdfium']:.1f}x faster (whole parse_report)")
    return {"files": len(pdfs), "identical": identical, "different": different, "seconds": totals}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m eval.compare_pdf_backends", description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", type=Path, help="PDFs, or folders searched recursively for PDFs")
    ap.add_argument("--limit", type=int, default=None, help="compare N files, spread evenly over the sorted list")
    ap.add_argument("--json", type=Path, default=None, help="also write one JSON line per file here")
    ns = ap.parse_args(argv)
    summary = run(ns.paths, ns.limit, ns.json)
    sys.exit(1 if summary["different"] else 0)


if __name__ == "__main__":
    main()
