"""`vaner export-onnx OUT.onnx`: the model's forward (token ids and attention mask in, O/B/I logits out) as an ONNX
file for ONNX Runtime, in fp32 or with int8 linear layers (ONNX Runtime's dynamic quantization). The pipeline runs
such a file with `onnx_model=` (`--onnx` on `vaner extract`, `evaluate`, `annotate`).

Measured on an AMX CPU, 2 threads (`benchmarks/results/speed_amx.json`, `onnx_int8_quality.json`; docs/RESULTS.md):
the int8 file runs the pipeline at 2.05x fp32 PyTorch, 1.45x torchao's int8 and 0.90x bf16, within 0.2 F1 of fp32
on the NCBI-disease and BC5CDR-chem test splits.
"""

import json
import logging
import tempfile
import warnings
from pathlib import Path

ONNX_OPSET = 17
# ONNX Runtime quantizes a MatMul's activations with ONE scale per tensor (torchao's int8 uses one per token), so
# three kinds of MatMul stay fp32: attention scores and values (both operands are activations), the classification
# head (kept in higher precision, as with torchao), and the MLP down projections, whose input (SiLU(gate) * up)
# has outlier channels one scale cannot hold. Chosen on the dev splits (`benchmarks/results/
# onnx_int8_ablation_dev.json`, F1 against fp32: down projections in fp32 NCBI-disease -0.06, BC5CDR-chem -0.16;
# quantized too -0.60 and -1.78).
FP32_MODULES = ("/mlp/down_proj/", "/score/")


def export_model_onnx(model: str | None, output, *, int8: bool = False, overwrite: bool = False) -> Path:
    """Load `model` in fp32 and write its forward to `output` with `export_onnx` (`vaner export-onnx`).

    Args:
        model: as `load_vaner`'s (None: the embedded vaner-smol).
        output: the .onnx file to write.
        int8: int8 linear layers (see `export_onnx`).
        overwrite: replace `output` if it exists.

    Returns:
        The path written.

    Raises:
        ValueError: `output` is a folder, or exists without `overwrite`.
    """
    import torch

    from .loading import load_vaner

    output = Path(output)
    if output.is_dir():
        raise ValueError(f"{output} is a folder: name the .onnx file to write")
    if output.exists() and not overwrite:
        raise ValueError(f"{output} exists: pass --overwrite to replace it")
    loaded, _, _ = load_vaner(model, dtype=torch.float32)
    return export_onnx(loaded, output, int8=int8)


def export_onnx(model, output, *, int8: bool = False, fp32_modules: tuple[str, ...] = FP32_MODULES) -> Path:
    """Write `model`'s forward to `output` as ONNX: inputs `input_ids` and `attention_mask` (batch, tokens), int64;
    output `logits` (batch, tokens, num_labels), or for a one-pass model (batch, tokens, types, num_labels),
    float32; batch and tokens dynamic. The file's metadata holds `model_fingerprint(model)` under "vaner_model"
    (the pipeline refuses the file for another model, or the other form of this one).

    Args:
        model: a `VanerForTokenClassification` with its LoRA merged (cast to fp32 in place). One file holds the
            weights, so models up to protobuf's 2 GB (vaner-smol: 540 MB); the 7B configuration is not exported.
        output: the .onnx file to write (its folder is created).
        int8: quantize the linear layers (int8 weights per output channel, activations per tensor at run time),
            except those in `fp32_modules` and the attention's activation-by-activation products.
        fp32_modules: node name parts of the MatMuls int8 leaves in fp32 (default `FP32_MODULES`; other values
            are for the ablation in `benchmarks/precision_quality.py`).

    Returns:
        The path written.

    Raises:
        ImportError: onnx or onnxruntime is not installed (`pip install "vaner[onnx]"`).
    """
    import onnx

    from .runtime_vaner import model_fingerprint

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        traced = Path(folder) / "model.onnx" if int8 else output
        trace_forward(model.float().eval(), traced)
        if int8:
            quantize_linear_layers(traced, output, fp32_modules)
        exported = onnx.load(str(output))
    onnx.helper.set_model_props(exported, {"vaner_model": json.dumps(model_fingerprint(model))})
    onnx.save(exported, str(output))
    return output


def trace_forward(model, path: Path) -> None:
    """Export with torch's TorchScript-based exporter: seconds where the torch.export-based one takes minutes, and
    its node names follow the module paths (`FP32_MODULES` selects by them). Its warnings concern branches this model's
    inputs never take (a mask shorter than the inputs, a causal mask), so they are silenced."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self, wrapped):
            super().__init__()
            self.wrapped = wrapped

        def forward(self, input_ids, attention_mask):
            return self.wrapped(input_ids=input_ids, attention_mask=attention_mask).logits

    input_ids = torch.randint(0, model.config.vocab_size, (2, 16))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 12:] = 0  # a padded row: the bidirectional padding mask is traced, not a constant
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LogitsOnly(model),
            (input_ids, attention_mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={**axes, "logits": {0: "batch", 1: "tokens"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )


def fp32_nodes(model_path: Path, fp32_modules: tuple[str, ...] = FP32_MODULES) -> list[str]:
    """The MatMul nodes of an exported file that int8 quantization leaves in fp32: those without a weight operand
    and those whose name contains one of `fp32_modules`."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    weights = {initializer.name for initializer in graph.initializer}
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul"
        and (not weights.intersection(node.input) or any(module in node.name for module in fp32_modules))
    ]


def quantize_linear_layers(source: Path, output: Path, fp32_modules: tuple[str, ...] = FP32_MODULES) -> None:
    """ONNX Runtime's dynamic quantization of `source` into `output`: int8 weights per output channel, uint8
    activations quantized per tensor at run time; `fp32_nodes` left as they are."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # it logs a generic advice to pre-process the model (shape inference for static quantization) on every call
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(
            str(source),
            str(output),
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=fp32_nodes(source, fp32_modules),
        )
    finally:
        logging.disable(logging.NOTSET)
