"""Bad input, tried systematically: schemathesis fuzzes every operation of the OpenAPI schema against a real
server (positive and negative cases), then the named cases. No 5xx; every 4xx says what to do."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from pydantic import SecretStr
from schemathesis import GenerationMode

from api.engine import Engine
from tests.conftest import LiveServer, engine_copy

KEY = {"Authorization": "Bearer fuzz-key"}
GENERIC = {"Not Found", "Bad Request", "Method Not Allowed", "Unprocessable Entity", "Internal Server Error"}
SENT: Counter[str] = Counter()
UNSATISFIABLE: list[
    str
] = []  # operations with no invalid input to generate  # status class → requests sent by the fuzzer
EXAMPLES_PER_OPERATION = 70  # per operation and mode; small input spaces stop sooner: about 1,200 requests


def actionable(detail: object) -> bool:
    """A message a person can act on: a sentence naming what is wrong (and usually what to do), not a bare code."""
    return isinstance(detail, str) and len(detail) >= 25 and " " in detail.strip() and detail not in GENERIC


@pytest.fixture(scope="module")
def fuzz_server(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server over its own copy of the index, writes keyed (the fuzzer sends the key), rate limits off."""
    tmp = tmp_path_factory.mktemp("fuzz")
    eng = engine_copy(engine, tmp, api_keys=[SecretStr("fuzz-key")], rate_limit_per_minute=0)
    with LiveServer(eng, eng.settings) as server:
        yield server.url


def fuzz_operation(operation, mode: GenerationMode, examples: int) -> None:  # type: ignore[no-untyped-def]
    """Send `examples` generated requests for one operation; fail on a 5xx or a 4xx without a usable message."""

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
        derandomize=True,
        database=None,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case) -> None:  # type: ignore[no-untyped-def]
        response = case.call(headers=KEY, timeout=120)
        SENT[f"{response.status_code // 100}xx"] += 1
        where = f"{case.method} {case.formatted_path} ({mode.value})"
        assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:500]}"
        if 400 <= response.status_code < 500:
            detail = response.json().get("detail")
            assert actionable(detail), f"{where}: {response.status_code} {detail!r}"

    try:
        send()
    except Unsatisfiable:
        # nothing can break the schema of GET /health, or of a path whose only parameter is any string
        assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid input could be generated"
        UNSATISFIABLE.append(operation.label)


def test_fuzzed_requests_get_no_server_errors_and_actionable_4xx(fuzz_server: str) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(operation, mode, EXAMPLES_PER_OPERATION)
    total = sum(SENT.values())
    print(f"fuzzing: {total} requests over {len(operations)} operations, by status class {dict(SENT)}")  # noqa: T201
    print(f"no invalid input exists for: {', '.join(UNSATISFIABLE)}")  # noqa: T201
    assert total >= 1000 and "5xx" not in SENT


# ------------------------------------------------------------------ the named cases


def post(url: str, path: str, **kwargs: object) -> httpx.Response:
    return httpx.post(f"{url}{path}", timeout=60, **kwargs)  # type: ignore[arg-type]


def test_fifty_thousand_character_question(fuzz_server: str) -> None:
    r = post(fuzz_server, "/ask", json={"question": "why " * 12_500})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("Question is 50,000 characters; the limit is 2,000")


@pytest.mark.parametrize(
    "question",
    [
        "care leavers\x00\x01\x1b[31m judged?",
        "Как оценили детей, покидающих опеку?",
        "كيف تم الحكم على رعاية الأطفال؟",
        "児童養護の評価は？ 🧒🏽",
        "\u202eevil\u202c how were care leavers judged?",
        "\ud7ff\ufeff\ufffd?",
    ],
)
def test_control_characters_and_other_scripts_are_answered_or_refused(fuzz_server: str, question: str) -> None:
    r = post(fuzz_server, "/ask", json={"question": question})
    assert r.status_code == 200 and isinstance(r.json()["answerable"], bool)


@pytest.mark.parametrize("body", [b"[1, 2]", b'"a question"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object(fuzz_server: str, body: bytes) -> None:
    r = post(fuzz_server, "/ask", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "the body must be a JSON object" in r.json()["detail"]


def test_invalid_json_and_wrong_content_type(fuzz_server: str) -> None:
    r = post(fuzz_server, "/ask", content=b'{"question": "hi"', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "the body is not valid JSON" in r.json()["detail"]
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        r = post(fuzz_server, "/ask", content=b'{"question": "hi"}', headers={"content-type": ctype})
        assert r.status_code == 422
        assert "with 'Content-Type: application/json'" in r.json()["detail"] and ctype in r.json()["detail"]


def test_unknown_report_id(fuzz_server: str) -> None:
    r = httpx.get(f"{fuzz_server}/reports/nowhere-2020")
    assert r.status_code == 404 and r.json()["detail"].startswith("No report 'nowhere-2020' in the index.")
    r = httpx.delete(f"{fuzz_server}/reports/nowhere-2020", headers=KEY)
    assert r.status_code == 404 and "Known reports include" in r.json()["detail"]


@pytest.mark.parametrize(
    "label", ["..%2F..%2Fetc%2Fpasswd", "%2E%2E", "%2e%2e%2f", "11%00", "a\\b", "..%5C..%5Cwin.ini"]
)
def test_paragraph_label_with_path_characters(fuzz_server: str, label: str) -> None:
    r = httpx.get(f"{fuzz_server}/reports/peterborough-ilacs-2023/paragraphs/{label}")
    assert r.status_code == 404 and actionable(r.json()["detail"])
    assert "root:" not in r.text


def test_two_megabyte_history(fuzz_server: str) -> None:
    history = [{"question": "q", "answer": "z" * 100_000}] * 21
    r = post(fuzz_server, "/ask", json={"question": "How were care leavers judged?", "history": history})
    assert r.status_code == 413 and "OFSTED_QA_API__MAX_BODY_BYTES" in r.json()["detail"]


def test_upload_name_is_never_a_path(fuzz_server: str, tmp_path: Path) -> None:
    files = {"file": ("../../../../tmp/evil.txt", b"\x00\x01binary", "text/plain")}
    r = post(fuzz_server, "/reports", files=files, headers=KEY)
    assert r.status_code == 422 and "binary data" in r.json()["detail"]
    assert not Path("/tmp/evil.txt").exists()
