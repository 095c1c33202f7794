"""Answering: cited extractive answers, grade answers from the table, refusals, verified citations."""

from __future__ import annotations

import pytest

from api.answer import check_question
from api.citations import supports, verify_citations
from api.compose import split_sentences
from indexer.errors import QuestionError
from indexer.models import Answer, Sentence
from prompts import load


def test_care_leavers_grade_is_read_from_the_judgement_table(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("How were the experiences and progress of care leavers judged?")
    assert answer.answerable
    assert [(c.document_id, c.paragraph) for c in answer.citations] == [("peterborough-ilacs-2023", "judgements")]
    assert answer.sentences[0].text == (
        "In the Peterborough inspection (27 November to 8 December 2023), the experiences and progress of care "
        "leavers was judged inadequate."
    )
    assert answer.sentences[0].citations == [0]


def test_overall_effectiveness_grade(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("What was Peterborough's overall effectiveness grade?")
    assert "overall effectiveness was judged inadequate" in answer.answer
    assert answer.citations[0].paragraph == "judgements"


def test_lowest_and_best_grades_name_their_areas_from_the_table(engine) -> None:  # type: ignore[no-untyped-def]
    lowest = engine.ask("What was the lowest grade Peterborough got in 2023, and for which judgement?")
    assert [(c.document_id, c.paragraph) for c in lowest.citations] == [("peterborough-ilacs-2023", "judgements")]
    assert [s.text.split(", ", 1)[1] for s in lowest.sentences] == [
        "the experiences and progress of care leavers was judged inadequate."
    ]  # overall effectiveness is the summary, not an area: the seed table grades care leavers alone inadequate
    best = engine.ask("Which area got Peterborough's best grade?")
    assert len(best.sentences) == 3 and all("requires improvement to be good" in s.text for s in best.sentences)
    assert "care leavers" not in best.answer


def test_finding_cites_the_paragraph_it_quotes(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("What did the 2025 monitoring visit say about the emergency duty team?")
    assert answer.answerable
    refs = [(c.document_id, c.paragraph) for c in answer.citations]
    assert ("peterborough-monitoring-visit-2025", "p19") in refs
    for sentence in answer.sentences:
        assert sentence.citations
        for i in sentence.citations:
            citation = answer.citations[i]
            assert sentence.text in citation.text  # extractive: each sentence is inside its cited paragraph
            assert citation.text == engine.index.paragraphs[(citation.document_id, citation.paragraph)].text


def test_what_needs_to_improve_lists_the_bullets(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("What needs to improve in Peterborough?")
    assert [c.paragraph for c in answer.citations] == [f"improve-{i}" for i in range(1, 9)]
    identified = engine.ask("What areas for improvement did Ofsted identify for Peterborough at the latest inspection?")
    assert [c.paragraph for c in identified.citations] == [f"improve-{i}" for i in range(1, 9)]
    assert answer.sentences[1].text.startswith("Service capacity, particularly in the safeguarding teams")


def test_off_topic_question_is_refused_with_closest_apart(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("What is the council's policy on bin collections and recycling?")
    assert not answer.answerable
    assert answer.answer == load("refusal")
    assert answer.citations == [] and answer.sentences == []
    assert len(answer.closest) == 3


def test_question_about_a_report_not_indexed_is_refused(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("What did the 2018 inspection say about care leavers?")
    assert not answer.answerable
    assert answer.answer.startswith("No indexed report matches the 2018 inspection.")
    assert "Peterborough inspection (27 November to 8 December 2023)" in answer.answer


def test_question_asking_for_a_number_the_reports_lack_is_refused(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("What percentage of Peterborough's social workers are agency staff?")
    assert not answer.answerable


def test_an_amount_of_money_or_a_name_must_be_in_the_answer_not_just_a_number_or_the_role() -> None:
    from api.compose import answer_type_missing

    payment = "How much is the birthday payment for care leavers?"
    assert answer_type_missing(payment, ["Care leavers get birthday payments up to age 25."])  # an age, not an amount
    assert not answer_type_missing(payment, ["Care leavers get a birthday payment of £100 until age 25."])
    role = "Who is Merton's independent scrutineer?"
    assert answer_type_missing(role, ["Leaders, including the independent scrutineer, describe Merton Council well."])
    assert not answer_type_missing(role, ["The independent scrutineer, Jane Smith, chairs the partnership."])
    dcs = "whats the new DCS called"  # 'DCS' is a role; 'whats' is 'what is'
    assert answer_type_missing(dcs, ["The DCS has strengthened the senior leadership team."])
    assert not answer_type_missing(dcs, ["The new DCS, Jane Smith, started in May."])
    # a question about how much progress asks for no amount
    assert not answer_type_missing("How much progress has been made?", ["Progress has been slow."])
    investment = "How much additional investment was agreed in the business case?"
    assert answer_type_missing(investment, ["Alongside securing the business case for additional investment."])
    fund = "How much have the councillors put into the fund for care leavers?"
    assert answer_type_missing(fund, ["Elected members have given their annual pay rise to the councillors' fund."])
    assert not answer_type_missing(fund, ["Elected members have given £20,000 to the councillors' fund."])
    # the name of a thing: a quoted or capitalised name the question does not use, not a person's
    called = "What is the children in care council called?"
    assert not answer_type_missing(called, ["The Children in Care Council, Kickback, is a favourite with children."])
    assert answer_type_missing(called, ["The children in care council meets monthly."])
    timescale = "What timescale does Peterborough set for completing a care leaver's pathway plan?"
    assert answer_type_missing(timescale, ["Pathway plans are not always updated when circumstances change."])
    assert not answer_type_missing(timescale, ["Pathway plans are completed within 20 working days."])
    which = "Which neighbouring council runs the out-of-hours service?"
    assert answer_type_missing(which, ["The out-of-hours service, managed by a neighbouring authority, responds."])
    assert not answer_type_missing(which, ["The out-of-hours service is run by Leicestershire County Council."])


def test_the_sentence_holding_the_name_asked_for_is_the_one_quoted(engine) -> None:  # type: ignore[no-untyped-def]
    # the title block's first lines share more words with the question; the lead inspector's line holds the answer
    answer = engine.ask("Who led the 2023 Ofsted inspection of Peterborough?")
    assert answer.answerable
    assert ("peterborough-ilacs-2023", "header") in [(c.document_id, c.paragraph) for c in answer.citations]
    assert any(s.text.startswith("Lead inspector: Russel Breyer") for s in answer.sentences)


def test_a_named_scheme_the_reports_in_scope_never_name_is_refused(engine) -> None:  # type: ignore[no-untyped-def]
    from api.names import unmentioned_terms
    from api.scope import resolve_scope

    index = engine.require_index()
    letter = "What did the 2025 monitoring visit say about the virtual school?"  # only the 2023 inspection names it
    assert unmentioned_terms(letter, index, resolve_scope(letter, index, None)) == ["virtual school"]
    answer = engine.ask(letter)
    assert not answer.answerable and answer.citations == []
    inspection = "What did the 2023 inspection say about the virtual school?"
    assert unmentioned_terms(inspection, index, resolve_scope(inspection, index, None)) == []
    assert engine.ask(inspection).answerable
    assert unmentioned_terms(
        "Is Staying Close available to Peterborough's care leavers?",
        index,
        resolve_scope("Is Staying Close available to Peterborough's care leavers?", index, None),
    ) == ["Staying Close"]
    # a topic reports always name when they cover it counts, in any of its forms ('privately fostered children')
    carers = "What support does Peterborough give young carers who look after a poorly parent?"
    assert unmentioned_terms(carers, index, resolve_scope(carers, index, None)) == ["young carers"]
    fostered = "Are privately fostered children identified in Peterborough?"  # the 2023 report names them
    assert unmentioned_terms(fostered, index, resolve_scope(fostered, index, None)) == []
    # a general concept is not checked: reports describe kinship care in their own words ('extended families')
    assert (
        unmentioned_terms(
            "Does Peterborough make use of kinship care?",
            index,
            resolve_scope("Does Peterborough make use of kinship care?", index, None),
        )
        == []
    )


def test_citations_are_only_paragraphs_retrieval_returned(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("Are children seen alone during assessments?")
    assert answer.answerable
    forged = answer.model_copy(update={"citations": [answer.citations[0].model_copy(update={"paragraph": "p3"})]})
    checked = verify_citations(forged, engine.index, {(c.document_id, c.paragraph) for c in answer.citations})
    assert not checked.answerable and checked.citations == []


def test_sentence_not_in_its_paragraph_is_dropped(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("Are children seen alone during assessments?")
    invented = Sentence(text="Children are never seen alone.", citations=[0])
    tampered = answer.model_copy(update={"sentences": [*answer.sentences, invented]})
    checked = verify_citations(tampered, engine.index, {(c.document_id, c.paragraph) for c in answer.citations})
    assert invented.text not in [s.text for s in checked.sentences]
    assert len(checked.sentences) == len(answer.sentences)


def test_grade_sentence_must_match_the_table(engine) -> None:  # type: ignore[no-untyped-def]
    answer: Answer = engine.ask("How were care leavers judged?")
    table = answer.citations[0]
    assert supports(answer.sentences[0].text, table)
    assert not supports("In the Peterborough inspection, care leavers was judged outstanding.", table)


def test_questions_over_the_limit_or_empty_are_rejected() -> None:
    with pytest.raises(QuestionError, match="Question is 50,000 characters; the limit is 2,000"):
        check_question("x" * 50_000, 2000)
    with pytest.raises(QuestionError, match="empty"):
        check_question("   ", 2000)


def test_split_sentences_keeps_bullets_apart() -> None:
    text = "Inspectors looked at:\n- Timely responses.\n- MASH decisions. Second sentence."
    assert split_sentences(text) == [
        "Inspectors looked at:",
        "Timely responses.",
        "MASH decisions.",
        "Second sentence.",
    ]


def test_timings_are_reported(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("How is the MASH working?")
    assert {"embed", "retrieve", "rerank", "total"} <= set(answer.timings_ms)


def test_improvement_points_are_narrowed_to_the_topic_asked_about(engine) -> None:  # type: ignore[no-untyped-def]
    index = engine.require_index()
    bullets = [p for p in index.reports["peterborough-ilacs-2023"].paragraphs if p.label.startswith("improve-")]
    everything = engine.ask("What needs to improve in Peterborough according to the 2023 inspection?")
    assert [c.paragraph for c in everything.citations] == [p.label for p in bullets]
    leavers = engine.ask("What needs to improve for care leavers?")
    naming = {p.label for p in bullets if "care leaver" in p.text.lower()}
    assert naming and {c.paragraph for c in leavers.citations} == naming


def test_the_cross_encoder_reads_the_topic_not_the_question_frame() -> None:
    from api.retrieve import rerank_query, without_frame

    asked = "What did inspectors say about care leavers' accommodation in Barnet?"
    assert without_frame(asked) == "What about care leavers' accommodation in Barnet?"
    assert without_frame("What did the report say on the MASH?") == "What about the MASH?"
    # a frame with nothing after it, or no frame at all, is left alone
    for unchanged in ("What did inspectors find?", "Is the MASH effective?", "What did the 2023 inspection find?"):
        assert without_frame(unchanged) == unchanged
    assert rerank_query(asked, asked + " (young people)", "acronyms") == without_frame(asked)


def test_a_name_no_report_in_scope_uses_is_refused_not_answered_from_near_paragraphs(engine) -> None:  # type: ignore[no-untyped-def]
    from api.names import unknown_acronyms, unknown_names
    from api.scope import resolve_scope

    index = engine.require_index()
    football = engine.ask("How did Peterborough United do in the league last season?")
    assert not football.answerable and not football.citations and not football.closest
    asked = "What does the Aspire exploitation team do in Peterborough?"
    assert unknown_names(asked, index, resolve_scope(asked, index, None)) == ["Aspire"]
    assert not engine.ask(asked).answerable
    # names the reports do use, authority names and months are not unknown
    known = "What did the Family Court say in January about Peterborough?"
    assert unknown_names(known, index, resolve_scope(known, index, None)) == []
    consent = "Can the hub act without a parent's OK when a child might be in danger?"  # 'OK' is a word here
    assert unknown_acronyms(consent, index) == unknown_names(consent, index, resolve_scope(consent, index, None)) == []
    # glossary acronyms in any case ('S47' for 's47') and with an ampersand ('B&Bs') are known, not names

    for glossary in ("Are any care leavers stuck in B&Bs?", "Are safety plans during S47 enquiries good enough?"):
        assert unknown_acronyms(glossary, index) == []
        assert unknown_names(glossary, index, resolve_scope(glossary, index, None)) == []


def test_the_fine_tuned_cross_encoder_reads_the_question_as_asked(engine) -> None:  # type: ignore[no-untyped-def]
    from api.retrieve import rerank_query

    asked = "Are kids in private fostering picked up?"
    assert rerank_query(asked, asked + " (private fostering)", "acronyms") == asked
    asked = "What did inspectors say about the EDT?"
    assert rerank_query(asked, asked + " (emergency duty team)", "acronyms") == (
        "What about the EDT? (emergency duty team)"
    )
    answer = engine.ask("Are caseloads manageable for frontline staff?", debug=True)
    assert answer.trace is not None
    assert any(step.stage == "judge" and step.rule == "learned judge" for step in answer.trace)


def test_a_question_using_a_glossary_synonym_is_answered_from_what_it_means(engine) -> None:  # type: ignore[no-untyped-def]
    asked = "Are safety plans during S47 enquiries good enough?"  # 'S47' is a glossary synonym, not a headword
    answer = engine.ask(asked)
    assert answer.answerable
    assert any("child protection enquiries" in c.text.lower() for c in answer.citations)  # what S47 means


def test_a_specific_paragraph_nearly_as_good_as_the_summary_is_cited_first(engine) -> None:  # type: ignore[no-untyped-def]
    from api.compose import compose_answer
    from indexer.models import Hit

    index = engine.require_index()
    doc = "peterborough-ilacs-2023"

    def hit(label: str, logit_score: float) -> Hit:
        chunk = index.chunk_of(doc, label)
        assert chunk is not None
        return Hit(chunk=chunk, score=1 / (1 + 2.718281828**-logit_score), branch="reranked")

    penalty = engine.settings.answer.summary_penalty_logit
    assert penalty > 0
    near = [hit("p1", 4.0), hit("11", 4.0 - penalty / 2)]  # the summary leads by less than its penalty
    answer = compose_answer("How is the front door?", near, index, engine.settings, reranked=True)
    assert answer.citations[0].paragraph == "11"
    assert abs(answer.citations[0].score - near[1].score) < 1e-3  # the score shown is its own, not the weight
    far = [hit("p1", 4.0), hit("11", 4.0 - penalty - 2)]  # a clear lead keeps the summary first
    assert (
        compose_answer("How is the front door?", far, index, engine.settings, reranked=True).citations[0].paragraph
        == "p1"
    )


def test_the_cross_encoder_reads_the_rest_of_the_candidates_only_when_the_first_ones_are_not_clear(engine) -> None:  # type: ignore[no-untyped-def]
    from api.judge import logit
    from api.retrieve import rerank, rerank_cascade
    from indexer.store import fuse

    index = engine.require_index()
    question = "How well are care leavers supported by their personal advisers?"
    dense, bm25 = index.search_branches(question, engine.embedder.embed_query(question), k=30)
    fused = fuse([dense, bm25])
    full = rerank(question, fused, index, engine.reranker, 8)
    # the first four reach the bar: the reading stops there, with the same scores for those four
    head = rerank(question, fused, index, engine.reranker, 4)
    reached = logit(head[0].score) - 0.1
    assert rerank_cascade(question, fused, index, engine.reranker, 8, 4, enough_logit=reached) == head
    # a bar the first four do not reach: all eight are read, exactly as in one reading
    bar = logit(head[0].score) + 0.1
    assert rerank_cascade(question, fused, index, engine.reranker, 8, 4, enough_logit=bar) == full
    # off (first 0, the default, or first >= n): one reading
    assert rerank_cascade(question, fused, index, engine.reranker, 8, 0, enough_logit=4.0) == full
    assert rerank_cascade(question, fused, index, engine.reranker, 8, 8, enough_logit=4.0) == full
