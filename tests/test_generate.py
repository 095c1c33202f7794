"""The LLM answerer against a scripted OpenAI-compatible server on loopback: adversarial output is caught, the
extractive answer is the fallback, the judge decides before any generation, and /ask/stream streams checked
sentences with their citations."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.engine import Engine
from api.generate import format_paragraphs
from indexer.errors import AnswererError
from indexer.models import Answer, Hit, Turn
from tests.conftest import LiveServer
from tests.scripted_llm import ScriptedLLM, given_labels, reply

QUESTION = "How quickly are contacts to the front door dealt with?"
P2 = "peterborough-ilacs-2023#2"
# the three sentences of paragraph 2 of the 2023 inspection, the paragraph this question is answered from
FOUND = (
    "The focused visit in March 2023 found that there were serious delays in the response to contacts and referrals "
    "and in children being visited and seen."
)
NOT_EFFECTIVE = "Initial responses to this shortfall were not effective and backlogs remained until August 2023."
IMPROVED = "Since the summer, improvements have been achieved and children's needs are promptly considered."


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


def llm_engine(engine: Engine, url: str, tmp: Path, **llm: object) -> Engine:
    """An engine sharing the session index and models, answering with the LLM at `url`."""
    settings = engine.settings.model_copy(deep=True)
    settings.api.feedback_path = tmp / "feedback.jsonl"
    settings.llm.answerer = "llm"
    settings.llm.base_url = url
    settings.llm.timeout_s = 3.0
    for name, value in llm.items():
        setattr(settings.llm, name, value)
    return Engine(settings, index=engine.index, embedder=engine.embedder, reranker=engine.reranker)


@pytest.fixture()
def llm(engine: Engine, scripted: ScriptedLLM, tmp_path: Path) -> Engine:
    return llm_engine(engine, scripted.url, tmp_path)


def test_supported_sentences_are_shown_with_their_citations_and_prompt_version(
    llm: Engine, scripted: ScriptedLLM
) -> None:
    scripted.answer(reply((IMPROVED, [P2]), (NOT_EFFECTIVE, [f"[{P2}]"])))
    answer = llm.ask(QUESTION)
    assert answer.answerable and answer.generation is not None
    assert answer.generation.answerer == "llm" and answer.generation.fallback == ""
    assert answer.generation.prompt_version == "v2" and len(answer.generation.prompt_sha256) == 12
    assert [s.text for s in answer.sentences] == [IMPROVED, NOT_EFFECTIVE]
    assert [s.citations for s in answer.sentences] == [[0], [0]]
    assert [(c.document_id, c.paragraph) for c in answer.citations] == [("peterborough-ilacs-2023", "2")]
    assert answer.answer == f"{IMPROVED} {NOT_EFFECTIVE}"
    assert answer.question == QUESTION and answer.timings_ms["generate"] > 0
    request = scripted.requests[0]
    assert given_labels(request) == [P2]
    schema = request["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["sentences"]["items"]["properties"]["labels"]["items"]["enum"] == [P2]


def test_an_invented_label_is_removed_and_a_sentence_left_without_one_is_dropped(
    llm: Engine, scripted: ScriptedLLM
) -> None:
    invented = "peterborough-ilacs-2023#99"
    scripted.answer(reply((IMPROVED, [P2, invented]), (NOT_EFFECTIVE, [invented])))
    answer = llm.ask(QUESTION)
    assert answer.generation is not None and answer.generation.answerer == "llm"
    assert [s.text for s in answer.sentences] == [IMPROVED]
    assert [(c.document_id, c.paragraph) for c in answer.citations] == [("peterborough-ilacs-2023", "2")]
    kept, dropped = answer.generation.checks
    assert kept.passed and kept.reasons == [f"unknown_label: '{invented}' was not among the paragraphs given"]
    assert not dropped.passed and dropped.reasons[-1] == "no_citation: the sentence cites none of the paragraphs given"


@pytest.mark.parametrize(
    ("case", "sentence", "rule"),
    [
        ("contradicts its paragraph", NOT_EFFECTIVE.replace("not effective", "effective"), "negation"),
        ("a number that differs", NOT_EFFECTIVE.replace("remained until", "remained for 5 months until"), "number"),
        ("a date that differs", NOT_EFFECTIVE.replace("August", "October"), "date"),
        ("a year that differs", FOUND.replace("2023", "2022"), "date"),
        (
            "a grade that differs",
            "The experiences and progress of children who need help and protection were judged inadequate.",
            "grade",
        ),
        ("a service not named", IMPROVED.replace("children's needs", "the Family Hub's cases"), "service"),
    ],
)
def test_an_unsupported_sentence_is_caught_by_its_rule_and_the_extractive_answer_shown(
    llm: Engine, scripted: ScriptedLLM, case: str, sentence: str, rule: str
) -> None:
    scripted.answer(reply((sentence, [P2])))
    answer = llm.ask(QUESTION)
    assert answer.generation is not None
    (check,) = answer.generation.checks
    assert [r.split(":")[0] for r in check.reasons] == [rule], (case, check.reasons)
    assert answer.generation.answerer == "extractive" and answer.generation.fallback == "nothing_supported"
    assert answer.generation.detail == "None of the 1 generated sentences is supported by the paragraphs it cites."
    assert sentence not in answer.answer
    assert answer.sentences[0].text == FOUND  # the extractive answer, copied from the paragraph


@pytest.mark.parametrize(
    ("case", "content", "fallback", "detail"),
    [
        ("no citations", reply((IMPROVED, [])), "nothing_supported", "None of the 1 generated sentences"),
        (
            "malformed JSON",
            '{"sentences": [{"text": "' + IMPROVED + '", "labels": ["' + P2 + '"]}, {"text": "Backlogs',
            "malformed",
            "The model's output is not the JSON asked for",
        ),
        ("JSON of another shape", '{"answer": "Quickly."}', "malformed", "The model's output is not the JSON"),
        ("a refusal in prose", "I'm sorry, but I cannot help with that.", "model_refused", "The model declined"),
        ("a refusal in JSON", reply(cannot_answer=True), "model_refused", "The model said the paragraphs do not"),
    ],
)
def test_unusable_output_falls_back_to_the_extractive_answer_with_the_reason(
    llm: Engine, scripted: ScriptedLLM, case: str, content: str, fallback: str, detail: str
) -> None:
    scripted.answer(content)
    answer = llm.ask(QUESTION)
    assert answer.generation is not None
    assert answer.generation.answerer == "extractive" and answer.generation.fallback == fallback, case
    assert answer.generation.detail.startswith(detail)
    assert answer.answerable and answer.sentences[0].text == FOUND
    assert [(c.document_id, c.paragraph) for c in answer.citations] == [("peterborough-ilacs-2023", "2")]


def test_a_time_out_falls_back_to_the_extractive_answer(engine: Engine, scripted: ScriptedLLM, tmp_path: Path) -> None:
    llm = llm_engine(engine, scripted.url, tmp_path, timeout_s=1.0)
    scripted.answer(reply((IMPROVED, [P2])), delay_s=2.5)
    answer = llm.ask(QUESTION)
    assert answer.generation is not None and answer.generation.fallback == "timeout"
    assert answer.generation.detail == "The model did not answer within 1 s (OFSTED_QA_LLM__TIMEOUT_S)."
    assert answer.sentences[0].text == FOUND
    assert 900 < answer.timings_ms["generate"] < 2400


def test_an_unreachable_endpoint_falls_back_saying_which_setting_to_check(engine: Engine, tmp_path: Path) -> None:
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    answer = llm_engine(engine, url, tmp_path).ask(QUESTION)
    assert answer.generation is not None and answer.generation.fallback == "error"
    assert answer.generation.detail == (
        f"The LLM endpoint {url} could not be reached; check OFSTED_QA_LLM__BASE_URL and that the server is running."
    )
    assert answer.sentences[0].text == FOUND


def test_a_refused_question_never_reaches_the_model(llm: Engine, scripted: ScriptedLLM) -> None:
    scripted.answer(reply((IMPROVED, [P2])))
    answer = llm.ask("What time does the council's swimming pool open?")
    assert not answer.answerable and answer.citations == []
    assert answer.generation is not None and answer.generation.fallback == "not_generated"
    assert answer.generation.detail.startswith("Refused before generation")
    assert scripted.requests == []


def test_a_question_compose_refuses_never_reaches_the_model(llm: Engine, scripted: ScriptedLLM) -> None:
    # retrieval and the judge pass it, but no cited sentence holds what it asks for (a person's name)
    scripted.answer(reply((IMPROVED, [P2])))
    answer = llm.ask("Who is the lead member for children's services?", debug=True)
    assert not answer.answerable and answer.citations == []
    assert answer.trace is not None and answer.trace[-2].rule == "the answer type asked for is missing"
    assert answer.generation is not None and answer.generation.fallback == "not_generated"
    assert scripted.requests == []


def test_a_grade_read_from_the_table_is_not_generated(llm: Engine, scripted: ScriptedLLM) -> None:
    scripted.answer(reply(("Care leavers were judged outstanding.", [P2])))
    answer = llm.ask("How were the experiences and progress of care leavers judged?")
    assert answer.citations[0].paragraph == "judgements" and answer.answer.endswith("was judged inadequate.")
    assert answer.generation is not None and answer.generation.fallback == "not_generated"
    assert scripted.requests == []


def test_a_failing_sentence_is_shown_flagged_when_the_setting_says_so(
    engine: Engine, scripted: ScriptedLLM, tmp_path: Path
) -> None:
    llm = llm_engine(engine, scripted.url, tmp_path, flag_unsupported=True)
    wrong = NOT_EFFECTIVE.replace("August", "October")
    scripted.answer(reply((IMPROVED, [P2]), (wrong, [P2])))
    answer = llm.ask(QUESTION)
    assert answer.generation is not None and answer.generation.answerer == "llm"
    ok, flagged = answer.sentences
    assert ok.unsupported == "" and flagged.text == wrong and flagged.citations == [0]
    assert flagged.unsupported == "date: October is not in the cited paragraphs or their reports' dates"
    assert answer.answer == f"{IMPROVED} [Not supported by the cited paragraphs: {wrong}]"


def test_flagged_sentences_alone_still_fall_back(engine: Engine, scripted: ScriptedLLM, tmp_path: Path) -> None:
    llm = llm_engine(engine, scripted.url, tmp_path, flag_unsupported=True)
    scripted.answer(reply((NOT_EFFECTIVE.replace("August", "October"), [P2])))
    answer = llm.ask(QUESTION)
    assert answer.generation is not None and answer.generation.fallback == "nothing_supported"
    assert answer.sentences[0].text == FOUND and all(not s.unsupported for s in answer.sentences)


def test_a_repeated_sentence_is_dropped(llm: Engine, scripted: ScriptedLLM) -> None:
    scripted.answer(reply((IMPROVED, [P2]), (f" {IMPROVED[:-1]}!", [P2])))
    answer = llm.ask(QUESTION)
    assert [s.text for s in answer.sentences] == [IMPROVED]
    assert answer.generation is not None
    assert answer.generation.checks[1].reasons == ["repeat: the same sentence again"]


def test_a_request_may_choose_its_answerer_only_when_the_operator_allows_it(
    engine: Engine, scripted: ScriptedLLM, tmp_path: Path
) -> None:
    scripted.answer(reply((IMPROVED, [P2])))
    with pytest.raises(AnswererError, match="OFSTED_QA_LLM__ALLOW_PER_REQUEST is off"):
        engine.ask(QUESTION, answerer="llm")
    allowed = llm_engine(engine, scripted.url, tmp_path, answerer="extractive", allow_per_request=True)
    assert allowed.ask(QUESTION).generation is None
    chosen = allowed.ask(QUESTION, answerer="llm")
    assert chosen.generation is not None and chosen.generation.answerer == "llm"
    assert chosen.sentences[0].text == IMPROVED
    no_llm = llm_engine(engine, "", tmp_path, answerer="extractive", allow_per_request=True)
    with pytest.raises(AnswererError, match="No LLM is configured on this server: set OFSTED_QA_LLM__BASE_URL"):
        no_llm.ask(QUESTION, answerer="llm")


def test_paragraphs_go_to_the_model_newest_report_first_with_label_report_and_dates(engine: Engine) -> None:
    index = engine.index
    assert index is not None
    chunks = {c.key: c for c in index.chunks}
    hits = [
        Hit(chunk=chunks[("peterborough-ilacs-2023", "2")], score=0.9, branch="reranked"),
        Hit(chunk=chunks[("peterborough-monitoring-visit-2025", "p8")], score=0.8, branch="reranked"),
    ]
    from api.generate import give_paragraphs

    extractive = Answer(answer="", answerable=True, sentences=[], citations=[])
    ordered = give_paragraphs(extractive, hits, index, engine.settings)
    assert [h.chunk.document_id for h in ordered] == ["peterborough-monitoring-visit-2025", "peterborough-ilacs-2023"]
    text = format_paragraphs(ordered, index, earlier=["peterborough-ilacs-2023"])
    assert text.startswith(
        "[peterborough-monitoring-visit-2025#p8] Peterborough monitoring visit, 21 to 22 January 2025 "
        "(the current position)\nSection: Findings and evaluation of progress\nProfessionals identify"
    )
    assert (
        "\n\n[peterborough-ilacs-2023#2] Peterborough inspection, 27 November to 8 December 2023 (an older report)"
        in text
    )


def _events(url: str, body: dict) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    with httpx.stream("POST", f"{url}/ask/stream", json=body, timeout=30) as r:
        assert r.status_code == 200
        text = "".join(r.iter_text())
    blocks = [b for b in text.strip().split("\n\n") if b]
    return [
        (b.split("\n")[0].removeprefix("event: "), json.loads(b.split("\n")[1].removeprefix("data: "))) for b in blocks
    ]


@pytest.fixture()
def llm_server(llm: Engine) -> Iterator[str]:
    with LiveServer(llm, llm.settings) as server:
        yield server.url


def test_stream_sends_each_checked_sentence_with_its_citations_then_done(
    llm_server: str, scripted: ScriptedLLM
) -> None:
    scripted.answer(reply((IMPROVED, [P2]), (NOT_EFFECTIVE.replace("not effective", "effective"), [P2]), (FOUND, [P2])))
    events = _events(llm_server, {"question": QUESTION})
    assert [k for k, _ in events] == ["sentence", "sentence", "done"]
    (_, first), (_, second), (_, done) = events
    assert (first["index"], first["text"], second["index"], second["text"]) == (0, IMPROVED, 1, FOUND)
    for data in (first, second):
        assert [(c["document_id"], c["paragraph"]) for c in data["citations"]] == [("peterborough-ilacs-2023", "2")]
        assert "Since the summer" in data["citations"][0]["text"]
    assert [s["text"] for s in done["sentences"]] == [IMPROVED, FOUND]
    assert done["generation"]["answerer"] == "llm"
    assert [c["reasons"][0].split(":")[0] for c in done["generation"]["checks"] if c["reasons"]] == ["negation"]


def test_stream_withdraws_streamed_sentences_when_the_output_turns_out_malformed(
    llm_server: str, scripted: ScriptedLLM
) -> None:
    scripted.answer('{"sentences": [{"text": "' + IMPROVED + '", "labels": ["' + P2 + '"]}, {"text": "Backlogs')
    events = _events(llm_server, {"question": QUESTION})
    kinds = [k for k, _ in events]
    assert kinds[:2] == ["sentence", "fallback"] and kinds[-1] == "done"
    assert events[0][1]["text"] == IMPROVED
    assert events[1][1]["kind"] == "malformed" and events[1][1]["sentences"] == 1
    assert events[2][1]["index"] == 0 and events[2][1]["text"] == FOUND  # the extractive answer, from the top
    assert events[-1][1]["generation"]["fallback"] == "malformed"


def test_ask_over_http_reports_the_fallback_reason_and_refuses_a_choice_not_allowed(
    llm_server: str, scripted: ScriptedLLM
) -> None:
    scripted.answer("not json")
    body = httpx.post(f"{llm_server}/ask", json={"question": QUESTION}, timeout=30).json()
    assert body["generation"]["fallback"] == "malformed" and body["sentences"][0]["text"] == FOUND
    r = httpx.post(f"{llm_server}/ask", json={"question": QUESTION, "answerer": "extractive"}, timeout=30)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("This server answers with the llm answerer and does not let a request choose")


def test_condense_rewrites_a_follow_up_and_falls_back_to_the_rules(
    engine: Engine, scripted: ScriptedLLM, tmp_path: Path
) -> None:
    llm = llm_engine(engine, scripted.url, tmp_path, condense=True)
    history = [Turn(question="What did the 2023 inspection say about the front door?", answer="Delays.")]
    standalone = "How quickly are contacts to Peterborough's front door dealt with now?"

    def script(request: dict) -> str:  # type: ignore[type-arg]
        prompt = request["messages"][-1]["content"]
        if "Rewrite the next question" in prompt:
            assert "Question: What did the 2023 inspection say about the front door?" in prompt
            return standalone
        return reply((IMPROVED, [P2]))

    scripted.answer(script)
    answer = llm.ask("and how quickly now?", history=history)
    assert answer.generation is not None and answer.generation.condensed == standalone
    assert answer.question == "and how quickly now?"
    scripted.answer(lambda request: "line one\nline two" if "Rewrite" in request["messages"][-1]["content"] else "x")
    fallen = llm.ask("and how quickly now?", history=history)
    assert fallen.generation is not None and fallen.generation.condensed == ""


def _first_sentence_and_a_wrong_grade(request: dict) -> str:  # type: ignore[type-arg]
    """A reply citing the first paragraph given: its first sentence as written, then a grade it does not print."""
    prompt = next(m["content"] for m in request["messages"] if m["role"] == "user")
    block = prompt.split("\n\n")[1].split("\n")
    label = given_labels(request)[0]
    text = block[2] if block[1].startswith("Section: ") else block[1]
    first = re.split(r"(?<=[.!?])\s+", text.removeprefix("- "))[0]
    return reply((first, [label]), ("It was judged outstanding.", [label]))


def test_eval_runs_the_llm_answerer_beside_the_extractive_one_and_counts_what_was_dropped(
    engine: Engine, scripted: ScriptedLLM, tmp_path: Path
) -> None:
    from eval.dataset import DEFAULT_SET
    from eval.report import evaluate

    wanted = ["q001", "q021", "q023", "q024", "q155"]
    chosen = [line for line in DEFAULT_SET.read_text().splitlines() if json.loads(line)["id"] in wanted]
    questions = tmp_path / "five.jsonl"
    questions.write_text("\n".join(chosen) + "\n")
    scripted.answer(_first_sentence_and_a_wrong_grade)
    result = evaluate(
        [questions],
        index=engine.settings.index.dir,
        out=tmp_path / "out",
        systems=["ofsted-qa-llm"],
        plots=False,
        llm={"base_url": scripted.url, "model": "scripted", "timeout_s": 10.0},
    )
    assert result["systems"] == ["ofsted-qa", "ofsted-qa-llm"]
    assert "generation" not in result["summary"]["ofsted-qa"]
    figures = result["summary"]["ofsted-qa-llm"]["generation"]
    assert figures["answers"] == 5 and figures["not_generated"] == 2  # q001 read from the table, q155 refused
    assert figures["llm_asked"] == 3 and figures["llm_shown"] == 3 and figures["fallbacks"] == {}
    assert figures["sentences_generated"] == 6 and figures["sentences_dropped"] == 3
    assert figures["dropped_share"] == 0.5 and figures["dropped_by_rule"]["grade"] == 3
    assert figures["generate_p50_ms"] > 0
    llm_records = [r for r in result["records"] if r["system"] == "ofsted-qa-llm"]
    assert [r["id"] for r in llm_records] == ["q001", "q021", "q023", "q024", "q155"]
    assert all("It was judged outstanding." not in r["answer"] for r in llm_records)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## ofsted-qa-llm: generation" in report and "dropped by the check: 3 (50.0%)" in report


def test_eval_of_the_llm_answerer_needs_an_endpoint(engine: Engine, tmp_path: Path) -> None:
    from eval.dataset import DatasetError
    from eval.report import evaluate

    with pytest.raises(DatasetError, match="--systems ofsted-qa-llm needs --llm-url"):
        evaluate([], index=engine.settings.index.dir, out=tmp_path, systems=["ofsted-qa-llm"], plots=False)
