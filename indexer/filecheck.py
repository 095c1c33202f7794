"""Report files checked by their content, not their name: empty, binary, encrypted and damaged files are named."""

from __future__ import annotations

import re

from indexer.errors import ReportParseError

PDF_MAGIC = b"%PDF-"
_DOCUMENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")


def sniff_report(data: bytes, name: str) -> str:
    """Return '.pdf' or '.txt' from the bytes themselves, or raise ReportParseError saying why the file is refused."""
    if not data.strip():
        raise ReportParseError(f"{name}: the file is empty. Upload or index the report's PDF or text.")
    # the PDF header may follow up to 1 KB of junk (ISO 32000-1, 7.5.2)
    if PDF_MAGIC in data[:1024]:
        check_pdf(data, name)
        return ".pdf"
    if b"\x00" in data[:65536]:
        raise ReportParseError(
            f"{name}: binary data, neither a PDF nor text (it starts {data[:8]!r}). Index the report's .pdf or .txt."
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReportParseError(f"{name}: not UTF-8 text nor a PDF. Save it as UTF-8 or use the PDF.") from exc
    return ".txt"


def check_pdf(data: bytes, name: str) -> None:
    """Raise ReportParseError when a PDF is encrypted, damaged or has no pages."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise ReportParseError(
                f"{name}: the PDF is encrypted (password-protected). Save an unprotected copy and use that."
            ) from exc
        raise ReportParseError(
            f"{name}: not a readable PDF, damaged or truncated ({str(exc).rstrip('.')}). "
            "Download the report again and use the new copy."
        ) from exc
    try:
        pages = len(pdf)
    finally:
        pdf.close()
    if pages == 0:
        raise ReportParseError(f"{name}: the PDF has no pages. Use the report's full PDF.")


def document_id_from(name: str) -> str:
    """Return a safe report id from a given name ('Peterborough ILACS 2023.pdf' → 'peterborough-ilacs-2023'),
    or raise ReportParseError; the id is a plain word, never a path."""
    stem = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = re.sub(r"\.(pdf|txt|md)$", "", stem, flags=re.IGNORECASE)
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:120].strip("-")
    if not _DOCUMENT_ID.match(slug):
        raise ReportParseError(
            f"'{name[:80]}' gives no usable report id. Send document_id (letters, digits and hyphens, e.g. "
            "peterborough-inspection-2024-01-30)."
        )
    return slug
