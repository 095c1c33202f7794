"""The engine: the loaded index and models, held once per process and passed to every request."""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from api.answer import answer_question, check_question
from api.findings import FindingsRequest, find_findings
from api.retrieve import first_stage
from api.scope import question_scope
from indexer.embed import Embedder, Reranker
from indexer.errors import AnswererError, IndexMismatchError, IndexNotFoundError, OfstedQAError
from indexer.generations import current_generation
from indexer.models import Answer, Findings, Hit, Turn
from indexer.settings import Settings
from indexer.store import BuildResult, Filters, Index, build_index, remove_reports

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from api.generate import Draft, Event

log = logging.getLogger("ofsted_qa")
AnswererName = Literal["extractive", "llm"]


class Engine:
    """Index + embedder + reranker, loaded once; answers questions and rebuilds the index."""

    def __init__(
        self,
        settings: Settings,
        index: Index | None = None,
        embedder: Embedder | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(
            settings.index.embed_batch_size, settings.index.embed_workers, folder=settings.index.embedder_dir
        )
        self.reranker = reranker or Reranker(
            settings.index.model_cache_dir, settings.retrieval.rerank_workers, settings.retrieval.reranker_dir
        )
        self.index = index
        self._lock = threading.Lock()
        self.models_loaded = False
        self.model_load_s: dict[str, float] = {}
        # the generation a failed reload tried, and why: the old one keeps serving, /ready says so
        self.reload_error: tuple[str, str] | None = None

    @property
    def generation(self) -> str | None:
        """Return the name of the generation being served (its directory), or None."""
        return self.index.path.name if self.index is not None and self.index.path is not None else None

    @cached_property
    def topic_reranker(self) -> Reranker:
        """Return the cross-encoder that judges findings (a topic, not a question): the question-trained one
        unless `findings.reranker_dir` names another (empty: the stock model)."""
        wanted = self.settings.findings.reranker_dir
        if wanted == self.reranker.trained:
            return self.reranker
        return Reranker(self.settings.index.model_cache_dir, self.settings.retrieval.rerank_workers, wanted)

    def load(self, build_default: bool = True) -> Index:
        """Load the index; when it is missing and is the default, build it from the bundled corpus."""
        index_dir = self.settings.index.dir
        try:
            self.index = Index.load(index_dir)
        except IndexNotFoundError:
            if not build_default:
                raise
            log.info("No index in %s: indexing the bundled reports in %s", index_dir, self.settings.index.corpus_dir)
            self.build([self.settings.index.corpus_dir])
        assert self.index is not None
        self.check_models(self.index)
        return self.index

    def check_models(self, index: Index) -> None:
        """Raise IndexMismatchError when the index was embedded by another model than the one loaded."""
        if index.manifest.embedding_sha256 != self.embedder.sha256:
            index_dir = self.settings.index.dir
            raise IndexMismatchError(
                f"The index in {index_dir} was embedded with {index.manifest.embedding_model}; questions "
                f"would be embedded with {self.embedder.name}. Rebuild it with: ofsted-qa index reports/ --index "
                f"{index_dir} --fresh, or set OFSTED_QA_INDEX__EMBEDDER_DIR to the model it was built with."
            )

    def reload_if_changed(self) -> bool | None:
        """Load the live generation when CURRENT names another one; return True when swapped in, False when the
        load failed (the old generation keeps serving), None when nothing changed or a build is under way."""
        live = current_generation(self.settings.index.dir)
        tried = self.reload_error[0] if self.reload_error else None
        if live is None or live in (self.generation, tried):
            return None
        if not self._lock.acquire(blocking=False):
            return None  # this process is building: it swaps its own generation in
        try:
            index = Index.load(self.settings.index.dir)
            self.check_models(index)
        except OfstedQAError as exc:
            self.reload_error = (live, str(exc))
            log.error("index reload failed; still serving %s: %s", self.generation, exc)
            return False
        finally:
            self._lock.release()
        self.index, self.reload_error = index, None  # requests under way keep the Index object they hold
        log.info("index generation %s loaded", self.generation)
        return True

    def remove(self, document_ids: list[str]) -> Index:
        """Remove reports from the index directory and swap the smaller generation in."""
        with self._lock:
            self.index, self.reload_error = remove_reports(self.settings.index.dir, document_ids), None
            return self.index

    def build(self, paths: list[Path], keep_existing: bool = True) -> BuildResult:
        """Index files into the engine's index directory and swap the new index in."""
        with self._lock:
            result = build_index(
                paths,
                self.settings.index.dir,
                self.embedder,
                self.reranker.name,
                self.reranker.sha256,
                self.settings.index.max_chunk_words,
                keep_existing,
            )
            self.index, self.reload_error = result.index, None
            return result

    def require_index(self) -> Index:
        """Return the loaded index or raise IndexNotFoundError saying how to build one."""
        if self.index is None:
            raise IndexNotFoundError(
                f"No index is loaded from {self.settings.index.dir}. Build one with: "
                f"ofsted-qa index reports/ --index {self.settings.index.dir}"
            )
        return self.index

    def warm_up(self) -> None:
        """Load both models now rather than on the first question, timing each."""
        t = time.perf_counter()
        self.embedder.embed_query("warm up")
        self.model_load_s["embedder"] = time.perf_counter() - t
        t = time.perf_counter()
        self.reranker.score("warm up", ["warm up"])
        self.model_load_s["reranker"] = time.perf_counter() - t
        self.models_loaded = True

    def ask(
        self,
        question: str,
        filters: Filters | None = None,
        history: list[Turn] | None = None,
        rerank_candidates: int | None = None,
        debug: bool = False,
        answerer: AnswererName | None = None,
    ) -> Answer:
        """Return the cited answer to a question (with each stage's trace when `debug`), written by the configured
        answerer, or by `answerer` where the settings let a request choose."""
        final: Answer | None = None
        for event in self.answer_events(question, filters, history, rerank_candidates, debug, answerer):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    @cached_property
    def llm(self) -> BaseChatModel:
        """Return the chat model of the configured OpenAI-compatible endpoint (built on first use)."""
        from api.llm import chat_model

        return chat_model(self.settings.llm)

    def choose_answerer(self, requested: AnswererName | None) -> AnswererName:
        """Return the answerer for a request, or raise AnswererError saying what this server offers."""
        cfg = self.settings.llm
        wanted = cfg.answerer if requested is None else requested
        if wanted != cfg.answerer and not cfg.allow_per_request:
            raise AnswererError(
                f"This server answers with the {cfg.answerer} answerer and does not let a request choose another "
                "(OFSTED_QA_LLM__ALLOW_PER_REQUEST is off). Leave out 'answerer'."
            )
        if wanted == "llm" and importlib.util.find_spec("langchain_openai") is None:
            raise AnswererError(
                "The LLM answerer needs the langchain-openai package, which is not installed here: "
                "pip install langchain-openai, or ask with the extractive answerer."
            )
        if wanted == "llm" and not cfg.base_url:
            raise AnswererError(
                "No LLM is configured on this server: set OFSTED_QA_LLM__BASE_URL to an OpenAI-compatible endpoint, "
                "or ask with the extractive answerer."
            )
        return wanted

    def condense(self, question: str, history: list[Turn]) -> str:
        """Return the follow-up as the LLM rewrites it to stand alone, or '' (the rule-based handling then runs)."""
        from api.llm import GenerationFailed, condense_question

        try:
            return condense_question(
                self.llm, self.settings.llm, question, history, self.settings.api.max_question_chars
            )
        except GenerationFailed as exc:
            log.info("condensing the follow-up failed, the rules resolve it: %s", exc.detail)
            return ""

    def answer_events(
        self,
        question: str,
        filters: Filters | None = None,
        history: list[Turn] | None = None,
        rerank_candidates: int | None = None,
        debug: bool = False,
        answerer: AnswererName | None = None,
    ) -> Iterator[Event]:
        """Yield the answer as it is made: with the LLM answerer, each checked sentence as the model completes it
        (and a Retracted event if generation then fails); always the final Answer last."""
        from api.generate import finish, generate_events, make_draft, not_generated

        index = self.require_index()
        if self.choose_answerer(answerer) == "extractive":
            yield answer_question(
                question,
                index,
                self.embedder,
                self.reranker,
                self.settings,
                filters=filters,
                history=history,
                rerank_candidates=rerank_candidates,
                debug=debug,
            )
            return
        condensed = self.condense(question, history) if self.settings.llm.condense and history else ""
        drafts: list[Draft] = []

        def capture(q: str, ranked: list[Hit], extractive: Answer) -> Answer:
            drafts.append(make_draft(q, ranked, extractive, index, self.settings))
            return extractive

        base = answer_question(
            condensed or question,
            index,
            self.embedder,
            self.reranker,
            self.settings,
            filters=filters,
            history=history,
            rerank_candidates=rerank_candidates,
            debug=debug,
            generate=capture,
        ).model_copy(update={"question": question})
        if not drafts or not drafts[0].given or not base.answerable:
            yield not_generated(base, self.settings, condensed)
            return
        started = time.perf_counter()
        scorer = self.reranker.score if self.reranker is not None else None
        for event in generate_events(drafts[0], self.llm, index, scorer, self.settings):
            if not isinstance(event, Answer):
                yield event
                continue
            final = finish(event, base, started)
            if condensed and final.generation is not None:
                final = final.model_copy(
                    update={"generation": final.generation.model_copy(update={"condensed": condensed})}
                )
            yield final

    def candidates(self, question: str, filters: Filters | None = None, history: list[Turn] | None = None) -> list[Hit]:
        """Return the first stage's fused candidates for a question, best first: the list the cross-encoder reads
        its first `rerank_candidates` from (empty when no indexed report is in the question's scope)."""
        index = self.require_index()
        asked = check_question(question, self.settings.api.max_question_chars)
        resolved, scope = question_scope(asked, index, filters, history)
        if scope.filters.document_ids == []:
            return []
        return first_stage(resolved.question, index, self.embedder, self.settings, scope).fused

    def findings(self, request: FindingsRequest) -> Findings:
        """Return what the reports say about a topic, grouped by authority and report."""
        return find_findings(
            request,
            self.require_index(),
            self.embedder,
            self.topic_reranker,
            self.settings.findings,
            self.settings.api.max_question_chars,
            self.settings.retrieval.expand_glossary,
        )
