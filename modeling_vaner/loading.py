"""One verb to get a ready tagger: `load_pipeline(model=None)`.

A model is one of: None (the embedded vaner-smol: the LoRA adapter and head committed in this package, on the
embedded SmolLM2-135M backbone), a folder written by `save_vaner_folder` or a hub id of one, a LoRA adapter
folder written by `vaner train` (adapter_config.json + config.json), or a training run's output_dir (its adapter).
"""

import sys
from pathlib import Path

from .adapter import default_model_dir, is_adapter_dir, load_adapter, run_folder_model
from .processing_vaner import DEFAULT_BATCH_SIZE


def load_vaner(model: str | None = None, *, dtype=None, merge: bool = True):
    """Returns `(model, tokenizer, trained)`; `trained` is False only for the untrained-head fallback used while
    no vaner-smol adapter is committed. `merge`: for adapters, see `load_adapter`.

    Raises:
        FileNotFoundError: a folder without config.json.
        ValueError: a model of another type.
    """
    from transformers import PreTrainedTokenizerFast

    from .backbone import build_vaner_model
    from .processing_vaner import prepare_tokenizer

    if model is None:
        path = default_model_dir()
        if not is_adapter_dir(path):
            print(
                "vaner: no trained vaner-smol adapter in this install: using the embedded SmolLM2-135M backbone "
                "with an UNTRAINED head (entities are random). Train one with `vaner train` or pass --model.",
                file=sys.stderr,
            )
            built, tokenizer = build_vaner_model(None, dtype=dtype)
            return built, tokenizer, False
        return (*load_adapter(path, dtype, merge), True)
    path = run_folder_model(Path(model))
    if not path.exists() and (path.is_absolute() or model.startswith((".", "~")) or model.count("/") > 1):
        raise FileNotFoundError(f"no such model folder: {model}")  # a path, not a hub id (namespace/name)
    if path.exists() and not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} has no config.json: not a VANER model, adapter or training run folder")
    if is_adapter_dir(path):
        return (*load_adapter(path, dtype, merge), True)
    from .configuration_vaner import VanerConfig
    from .modeling_vaner import VanerForTokenClassification

    model_type = VanerConfig.get_config_dict(model)[0].get("model_type")
    if model_type != "vaner":
        raise ValueError(f"{model} is a {model_type!r} model, not a VANER model")
    loaded = VanerForTokenClassification.from_pretrained(model, dtype=dtype)
    # The generic fast class: AutoTokenizer would read config.json's auto_map and ask to run the folder's code.
    return loaded, prepare_tokenizer(PreTrainedTokenizerFast.from_pretrained(model)), True


def load_pipeline(
    model: str | None = None,
    *,
    device=None,
    precision: str = "auto",
    batch_size: int = DEFAULT_BATCH_SIZE,
    compile: bool = False,
    decoding: str = "viterbi",
    padding: str = "masked",
    onnx_model=None,
):
    """A `VanerTokenClassificationPipeline` for `model` (see module docstring); call it with text.

    `precision`: "auto" (bf16 where the hardware computes it natively, else fp32; `$VANER_PRECISION` forces
    either), "bf16", "fp32" or "int8" (fp32 weights, then the backbone's linear layers quantized to int8 with
    torchao; `benchmarks/results/int8_quality.json` measures what it costs). The weights are loaded in that dtype:
    casting once beats autocasting fp32 weights on every batch. `compile`: compile the
    forward with `torch.compile` (minutes once, then ~1.3x faster on CPU; for bulk tagging). `decoding`: "viterbi"
    (the most probable valid IOB2 label sequence) or "argmax" (each word's most probable label). `padding`:
    "masked" or "visible" (a converted release as its authors ran it; see `VanerTokenClassificationPipeline`).
    `onnx_model`: a file `vaner export-onnx` wrote from `model`, run by ONNX Runtime instead of the torch forward
    (`model` still gives the config and tokenizer; precision "auto" or "fp32")."""
    import torch

    from .pipeline_vaner import VanerTokenClassificationPipeline, resolve_precision

    if onnx_model is None:
        precision = resolve_precision(precision, torch.device("cpu" if device is None else device))
    loaded, tokenizer, _ = load_vaner(model, dtype=torch.bfloat16 if precision == "bf16" else torch.float32)
    return VanerTokenClassificationPipeline(
        model=loaded.eval(),
        tokenizer=tokenizer,
        device=device,
        batch_size=batch_size,
        precision=precision,
        compile=compile,
        decoding=decoding,
        padding=padding,
        onnx_model=onnx_model,
        task="token-classification",
    )
