"""One verb to get a ready tagger: `load_pipeline(model=None)`.

A model is one of: None (the embedded vaner-smol: the LoRA adapter and head committed in this package, on the
embedded SmolLM2-135M backbone), a folder written by `save_vaner_folder` or a hub id of one, a LoRA adapter
folder written by `vaner train` (adapter_config.json + config.json), or a training run's output_dir (its adapter).
"""

import sys
from pathlib import Path

from .adapter import default_model_dir, is_adapter_dir, load_adapter, run_folder_model
from .options_vaner import PADDINGS


def load_vaner(model: str | None = None, *, dtype=None, merge: bool = True, verbose: bool = False):
    """Returns `(model, tokenizer, trained)`; `trained` is False only for the untrained-head fallback used while
    no vaner-smol adapter is committed. `merge`: for adapters, see `load_adapter`. `verbose`: show what the libraries
    print while loading (weight-loading bars, load reports, import notices; `backbone.quiet_loading`).

    Raises:
        FileNotFoundError: a folder without config.json.
        ValueError: a model of another type, or a checkpoint that lacks weights.
    """
    from transformers import PreTrainedTokenizerFast

    from .backbone import build_vaner_model, load_checkpoint
    from .processing_vaner import prepare_tokenizer

    if model is None:
        path = default_model_dir()
        if not is_adapter_dir(path):
            print(
                "vaner: no trained vaner-smol adapter in this install: using the embedded SmolLM2-135M backbone "
                "with an UNTRAINED head (entities are random). Train one with `vaner train` or pass --model.",
                file=sys.stderr,
            )
            built, tokenizer = build_vaner_model(None, dtype=dtype, verbose=verbose)
            return built, tokenizer, False
        return (*load_adapter(path, dtype, merge, verbose), True)
    path = run_folder_model(Path(model))
    if not path.exists() and (path.is_absolute() or model.startswith((".", "~")) or model.count("/") > 1):
        raise FileNotFoundError(f"no such model folder: {model}")  # a path, not a hub id (namespace/name)
    if path.exists() and not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} has no config.json: not a VANER model, adapter or training run folder")
    if is_adapter_dir(path):
        return (*load_adapter(path, dtype, merge, verbose), True)
    from .configuration_vaner import VanerConfig

    model_type = VanerConfig.get_config_dict(model)[0].get("model_type")
    if model_type != "vaner":
        raise ValueError(f"{model} is a {model_type!r} model, not a VANER model")
    loaded = load_checkpoint(model, verbose=verbose, dtype=dtype)
    # The generic fast class: AutoTokenizer would read config.json's auto_map and ask to run the folder's code.
    return loaded, prepare_tokenizer(PreTrainedTokenizerFast.from_pretrained(model)), True


def load_pipeline(
    model: str | None = None,
    *,
    device=None,
    precision: str = "auto",
    batch_size: int | None = None,
    compile: bool = False,
    decoding: str | None = None,
    padding: str = PADDINGS[0],
    onnx_model=None,
    strict_types: bool = False,
    verbose: bool = False,
):
    """A ready tagger: call it with text (see `VanerTokenClassificationPipeline`).

    Args:
        model: None (the embedded vaner-smol), a model folder or hub id, an adapter folder or a training run's
            output_dir (see the module docstring).
        device: where the forward runs (default: the CPU): a name ("cpu", "cuda", "cuda:1"), or "auto": CUDA where
            there is a GPU, else the CPU (`runtime_vaner.resolve_device`).
        precision: see `runtime_vaner.resolve_precision` ("auto": bf16 where the hardware computes it natively,
            else fp32; `$VANER_PRECISION` forces either; "int8": fp32 weights, then the backbone's linear layers
            quantized with torchao). The weights are loaded in its dtype: casting once beats autocasting fp32
            weights on every batch.
        batch_size, decoding, strict_types: call options, as defaults for every call
            (`options_vaner.CALL_ARGUMENTS`; None: the defaults there).
        compile: compile the forward with `torch.compile` (minutes once, then ~1.3x faster on CPU; bulk tagging).
        padding: "masked" or "visible" (a converted release as its authors ran it).
        onnx_model: a file `vaner export-onnx` wrote from `model`, run by ONNX Runtime instead of the torch forward
            (`model` still gives the config and tokenizer; precision "auto" or "fp32").
        verbose: show what the libraries print while loading (see `load_vaner`).

    Returns:
        `VanerTokenClassificationPipeline`.

    Raises:
        FileNotFoundError: no such model folder or ONNX file.
        ValueError: a bad option, a device this machine cannot run on (before anything loads), or a model that is
            not a VANER model.
    """
    import torch

    from .pipeline_vaner import VanerTokenClassificationPipeline
    from .runtime_vaner import RESOLVED_PRECISIONS, resolve_device, resolve_precision

    device = resolve_device(device)
    if onnx_model is None:
        weight_dtype = resolve_precision(precision, torch.device("cpu" if device is None else device)).weight_dtype
    else:  # ONNX Runtime runs the exported file; the torch weights only give the config and the head's fingerprint
        weight_dtype = RESOLVED_PRECISIONS["fp32"].weight_dtype
    loaded, tokenizer, _ = load_vaner(model, dtype=weight_dtype, verbose=verbose)
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
        strict_types=strict_types,
        task="token-classification",
    )
