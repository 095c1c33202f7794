"""Parsing: a report file (PDF or extracted text) → Report with labelled paragraphs, sections, pages and grades.

Both inputs go through one path: the PDF front end turns positioned characters into the same marked-up lines
the text files have (`# title`, `## heading`, `- bullet`, tab-separated table rows, blank lines between
blocks), each line tagged with its page; `parse_lines` then segments, labels and reads metadata. Pure: no I/O
beyond reading the one file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from indexer.errors import ReportParseError
from indexer.models import Kind, Paragraph, Report

MONTHS = {
    m: i + 1
    for i, m in enumerate(
        "january february march april may june july august september october november december".split()
    )
}
GRADES = ("Outstanding", "Good", "Requires improvement to be good", "Inadequate")
# Canonical judgement areas, matched by key words in the printed row (2018-2026 ILACS wording).
AREAS: list[tuple[str, re.Pattern[str]]] = [
    ("impact_of_leaders", re.compile(r"impact of leaders|leadership, management and governance", re.I)),
    ("help_and_protection", re.compile(r"need help and protection", re.I)),
    ("in_care", re.compile(r"children in care|looked after", re.I)),
    ("care_leavers", re.compile(r"care leavers", re.I)),
    # 2015-2018 single inspection framework reports print the overall grade as 'Children's services in X are good'
    ("overall_effectiveness", re.compile(r"overall effectiveness|^children's services in ", re.I)),
]
AREA_NAMES = {
    "impact_of_leaders": "The impact of leaders on social work practice with children and families",
    "help_and_protection": "The experiences and progress of children who need help and protection",
    "in_care": "The experiences and progress of children in care",
    "care_leavers": "The experiences and progress of care leavers",
    "overall_effectiveness": "Overall effectiveness",
}

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u00a0": " "})
_TERMINAL = re.compile(r"[.!?:;)\"']\s*$")
_NUMBERED = re.compile(r"^(\d{1,3})\.\s+(\S.*)$")
_BULLET = re.compile(r"^(?:[-*\u2022\u25aa\u25fc\u25a0\uf0a7\uf0b7\uf06e\uf02d\uf0be]|\u25cf)\s*(.*)$")
_GRADE_CELL = re.compile(
    r"(Requires? improvement(?: to be good)?|to be good|Inadequate|Good|Outstanding|Not (?:applicable|graded)"
    r"|Not judged|Requires improvement to|be good)",
    re.I,
)
_DATE_LINE = re.compile(r"^(\d{1,2}) ([A-Z][a-z]+) (\d{4})$")
_BOILERPLATE_START = re.compile(
    r"^(The Office for Standards in Education, Children's Services and Skills \(Ofsted\) regulates"
    r"|Ofsted will consider any representations"
    r"|Yours sincerely|Yours faithfully|The inspection team$)",
    re.I,
)
_BOILERPLATE_LINE = re.compile(
    r"^(I am copying this letter to|If you would like a copy of this document|You may reuse this information"
    r"|This report is available at|Interested in our work|Piccadilly Gate|© Crown copyright|Crown copyright"
    r"|Reference no\.?|Ofsted$|Textphone|T 0300 123 1231|enquiries@ofsted|www\.gov\.uk/ofsted)",
    re.I,
)


@dataclass
class Line:
    """One line of marked-up text with the page it was printed on (None for text files)."""

    text: str
    page: int | None = None


@dataclass
class Block:
    kind: str  # title, heading, text, numbered, bullet, table, date, blank
    text: str
    page: int | None
    number: str = ""
    rows: list[tuple[str, str]] = field(default_factory=list)


# ---------------------------------------------------------------- public entry points


def document_id_for(path: Path) -> str:
    """Return the document id of a report file: its stem, lower-cased."""
    return path.stem.lower()


def parse_report(path: Path) -> Report:
    """Return the Report parsed from a .pdf or .txt/.md file, or raise ReportParseError saying why not."""
    suffix = path.suffix.lower()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReportParseError(f"{path}: cannot be read ({exc.strerror}). Check the path and permissions.") from exc
    if suffix == ".pdf":
        lines = pdf_lines(path)
    elif suffix in {".txt", ".md"}:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ReportParseError(f"{path}: not UTF-8 text. Save it as UTF-8 or index the PDF instead.") from exc
        lines = [Line(t) for t in text.splitlines()]
    else:
        raise ReportParseError(f"{path}: unsupported file type '{suffix}'. Index .pdf or .txt files.")
    report = parse_lines(lines, document_id_for(path), source=str(path))
    if not any(p.label not in {"header", "judgements"} for p in report.paragraphs):
        raise ReportParseError(
            f"{path}: no report paragraphs found (a scanned image, or not an Ofsted report?). Skipped."
        )
    return report.model_copy(update={"source_sha256": hashlib.sha256(data).hexdigest()})


def parse_text(text: str, document_id: str) -> Report:
    """Return the Report parsed from extracted text."""
    return parse_lines([Line(t) for t in text.splitlines()], document_id)


# ---------------------------------------------------------------- PDF front end


def _line_record(raw: dict[str, Any], copy_chars: bool = True) -> dict[str, Any]:
    """A text line as the parser reads it; `copy_chars=False` keeps the (non-space) characters as they are."""
    chars = [c for c in raw["chars"] if c["text"].strip()]
    sizes = [float(c["size"]) for c in chars] or [0.0]
    bold = sum(1 for c in chars if "bold" in c["fontname"].lower()) / max(1, len(chars))
    if copy_chars:
        chars = [{k: c[k] for k in ("text", "x0", "x1", "top", "bottom", "size", "fontname") if k in c} for c in chars]
    return {
        "text": raw["text"].strip(),
        "x0": float(raw["x0"]),
        "top": float(raw["top"]),
        "bottom": float(raw["bottom"]),
        "size": max(Counter(round(s) for s in sizes).most_common(1)[0][0], 1),
        "bold": bold,
        "chars": chars,
    }


def _is_furniture(rec: dict[str, Any], height: float, repeated: set[str]) -> bool:
    """Page furniture: running headers/footers, page numbers, repeated lines near the edges."""
    near_edge = rec["top"] > height * 0.88 or rec["bottom"] < height * 0.09
    if not near_edge:
        return False
    text = rec["text"]
    return rec["size"] < 10 or text.isdigit() or re.sub(r"\d+", "#", text) in repeated


PDF_BACKEND = "pdfium"  # "pdfium" (fast, the default) or "pdfplumber" (the original reader; slow)


def pdf_pages(path: Path) -> list[tuple[float, list[dict[str, Any]]]]:
    """Return each page's height and its text lines (with their characters), as pdfplumber reads them.

    `PDF_BACKEND` picks the reader: pdfium (fast) or pdfplumber itself; both give the same records.
    """
    if PDF_BACKEND == "pdfplumber":
        return pdf_pages_plumber(path)
    return pdf_pages_pdfium(path)


def pdf_pages_plumber(path: Path) -> list[tuple[float, list[dict[str, Any]]]]:
    """Return each page's height and its text lines (with their characters), read by pdfplumber."""
    import pdfplumber  # imported here so `ofsted-qa --help` stays instant

    try:
        pdf = pdfplumber.open(path)
    except Exception as exc:  # pdfminer raises many types for broken files
        raise ReportParseError(f"{path}: not a readable PDF ({type(exc).__name__}). Skipped.") from exc
    with pdf:
        pages: list[tuple[float, list[dict[str, Any]]]] = []
        try:
            for page in pdf.pages:
                recs = [_line_record(r) for r in page.extract_text_lines(return_chars=True)]
                pages.append((float(page.height), [r for r in recs if r["text"]]))
        except Exception as exc:
            raise ReportParseError(f"{path}: the PDF could not be read ({exc}). Skipped.") from exc
    return pages


def pdf_pages_pdfium(path: Path) -> list[tuple[float, list[dict[str, Any]]]]:
    """Return what `pdf_pages_plumber` returns, read with pdfium (several times faster).

    pdfium gives each character's text, font and origin; the characters get the boxes pdfminer gives them (from
    the font's descent and advance width, in pdfplumber's top-left coordinates) and are grouped into lines and
    words by pdfplumber's own rules (`_plumber_text_lines`).
    """
    import pypdfium2 as pdfium  # imported here so `ofsted-qa --help` stays instant

    try:
        with _PDFIUM_LOCK:
            pdf = pdfium.PdfDocument(path)
    except Exception as exc:  # PdfiumError for broken, encrypted or non-PDF files
        raise ReportParseError(f"{path}: not a readable PDF ({type(exc).__name__}). Skipped.") from exc
    pages: list[tuple[float, list[dict[str, Any]]]] = []
    try:
        for index in range(len(pdf)):
            with _PDFIUM_LOCK:  # pdfium is not thread-safe
                page = pdf[index]
                try:
                    height, chars, upright = _pdfium_chars(page)
                finally:
                    page.close()
            recs = [_line_record(r, copy_chars=False) for r in _plumber_text_lines(chars, upright)]
            pages.append((height, [r for r in recs if r["text"]]))
    except Exception as exc:
        raise ReportParseError(f"{path}: the PDF could not be read ({exc}). Skipped.") from exc
    finally:
        with _PDFIUM_LOCK:
            pdf.close()
    return pages


_PDFIUM_LOCK = threading.Lock()
_PDFIUM_FUNCTIONS: dict[str, Any] = {}


def _pdfium_function(name: str) -> Any:
    """A pdfium function from pypdfium2.raw whose handles are plain integers (no pointer objects, no casts).

    Several times cheaper to call, which counts in the loop over every character of a report.
    """
    func = _PDFIUM_FUNCTIONS.get(name)
    if func is None:
        import ctypes

        import pypdfium2.raw as fpdf

        def plain(t: Any) -> Any:
            target = getattr(t, "_type_", None)
            handle = isinstance(target, type) and target.__name__.startswith("struct_fpdf_")
            return ctypes.c_void_p if handle else t

        typed = getattr(fpdf, name)
        address = ctypes.cast(typed, ctypes.c_void_p).value or 0
        prototype = ctypes.CFUNCTYPE(plain(typed.restype), *map(plain, typed.argtypes))
        func = _PDFIUM_FUNCTIONS[name] = prototype(address)
    return func


def _pdfium_chars(page: Any) -> tuple[float, list[dict[str, Any]], list[bool]]:
    """Return a pdfium page's height, its characters and whether each is upright, as pdfplumber reads them.

    The height is `page.height`; the characters are `page.chars` with the keys `_line_record` keeps, in content
    order. pdfium's own choices are undone where they differ from pdfminer's: the spaces it generates are dropped,
    the printed spaces it drops are put back, a line-end hyphen it marks is a hyphen again.
    """
    import ctypes

    import pypdfium2.raw as fpdf

    f = _pdfium_function
    get_unicode, is_generated, text_object = (
        f("FPDFText_GetUnicode"),
        f("FPDFText_IsGenerated"),
        f("FPDFText_GetTextObject"),
    )
    char_origin, char_matrix = f("FPDFText_GetCharOrigin"), f("FPDFText_GetMatrix")

    # pdfminer's page transform (rotation, mediabox origin) and pdfplumber's shift back to the mediabox
    bx0, by0, bx1, by1 = page.get_mediabox()
    rotation = page.get_rotation() % 360
    ca, cb, cc, cd, ce, cf = {
        90: (0.0, -1.0, 1.0, 0.0, -by0, bx1),
        180: (-1.0, 0.0, 0.0, -1.0, bx1, by1),
        270: (0.0, 1.0, -1.0, 0.0, by1, -bx0),
    }.get(rotation, (1.0, 0.0, 0.0, 1.0, -bx0, -by0))
    nx0, nx1 = sorted((bx0, bx1))
    ny0, ny1 = sorted((by0, by1))
    box = (ny0, nx0, ny1, nx1) if rotation in (90, 270) else (nx0, ny0, nx1, ny1)
    height = float(box[3] - box[1])
    shift_x, top_of = float(box[0]), float(2 * height - box[3])  # x0 = x + shift_x, top = top_of - y

    number = ctypes.c_float()
    matrix = fpdf.FS_MATRIX()
    objects: dict[int, tuple[Any, ...]] = {}
    widths: dict[tuple[int, float, int], float | None] = {}

    def object_info(obj: int, m: Any) -> tuple[Any, ...]:
        """Per text object (matrix `m`): font, size, name, the composed matrix and the box's offsets."""
        font = f("FPDFTextObj_GetFont")(obj) or 0
        size = number.value if f("FPDFTextObj_GetFontSize")(obj, number) else 0.0
        descent = number.value if font and f("FPDFFont_GetDescent")(font, 1.0, number) else 0.0
        name = ctypes.create_string_buffer(256)
        fontname = (
            name.value.decode("utf-8", "replace") if font and f("FPDFFont_GetBaseFontName")(font, name, 256) else ""
        )
        # the text object's matrix, then the page transform (pdfminer's row-vector convention)
        a, b = m.a * ca + m.b * cc, m.a * cb + m.b * cd
        c, d = m.c * ca + m.d * cc, m.c * cb + m.d * cd
        lo = -abs(descent) * size  # pdfminer's box: from the descent to a font size above it
        hi = lo + size
        ys = sorted((d * lo, d * hi))
        return (font, size, fontname, a, b, c, d, lo, hi, ys[0], ys[1], a * d > 0 and b * c <= 0)

    def advance(font: int, size: float, code: int) -> float | None:
        """A character's advance width (pdfminer's box width) in text space, from the font's widths."""
        key = (font, size, code)
        if key not in widths:
            ok = font and code < 0x10000 and f("FPDFFont_GetGlyphWidth")(font, code, size, number)
            widths[key] = number.value if ok else None
        return widths[key]

    def place(text: str, ox: float, oy: float, adv: float, info: tuple[Any, ...]) -> dict[str, Any]:
        """pdfminer's box for a character at origin (ox, oy), in pdfplumber's coordinates."""
        _, size, fontname, a, b, c, d, lo, hi, ylo, yhi, _ = info
        e, f_ = ox * ca + oy * cc + ce, ox * cb + oy * cd + cf
        if b == 0.0 and c == 0.0:
            x0, x1 = (e, e + a * adv) if a >= 0 else (e + a * adv, e)
            y0, y1 = f_ + ylo, f_ + yhi
        else:
            xs = (c * lo + e, a * adv + c * lo + e, a * adv + c * hi + e, c * hi + e)
            ys = (d * lo + f_, b * adv + d * lo + f_, b * adv + d * hi + f_, d * hi + f_)
            x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        return {
            "text": text,
            "x0": x0 + shift_x,
            "x1": x1 + shift_x,
            "top": top_of - y1,
            "bottom": top_of - y0,
            "size": y1 - y0,
            "fontname": fontname,
        }

    chars: list[dict[str, Any]] = []
    upright: list[bool] = []
    sources: list[int] = []  # each character's text object
    x, y = ctypes.c_double(), ctypes.c_double()
    textpage = page.get_textpage()
    try:
        tp = ctypes.cast(textpage.raw, ctypes.c_void_p).value
        count = fpdf.FPDFText_CountChars(textpage.raw)
        skip = False
        for i in range(count):
            if skip:
                skip = False
                continue
            code = get_unicode(tp, i)
            obj = text_object(tp, i) or 0
            if code in (0x20, 0x0D, 0x0A) and is_generated(tp, i):
                # spaces and line breaks pdfium infers: pdfplumber sees only printed characters. But a space pdfium
                # generates for a wide kerning gap inside a text object stands for a printed space right after it
                # (pdfium keeps one of two spaces), and that one sits where the next character does not
                if code == 0x20 and obj and chars and i + 1 < count:
                    char_origin(tp, i, x, y)
                    here = (x.value, y.value)
                    char_origin(tp, i + 1, x, y)
                    if abs(x.value - here[0]) + abs(y.value - here[1]) > 0.01:
                        chars.append({**chars[-1], "text": " "})
                        upright.append(upright[-1])
                        sources.append(obj)
                continue
            if code == 0x2:
                code = 0x2D  # pdfium's mark for a hyphen that ends a line
            elif 0xD800 <= code < 0xDC00 and i + 1 < count:  # a UTF-16 surrogate pair
                low = get_unicode(tp, i + 1)
                if 0xDC00 <= low < 0xE000:
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    skip = True
            info = objects.get(obj)
            if info is None:
                char_matrix(tp, i, matrix)  # the text object's matrix (the same for all its characters)
                info = objects[obj] = object_info(obj, matrix)
            char_origin(tp, i, x, y)
            font, size, _, a, b, *_, up = info
            key = (font, size, code)
            adv = widths[key] if key in widths else advance(font, size, code)
            if adv is None:  # no width for this code: take pdfium's box (it may include a glyph's overhang)
                rect = fpdf.FS_RECTF()
                fpdf.FPDFText_GetLooseCharBox(textpage.raw, i, rect)
                adv = abs(rect.right - rect.left) / (abs(a) or abs(b) or 1.0)
            chars.append(place(chr(code), x.value, y.value, adv, info))
            upright.append(up)
            sources.append(obj)
    finally:
        textpage.close()

    # pdfium skips text objects that print nothing but spaces (their box is empty); pdfplumber reads those spaces,
    # and they separate words
    pg = ctypes.cast(page.raw, ctypes.c_void_p).value
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    position: dict[int, int] = {}  # text object → its place in the content stream
    for index in range(f("FPDFPage_CountObjects")(pg)):
        obj = f("FPDFPage_GetObject")(pg, index)
        if f("FPDFPageObj_GetType")(obj) != fpdf.FPDF_PAGEOBJ_TEXT:
            continue
        position[obj] = index
        if obj in objects:
            continue
        if not f("FPDFPageObj_GetBounds")(obj, left, bottom, right, top) or right.value - left.value > 1e-3:
            continue  # not blank: pdfium dropped it as a copy of the object before
        f("FPDFPageObj_GetMatrix")(obj, matrix)
        info = object_info(obj, matrix)
        chars.append(place(" ", matrix.e, matrix.f, advance(info[0], info[1], 0x20) or 0.0, info))
        upright.append(info[11])
        sources.append(obj)

    # pdfplumber reads characters in content order, which settles ties (a space and a letter at the same x0);
    # pdfium puts a line's text objects in order of position: put the characters back in their objects' order
    # (a character of an object inside a form keeps its place after the one before it)
    keys: list[int] = []
    last = -1
    for obj in sources:
        last = position.get(obj, last)
        keys.append(last)
    if any(b < a for a, b in itertools.pairwise(keys)):
        order = sorted(range(len(chars)), key=keys.__getitem__)
        chars, upright = [chars[i] for i in order], [upright[i] for i in order]
    return height, chars, upright


_LIGATURES = {"ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬁ": "fi", "ﬂ": "fl", "ﬆ": "st", "ﬅ": "st"}
_TOLERANCE = 3.0  # pdfplumber's x_tolerance and y_tolerance defaults


def _cluster(values: Iterable[float]) -> dict[float, int]:
    """pdfplumber's `make_cluster_dict`: each value → its cluster, chaining sorted values at most 3 apart."""
    out: dict[float, int] = {}
    last = 0.0
    group = -1
    for v in sorted(set(values)):
        if group < 0 or v > last + _TOLERANCE:
            group += 1
        out[v] = group
        last = v
    return out


def _plumber_text_lines(chars: list[dict[str, Any]], upright: list[bool]) -> list[dict[str, Any]]:
    """Return pdfplumber's `extract_text_lines(return_chars=True)` of a page's characters (default settings).

    Characters in runs of upright (or rotated) text → lines (clustered by top, or by x0 when rotated) → words
    (split at whitespace, at a gap over 3 pt or at a jump across the line) → the text map's lines: words clustered
    by top in their order, joined by a space.
    """
    words: list[tuple[str, float, list[dict[str, Any]]]] = []  # text, top, characters
    start = 0
    while start < len(chars):
        end = start + 1
        while end < len(chars) and upright[end] == upright[start]:
            end += 1
        run = chars[start:end]
        order: Callable[[dict[str, Any]], Any]
        if upright[start]:
            line_key, order, along, after, across = "top", itemgetter("x0"), "x0", "x1", "top"
        else:
            line_key, order, along, after, across = "x0", itemgetter("top", "bottom"), "top", "bottom", "x0"
        start = end
        groups = _cluster(c[line_key] for c in run)
        keyed = sorted(((groups[c[line_key]], c) for c in run), key=itemgetter(0))
        for _, line in itertools.groupby(keyed, key=itemgetter(0)):
            current: list[dict[str, Any]] = []
            for ch in sorted((c for _, c in line), key=order):
                if ch["text"].isspace():
                    if current:
                        words.append(_word(current))
                    current = []
                elif current and (
                    ch[along] < current[-1][along]
                    or ch[along] > current[-1][after] + _TOLERANCE
                    or abs(ch[across] - current[-1][across]) > _TOLERANCE
                ):
                    words.append(_word(current))
                    current = [ch]
                else:
                    current.append(ch)
            if current:
                words.append(_word(current))
    groups = _cluster(top for _, top, _ in words)
    lines: list[dict[str, Any]] = []
    for _, group in itertools.groupby(words, key=lambda w: groups[w[1]]):
        texts: list[str] = []
        line_chars: list[dict[str, Any]] = []
        for text, _, word_chars in group:
            texts.append(text)
            for ch in word_chars:  # a ligature counts once per letter, as in pdfplumber's text map
                line_chars.extend([ch] * len(_LIGATURES.get(ch["text"], ch["text"])))
        text = " ".join(texts).strip(" ")
        if text.strip() and line_chars:
            lines.append(
                {
                    "text": text,
                    "x0": min(c["x0"] for c in line_chars),
                    "top": min(c["top"] for c in line_chars),
                    "bottom": max(c["bottom"] for c in line_chars),
                    "chars": line_chars,
                }
            )
    return lines


def _word(chars: list[dict[str, Any]]) -> tuple[str, float, list[dict[str, Any]]]:
    return "".join(_LIGATURES.get(c["text"], c["text"]) for c in chars), min(c["top"] for c in chars), chars


def pdf_lines(path: Path) -> list[Line]:
    """Return the marked-up lines of a PDF (headings, bullets, table rows, blank lines), each with its page."""
    return page_lines(pdf_pages(path))


def page_lines(pages: list[tuple[float, list[dict[str, Any]]]]) -> list[Line]:
    """Return the marked-up lines of pages read by `pdf_pages`."""
    # lines repeated on several pages near an edge are running headers or footers
    edge_counts: Counter[str] = Counter()
    for height, recs in pages:
        for key in {
            re.sub(r"\d+", "#", r["text"]) for r in recs if r["top"] > height * 0.88 or r["bottom"] < height * 0.09
        }:
            edge_counts[key] += 1
    repeated = {k for k, n in edge_counts.items() if n >= 2}
    body_size = Counter(r["size"] for _, recs in pages for r in recs).most_common(1)
    base = body_size[0][0] if body_size else 12
    out: list[Line] = []
    for page_no, (height, recs) in enumerate(pages, start=1):
        out.append(Line("", page_no))
        prev: dict[str, Any] | None = None
        table_split: float | None = None
        sif_table = False
        # footnotes: from a smaller line near the foot of the page that starts with its number, down to the end
        foot = next(
            (
                i
                for i, r in enumerate(recs)
                if r["top"] > height * 0.7 and r["size"] < base - 0.5 and re.match(r"^\d{1,2}\s+\S", r["text"])
            ),
            len(recs),
        )
        if any(r["text"] == "Contents" for r in recs[:3]):
            ends_in_page = sum(1 for r in recs if re.search(r"\s\d{1,3}$", r["text"]))
            if ends_in_page >= len(recs) / 2:
                continue  # a table of contents (2015-2018 reports): no paragraphs, only page numbers
        for i, rec in enumerate(recs):
            if _is_furniture(rec, height, repeated) or (i >= foot and rec["size"] < base - 0.5):
                continue
            gap = rec["top"] - prev["bottom"] if prev else 99.0
            if gap > 0.6 * rec["size"]:
                out.append(Line("", page_no))
            text = rec["text"]
            is_heading = rec["bold"] > 0.85 and not _NUMBERED.match(text) and len(text) < 160
            if re.fullmatch(r"Judgements?\s+Grades?", text):
                # the judgement table: split every later row at the grade column
                grade_chars = [c for c in rec["chars"] if c["text"] == "G"]
                table_split = float(grade_chars[-1]["x0"]) - 4 if grade_chars else None
                out.append(Line("Judgement\tGrade", page_no))
                prev = rec
                continue
            if table_split is not None:
                # a table line: a grade in the grade column, or an area's wrapped words (nothing in that column);
                # a heading, a wide gap or words running into the grade column end the table
                right_txt = _words_from_chars([c for c in rec["chars"] if c["x0"] >= table_split])
                if (
                    rec["bold"] <= 0.85
                    and gap < 4 * rec["size"]
                    and (_GRADE_CELL.fullmatch(right_txt) or not right_txt)
                ):
                    left_txt = _words_from_chars([c for c in rec["chars"] if c["x0"] < table_split])
                    out.append(Line(f"{left_txt}\t{right_txt}", page_no))
                    prev = rec
                    continue
                table_split = None
            if page_no == 1 and re.match(r"^1\.?\s+Children who need help and protection", text):
                sif_table = True
            if sif_table:
                # single inspection framework (2015-2018) cover table: numbered areas, grades beside them (sometimes
                # as lines of their own, sometimes wrapped: 'requires improvement to' / 'be good')
                row = _SIF_ROW.match(text)
                if row:
                    out.append(Line(f"{row.group(1)}\t{row.group(2)}", page_no))
                elif _GRADE_CELL.fullmatch(text):
                    out.append(Line(f"\t{text}", page_no))
                elif re.match(r"^\d(?:\.\d)?\.?\s+[A-Z]", text) and len(text) < 70 or text == "permanence":
                    out.append(Line(re.sub(r"^[0-9.]+\s+", "", text) + "\t", page_no))
                else:
                    sif_table = False
                if sif_table:
                    prev = rec
                    continue
            if rec["size"] >= base + 8 and page_no == 1:
                text = "# " + text
            elif is_heading:
                text = "## " + re.sub(r"(?<=[A-Za-z?])\d$", "", text)  # a footnote mark: 'What needs to improve?1'

            out.append(Line(text, page_no))
            prev = rec
    return out


_SIF_ROW = re.compile(
    r"^\d(?:\.\d)?\.?\s+(.+?)\s+((?:Requires? improvement(?: to be good| to)?|Good|Outstanding|Inadequate))$", re.I
)


def _words_from_chars(chars: list[dict[str, Any]]) -> str:
    """Join characters into words, inserting a space where the horizontal gap is wide."""
    out: list[str] = []
    prev: dict[str, Any] | None = None
    for c in sorted(chars, key=lambda c: c["x0"]):
        if prev is not None and float(c["x0"]) - float(prev["x1"]) > 0.2 * float(c["size"]):
            out.append(" ")
        out.append(c["text"])
        prev = c
    return re.sub(r"\s+", " ", "".join(out)).strip()


# ---------------------------------------------------------------- text → blocks


def clean_line(text: str) -> str:
    """Return a line without markdown/HTML emphasis, link syntax and typographic quotes."""
    t = text.translate(_QUOTES).rstrip(" \r\n")
    t = re.sub(r"</?b>", "", t)
    t = t.replace("**", "")
    t = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", t)
    t = re.sub(r"<(https?://[^>]+)>", r"\1", t)
    return t


def join_wrapped(head: str, tail: str) -> str:
    """Join a line to the next one; a compound split after its hyphen ('over-' / 'reliant') keeps it."""
    if re.search(r"[A-Za-z]-$", head):
        return head + tail
    return head + " " + tail


def make_blocks(lines: Iterable[Line]) -> list[Block]:
    """Group marked-up lines into blocks: title, heading, text, numbered, bullet, table rows, blank."""
    blocks: list[Block] = []
    current: Block | None = None

    def flush() -> None:
        nonlocal current
        if current is not None:
            current.text = re.sub(r"\s+", " ", current.text).strip()
            blocks.append(current)
            current = None

    for line in lines:
        raw = clean_line(line.text)
        text = raw.strip()
        if not text:
            flush()
            if blocks and blocks[-1].kind != "blank":
                blocks.append(Block("blank", "", line.page))
            continue
        if "\t" in raw:
            flush()
            left, _, right = raw.partition("\t")
            blocks.append(Block("table", text, line.page, rows=[(left.strip(), right.strip())]))
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", text)
        if heading:
            level = len(heading.group(1))
            body = heading.group(2).strip()
            if current is not None and current.kind in {"heading", "title"} and current.number == str(level):
                current.text += " " + body  # a heading wrapped over two lines
                continue
            flush()
            current = Block("title" if level == 1 else "heading", body, line.page, number=str(level))
            continue
        numbered = _NUMBERED.match(text)
        bullet = _BULLET.match(text)
        if numbered:
            flush()
            current = Block("numbered", numbered.group(2), line.page, number=numbered.group(1))
        elif bullet:
            flush()
            current = Block("bullet", bullet.group(1), line.page)
        elif _DATE_LINE.match(text) and current is None:
            blocks.append(Block("date", text, line.page))
        elif current is not None and current.kind in {"heading", "title"}:
            flush()
            current = Block("text", text, line.page)
        elif current is None:
            current = Block("text", text, line.page)
        else:
            current.text = join_wrapped(current.text, text)
    flush()
    return blocks


# ---------------------------------------------------------------- blocks → report


def _continues(prev: Block, nxt: Block) -> bool:
    """Whether `nxt` is the rest of `prev`, split by a page break or a stray blank line."""
    if prev.kind not in {"text", "numbered", "bullet"} or nxt.kind != "text":
        return False
    if _TERMINAL.search(prev.text):
        return False
    return bool(nxt.text)


def _parse_date(day: str, month: str, year: str) -> dt.date | None:
    m = MONTHS.get(month.lower())
    if not m:
        return None
    try:
        return dt.date(int(year), m, int(day))
    except ValueError:
        return None


_RANGE = re.compile(
    r"(\d{1,2})(?:st|nd|rd|th)?(?:\s+([A-Z][a-z]+))?(?:\s+(\d{4}))?\s*(?:to|and|-|until)\s*"
    r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Z][a-z]+)\s+(\d{4})"
)
_SINGLE = re.compile(r"\bon\s+(\d{1,2})(?:st|nd|rd|th)?\s+([A-Z][a-z]+)\s+(\d{4})")


def parse_date_range(text: str) -> list[dt.date]:
    """Return [first, last] day of a printed range such as '27 November to 8 December 2023'."""
    m = _RANGE.search(text)
    if m:
        d1, m1, y1, d2, m2, y2 = m.groups()
        end = _parse_date(d2, m2, y2)
        start = _parse_date(d1, m1 or m2, y1 or y2)
        if start and end:
            if start > end and y1 is None:  # '28 December to 3 January 2024'
                start = _parse_date(d1, m1 or m2, str(int(y2) - 1))
            return [d for d in (start, end) if d]
    m = _SINGLE.search(text)
    if m:
        d = _parse_date(*m.groups())
        if d:
            return [d, d]
    return []


def _kind_and_authority(title: str) -> tuple[Kind, str]:
    t = title.strip()
    patterns: list[tuple[Kind, str]] = [
        ("inspection", r"^Inspection of (.+?)(?: local authority)? children's services"),
        ("inspection", r"^Inspection of (.+?) Children(?:'s)? (?:and Families |Services )?Trust"),
        (
            "inspection",
            r"^(.+?):? (?:Re-?inspection|Inspection) of services for children in need of help and protection",
        ),
        (
            "inspection",
            r"^(.+?): (?:Re-?inspection|Inspection) of (?:local authority )?children's (?:social care )?services",
        ),
        ("monitoring visit", r"^Monitoring visit (?:to|of) (.+?)(?: local authority)? children's services"),
        ("focused visit", r"^Focused visit (?:to|of) (.+?)(?: local authority)? children's services"),
        ("focused visit", r"^Focused visit (?:to|of)()"),  # no name, or a trust's: read it from the first paragraph
    ]
    for kind, pat in patterns:
        m = re.search(pat, t, re.I)
        if m:
            return kind, authority_name(m.group(1))
    return "other", ""


_ROLE = re.compile(
    r"\(?\b(?:(?:Senior|Regulatory)\s+)?(?:His|Her) Majesty's Inspectors?\b\)?|\(?\b(?:Senior\s+)?HMI\b\)?"
    r"|\b(?:Ofsted|Social Care Regulatory|Regulatory) Inspectors?\b",
    re.I,
)


def _split_names(text: str) -> list[str]:
    """Names in an inspector line, without their roles ('Andy Whippey Her Majesty's Inspector' → Andy Whippey)."""
    text = _ROLE.sub(",", text.translate(_QUOTES))
    names = re.split(r",\s*(?:and\s+)?|;\s*|\s+and\s+", text.strip().rstrip("."))
    return [n.strip(" .") for n in names if n.strip(" .") and not re.search(r"Inspector|HMI", n)]


# Generic words around a printed authority name: 'the London Borough of Ealing' → Ealing, 'Kingston upon Hull
# City Council' → Kingston upon Hull, 'City of York Council' → York; 'City of London' is a name and stays.
_LA_PREFIX = re.compile(
    r"^(?:the\s+)?(?:(?:London|Royal|Metropolitan)\s+Borough\s+of\s+|Royal\s+Borough\s+of\s+|Council\s+of\s+the\s+)",
    re.I,
)
_LA_SUFFIX = re.compile(
    r"(?:\s+(?:Metropolitan|Borough|City|County|District|Unitary|Council|local\s+authority|children's|Trust))+$", re.I
)


def authority_name(printed: str) -> str:
    """The authority's name as printed minus generic words (see _LA_PREFIX, _LA_SUFFIX)."""
    name = re.sub(r"\s+", " ", printed.translate(_QUOTES)).strip().strip(",")
    name = _LA_PREFIX.sub("", name)
    if re.match(r"^City of (?!London\b)", name, re.I):
        name = name[len("City of ") :]
    name = re.sub(r"^the\s+", "", name, flags=re.I)
    stripped = _LA_SUFFIX.sub("", name).strip()
    return stripped or name


_SIF_OVERALL = re.compile(
    r"^(Children's services in .+?) (?:are |is )?((?:requires? improvement|good|outstanding|inadequate)\b.*)$", re.I
)
_COVER_SUBTITLE = re.compile(
    r"^(?:Re-?inspection|Inspection) of (?:local authority )?"
    r"(?:children's (?:social care )?services|services for children)",
    re.I,
)
_AREA_START = re.compile(r"^(The |Overall|Impact|Experiences|Leadership|Adoption)")


def _judgement_rows(blocks: list[tuple[Block, bool]]) -> list[tuple[str, str]]:
    """Merge wrapped table lines into (area, grade) rows.

    A row's lines sit together: a blank line (a wide vertical gap in a PDF) starts a new row, and so does a line
    naming a new area once the current row has its grade. Grade cells wrapped over two lines ('Requires
    improvement' / 'to be good') and grades printed beside the middle of a wrapped area are joined to their row.
    """
    rows: list[list[str]] = []
    for block, after_blank in blocks:
        for left, right in block.rows:
            if re.fullmatch(r"Judgements?", left, re.I):
                continue
            complete = bool(rows) and bool(rows[-1][0]) and _norm_grade(rows[-1][1]) is not None
            new_row = not rows or after_blank or (complete and bool(left) and bool(_AREA_START.match(left)))
            if new_row:
                rows.append([left, right])
            else:
                rows[-1][0] = f"{rows[-1][0]} {left}".strip()
                rows[-1][1] = f"{rows[-1][1]} {right}".strip()
            after_blank = False
    return [(re.sub(r"\s+", " ", a).strip(), re.sub(r"\s+", " ", g).strip()) for a, g in rows]


def _norm_grade(grade: str) -> str | None:
    """The canonical grade for a printed cell ('Requires improvement' alone means 'to be good'), or None."""
    g = re.sub(r"\s+", " ", grade).strip().strip(".").lower()
    g = re.sub(r"^requires? improvement", "requires improvement", g)
    if g.startswith("requires improvement"):
        return GRADES[2]
    return next((x for x in GRADES if x.lower() == g), None)


def _grades(rows: list[tuple[str, str]]) -> dict[str, str]:
    grades: dict[str, str] = {}
    for area, grade in rows:
        key = next((k for k, pat in AREAS if pat.search(area)), None)
        norm = _norm_grade(grade)
        if key and norm:
            grades[key] = norm
    return grades


def parse_lines(lines: list[Line], document_id: str, source: str = "") -> Report:
    """Return the Report read from marked-up lines: labels, sections, pages, grades and metadata."""
    blocks = make_blocks(lines)
    title = ""
    header_lines: list[str] = []
    header_page: int | None = None
    inspectors: list[str] = []
    dates: list[dt.date] = []
    published: dt.date | None = None
    table_blocks: list[tuple[Block, bool]] = []
    cover_name = ""
    table_page: int | None = None
    is_letter = any(b.kind == "text" and re.match(r"^Dear\b", b.text) for b in blocks)
    in_letter_body = not is_letter
    warnings: list[str] = []

    paragraphs: list[tuple[str, Block, str]] = []  # (label-kind, block, section)
    section = ""
    bullet_list = ""  # improve / priority when under such a heading
    prev_content: Block | None = None
    absorbing = False
    date_text = ""
    after_blank = True
    for block in blocks:
        if block.kind == "blank":
            after_blank = True
            continue
        was_after_blank, after_blank = after_blank, False
        text = block.text
        if _BOILERPLATE_START.match(text):
            break
        if _BOILERPLATE_LINE.match(text):
            continue
        if block.kind == "date":
            if published is None and not in_letter_body:
                found = parse_date_range("on " + text)
                published = found[0] if found else None
                date_text = text
            continue
        if block.kind == "table":
            table_blocks.append((block, was_after_blank))
            table_page = table_page or block.page
            continue
        if not in_letter_body:
            if re.match(r"^Dear\b", text):
                in_letter_body = True
            continue
        m = re.match(
            r"^(Inspection dates?|Lead inspectors?|Inspectors?|Date of (?:visit|inspection)|Report published)"
            r"\s*:\s*(.*)$",
            text,
            re.I,
        )
        if m and (not paragraphs or block.page == 1):
            header_lines.append(text)
            header_page = header_page or block.page
            if m.group(1).lower() == "report published":
                found = parse_date_range("on " + m.group(2))
                published = found[0] if found else published
            elif "date" in m.group(1).lower():
                dates = parse_date_range(m.group(2)) or dates
            else:
                inspectors.extend(_split_names(m.group(2)))
            continue
        if block.kind in {"title", "heading"}:
            kind, _ = _kind_and_authority(text)
            if not paragraphs and _COVER_SUBTITLE.match(text) and (title or cover_name):
                if not title or _kind_and_authority(title)[0] == "other":
                    # 2015-2020 covers print the authority, then 'Inspection of children's social care services'
                    title = f"{title or cover_name}: {text}"
                    header_lines.append(text)
                    header_page = header_page or block.page
                    continue
            if not title and not paragraphs and not cover_name and block.kind == "heading" and kind == "other":
                cover_name = text  # perhaps the authority's name, printed as a heading above the subtitle
                header_lines.append(text)
                continue
            if (
                not paragraphs
                and block.kind == "heading"
                and (m := _SIF_OVERALL.match(text))
                and _norm_grade(m.group(2))
            ):
                # single inspection framework (2015-2018): the overall judgement is a sentence on the cover
                table_blocks.append((Block("table", text, block.page, rows=[(m.group(1), m.group(2))]), True))
                table_page = table_page or block.page
                continue
            if not title and (block.kind == "title" or kind != "other"):
                title = text
                header_lines.append(text)
                if date_text:
                    header_lines.append(date_text)
                header_page = block.page
                continue
            section = text
            low = text.lower()
            bullet_list = (
                "improve" if "what needs to improve" in low else "priority" if "priority action" in low else ""
            )
            prev_content = None
            continue
        if title and not paragraphs and block.page == 1 and text == "and":
            header_lines.append(text)  # 'Inspection of services for children…' and 'Review of the LSCB' (2015-2018)
            continue
        if prev_content is not None and _continues(prev_content, block):
            prev_content.text = join_wrapped(prev_content.text, text)
            continue
        if (
            block.kind == "bullet"
            and not bullet_list
            and prev_content is not None
            and (absorbing or prev_content.text.endswith(":"))
        ):
            prev_content.text += "\n- " + text  # a lead-in sentence and its bullets are one paragraph
            absorbing = True
            continue
        absorbing = False
        label_kind = "numbered" if block.kind == "numbered" else (bullet_list or "p") if block.kind == "bullet" else "p"
        paragraphs.append((label_kind, block, section))
        prev_content = block

    kind, local_authority = _kind_and_authority(title)
    if kind != "other" and (not local_authority or re.search(r"\bChildren\b", local_authority)):
        # 'Focused visit to children's services', 'Focused visit to Slough Children First': the letter's first
        # paragraph names the authority ('the focused visit to Camden children's services on …')
        for _, block, _ in paragraphs[:2]:
            m = re.search(
                r"(?:visit|inspection) (?:to|of) (?:the )?(.+?)(?: local authority)? children's services", block.text
            )
            if m:
                local_authority = authority_name(m.group(1))
                break
    if not dates:
        for _, block, _ in paragraphs[:3]:
            if re.search(r"(visit|inspection)", block.text, re.I):
                dates = parse_date_range(block.text)
                if dates:
                    break
    if not inspectors:  # 2015-2018 reports name the team on their last page, under 'The inspection team'
        for block in blocks:
            m = re.match(r"^Lead inspector:\s*(.+?)(?:\s+(?:Deputy lead|Team|Quality assurance) \w+|$)", block.text)
            if m:
                inspectors = _split_names(m.group(1))
                break
    if not inspectors:
        for _, block, _ in paragraphs[:4]:
            m = re.search(
                r"inspectors?(?: for this (?:visit|inspection))? (?:were|was) (.+?)\.(?:\s|$)", block.text, re.I
            )
            if m:
                inspectors = _split_names(m.group(1))
                break
    if published is None:
        m = re.search(r"(\d{4})-(\d{2})-(\d{2})$", document_id)
        if m:
            published = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))

    out: list[Paragraph] = []
    if header_lines:
        out.append(
            Paragraph(
                document_id=document_id, label="header", section="", page=header_page, text="\n".join(header_lines)
            )
        )
    rows = _judgement_rows(table_blocks)
    grades = _grades(rows)
    if rows:
        out.append(
            Paragraph(
                document_id=document_id,
                label="judgements",
                section="Judgements",
                page=table_page,
                text="\n".join(f"{a}: {g}" for a, g in rows if g),
            )
        )
    counters: Counter[str] = Counter()
    seen: set[str] = set()
    for label_kind, block, sec in paragraphs:
        if label_kind == "numbered":
            label = block.number
            if label in seen:
                warnings.append(f"paragraph number {label} printed twice; the second is labelled {label}-2")
                label = f"{label}-2"
        else:
            counters[label_kind] += 1
            label = (
                f"{label_kind}{counters[label_kind]}" if label_kind == "p" else f"{label_kind}-{counters[label_kind]}"
            )
        seen.add(label)
        text = re.sub(r"[ \t]+", " ", block.text).strip()
        out.append(Paragraph(document_id=document_id, label=label, section=sec, page=block.page, text=text))
    numbers = sorted(int(p.label) for p in out if p.label.isdigit())
    if numbers:
        missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
        if missing:
            warnings.append(f"numbered paragraphs missing: {', '.join(map(str, missing))}")
    if not title:
        warnings.append("no report title found: authority and kind unknown")
    return Report(
        document_id=document_id,
        title=title,
        local_authority=local_authority,
        kind=kind,
        inspection_dates=dates,
        published=published,
        inspectors=inspectors,
        judgements=grades,
        source_path=source,
        paragraphs=out,
        warnings=warnings,
    )
