"""`ofsted-qa bench-compare`: /ask latency of two or more running deployments, asked in turn in one run.

Each question goes to every deployment in turn (the order rotating from one question to the next), so a
machine that slows down or speeds up during the run affects them alike; the first deployment is the baseline
every other one's p50 and p95 are divided by.
"""

from __future__ import annotations

import time
from typing import Any

from eval.dataset import Question
from eval.metrics import percentile


def compare_latency(urls: list[str], questions: list[Question], repeats: int = 1) -> list[dict[str, Any]]:
    """Return per deployment: requests, p50 and p95 of /ask in ms, and each as a ratio to the first deployment's."""
    import httpx

    clients = [httpx.Client(base_url=u.rstrip("/"), timeout=120) for u in urls]
    for client in clients:  # one warm-up question each: models load on first use
        client.post("/ask", json={"question": "How are care leavers supported?"}).raise_for_status()
    times: list[list[float]] = [[] for _ in urls]
    turn = 0
    for _ in range(repeats):
        for q in questions:
            body = {"question": q.question, "history": [t.model_dump() for t in q.history]}
            order = [(turn + i) % len(urls) for i in range(len(urls))]
            turn += 1
            for i in order:
                t0 = time.perf_counter()
                clients[i].post("/ask", json=body).raise_for_status()
                times[i].append((time.perf_counter() - t0) * 1000)
    base50, base95 = percentile(times[0], 50), percentile(times[0], 95)
    return [
        {
            "url": url,
            "requests": len(ms),
            "p50_ms": round(percentile(ms, 50), 1),
            "p95_ms": round(percentile(ms, 95), 1),
            "p50_ratio": round(percentile(ms, 50) / base50, 3),
            "p95_ratio": round(percentile(ms, 95) / base95, 3),
        }
        for url, ms in zip(urls, times, strict=True)
    ]


def markdown(rows: list[dict[str, Any]]) -> str:
    """Return the comparison as a Markdown table."""
    lines = ["| deployment | requests | p50 ms | p95 ms | p50 ÷ first | p95 ÷ first |", "|---|---|---|---|---|---|"]
    lines += [
        f"| {r['url']} | {r['requests']} | {r['p50_ms']} | {r['p95_ms']} | {r['p50_ratio']} | {r['p95_ratio']} |"
        for r in rows
    ]
    return "\n".join(lines)
