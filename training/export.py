"""Export a fine-tuned torch model to int8 ONNX, loadable through the same onnxruntime path as the shipped ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


def export_int8(model: Any, sample: Any, out: Path, output: str, axes: dict[int, str]) -> None:
    """Write `out`/model.onnx: the model exported to ONNX (one named output with its dynamic axes), then quantized
    dynamically to int8 per channel (per tensor snaps fine-tuned weights back to the stock grid and erases the gain)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out.mkdir(parents=True, exist_ok=True)
    fp32 = out / "model-fp32.onnx"
    dynamic = {n: {0: "batch", 1: "sequence"} for n in INPUTS} | {output: axes}
    with torch.no_grad():
        torch.onnx.export(
            model,
            tuple(sample[n] for n in INPUTS),
            str(fp32),
            input_names=INPUTS,
            output_names=[output],
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )
    quantize_dynamic(str(fp32), str(out / "model.onnx"), per_channel=True, weight_type=QuantType.QInt8)
    fp32.unlink()
