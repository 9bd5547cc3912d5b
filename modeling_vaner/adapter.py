"""The adapter folder: what `vaner train` writes, `load_vaner` reads and `vaner install-adapter` ships.

An adapter folder holds
- the model: `config.json` (VanerConfig), `adapter_config.json` (peft's LoRA config, whose
  `base_model_name_or_path` names the backbone) and `adapter_model.safetensors` (LoRA factors and the `score`
  head, float32 or bfloat16);
- the run record, when a run wrote it: `train_config.json` (the run's settings, and `init_adapter_recipe` for a
  later stage), `evaluation.json` (the final evaluation) and `training_curves.png`.

A run's `OUTPUT_DIR/adapter` and every `OUTPUT_DIR/checkpoint-N` are adapter folders, and so is the package's
default model, `modeling_vaner/weights/vaner-smol`: every tool takes any of them as it is.
"""

import json
import logging
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

ADAPTER_WEIGHTS = "adapter_model.safetensors"
# load_vaner reads config.json with this package's VanerConfig: the configuration_vaner.py copy that
# config.save_pretrained writes beside it (auto_map) is not needed and not shipped.
ADAPTER_FILES = ("config.json", "adapter_config.json", ADAPTER_WEIGHTS)
TRAIN_CONFIG_FILE = "train_config.json"
EVALUATION_FILE = "evaluation.json"
# the same test splits scored with the type-only instruction (VANER_adapt's form, what free text gets)
EVALUATION_TYPE_ONLY_FILE = "evaluation_type_only.json"
# the type-only instruction scored against the gold under its guideline (`vaner evaluate --gold guideline`)
EVALUATION_GUIDELINE_FILE = "evaluation_type_only_guideline.json"
PLOT_FILE = "training_curves.png"
RUN_RECORD_FILES = (TRAIN_CONFIG_FILE, EVALUATION_FILE, EVALUATION_TYPE_ONLY_FILE, EVALUATION_GUIDELINE_FILE, PLOT_FILE)
ADAPTER_DTYPES = ("float32", "bfloat16")
RUN_ADAPTER_DIR = "adapter"  # a training run's final adapter folder, inside its output_dir
MAX_SHIPPED_BYTES = 20_000_000
VANER_CONFIG_FIELDS = (
    "is_causal",
    "entity_types",
    "corpus_types",
    "dataset_instruction",
    "type_only_instruction",
    "one_pass",
    "one_pass_dataset_instruction",
    "one_pass_type_only_instruction",
    "instruction_dataset_names",
    "keep_instruction_space",
    "max_window_tokens",
    "classifier_dropout",
)


def default_model_dir() -> Path:
    """The embedded vaner-smol adapter folder inside the package."""
    return Path(__file__).parent / "weights" / "vaner-smol"


def run_folder_model(path: Path) -> Path:
    """`path`, or for a training run's folder (`vaner train`'s output_dir) the adapter folder inside it."""
    inside = path / RUN_ADAPTER_DIR
    return inside if not (path / "config.json").is_file() and is_adapter_dir(inside) else path


def is_adapter_dir(path: Path) -> bool:
    return (path / "adapter_config.json").is_file() and (path / "config.json").is_file()


def require_adapter_dir(path: Path) -> None:
    """Raises:
        FileNotFoundError: `path` is not an adapter folder."""
    if not is_adapter_dir(path):
        raise FileNotFoundError(f"{path} is not an adapter folder (config.json + adapter_config.json)")


def run_record_file(folder: Path, name: str) -> Path | None:
    """`folder/name` (one of RUN_RECORD_FILES) if the folder holds it, else None."""
    path = Path(folder) / name
    return path if path.is_file() else None


# ---------------------------------------------------------------------------------------------------------------
# Write
# ---------------------------------------------------------------------------------------------------------------
def save_adapter(peft_model, out_dir, dtype: str = "float32", train_config: dict | None = None) -> Path:
    """Write an adapter folder.

    Args:
        peft_model: the LoRA-wrapped VANER model (`training.build_model`).
        out_dir: the folder, created if missing.
        dtype: "float32" or "bfloat16", the dtype of the saved LoRA and head weights.
        train_config: the run's settings, written as train_config.json (None: none written).

    Returns:
        `out_dir` as a Path.
    """
    out_dir = Path(out_dir)
    # the embeddings are never trained here: without this peft reloads the backbone's config to compare vocabulary
    # sizes (as a VanerConfig, which warns that it reads a llama config)
    peft_model.save_pretrained(out_dir, save_embedding_layers=False)
    write_model_config(peft_model, out_dir, train_config)
    if dtype != "float32":
        cast_adapter_weights(out_dir / ADAPTER_WEIGHTS, dtype)
    return out_dir


def write_model_config(peft_model, folder: Path, train_config: dict | None = None) -> None:
    """config.json (and the run's train_config.json) into `folder`, beside the weights peft wrote there: this
    makes a Trainer checkpoint an adapter folder too."""
    peft_model.get_base_model().config.save_pretrained(folder)
    if train_config is not None:
        (Path(folder) / TRAIN_CONFIG_FILE).write_text(json.dumps(train_config, indent=2, default=str) + "\n")


def cast_adapter_weights(path: Path, dtype: str) -> None:
    """Rewrite a safetensors file with every tensor cast to `dtype` ("float32" or "bfloat16")."""
    import torch
    from safetensors.torch import load_file, save_file

    tensors = {name: tensor.to(getattr(torch, dtype)) for name, tensor in load_file(path).items()}
    save_file(tensors, path, metadata={"format": "pt"})


# ---------------------------------------------------------------------------------------------------------------
# Read
# ---------------------------------------------------------------------------------------------------------------
def load_adapter(path: Path, dtype=None, merge: bool = True, verbose: bool = False):
    """Build the model of an adapter folder: its backbone, the LoRA adapter and the head.

    Args:
        path: the adapter folder.
        dtype: a torch dtype to cast the loaded model to (None: float32).
        merge: merge the LoRA factors into the backbone's weights (a plain model); False keeps them beside the
            frozen weights (in bf16, a merged weight rounds away part of the small LoRA delta: the backbone's
            weights already sit on the bf16 grid).
        verbose: show the libraries' loading output (`backbone.quiet_loading`).

    Returns:
        `(model, tokenizer)`: a `VanerForTokenClassification` and its prepared fast tokenizer.

    Raises:
        FileNotFoundError: the folder or its backbone is missing.
        ValueError: the backbone's checkpoint lacks weights.
    """
    require_adapter_dir(path)
    from .backbone import build_vaner_model, quiet_loading
    from .configuration_vaner import VanerConfig

    config = VanerConfig.from_pretrained(path)
    backbone = json.loads((path / "adapter_config.json").read_text())["base_model_name_or_path"]
    overrides = {name: getattr(config, name) for name in VANER_CONFIG_FIELDS}
    # importing peft imports bitsandbytes, whose kernel lookup has its say (`backbone.QUIET_LOGGERS`)
    with quiet_loading(verbose):
        from peft import PeftModel

        # merged in float32, then cast: no double rounding
        model, tokenizer = build_vaner_model(backbone, verbose=verbose, **overrides)
        adapted = PeftModel.from_pretrained(model, path)
    model = adapted.merge_and_unload() if merge else adapted.get_base_model()
    return (model if dtype is None else model.to(dtype)), tokenizer


def fit_lora_rank(state: dict, peft_model, source_scale: float) -> dict:
    """LoRA factors of another rank made to fit `peft_model`'s rank, each layer's update `scale * B @ A` kept (up to
    the truncation below): a higher rank keeps A's rows and adds the model's own freshly initialised ones, with zero
    columns in B (the update unchanged, as LoRA starts); a lower rank takes the update's truncated SVD, split evenly
    between A and B.

    Args:
        state: the adapter's weights (peft's names); `*.lora_A.weight` of shape (r, in), `*.lora_B.weight` (out, r).
        peft_model: the model they go into (its rank and `lora_alpha`, and its initial A for new rows).
        source_scale: the adapter's `lora_alpha / r`.

    Returns:
        `state` with every LoRA pair of another rank replaced.
    """
    import torch
    from peft import get_peft_model_state_dict

    target = get_peft_model_state_dict(peft_model)
    lora = peft_model.peft_config["default"]
    scale = lora.lora_alpha / lora.r
    fitted = dict(state)
    for name_a in [name for name in state if name.endswith("lora_A.weight")]:
        name_b = name_a.replace("lora_A", "lora_B")
        if name_a not in target or state[name_a].shape == target[name_a].shape:
            continue
        a, b, rank = state[name_a], state[name_b] * (source_scale / scale), target[name_a].shape[0]
        if rank > a.shape[0]:
            fitted[name_a] = torch.cat([a, target[name_a][a.shape[0]:].float()])
            fitted[name_b] = torch.cat([b, b.new_zeros(b.shape[0], rank - a.shape[0])], dim=1)
        else:
            u, singular, vh = torch.linalg.svd(b @ a, full_matrices=False)
            root = singular[:rank].sqrt()
            fitted[name_a], fitted[name_b] = root[:, None] * vh[:rank], u[:, :rank] * root
    return fitted


def load_adapter_weights(peft_model, adapter_dir: Path) -> None:
    """Start from a trained adapter: its LoRA and head weights into `peft_model` (same target layers; another rank
    is fitted, `fit_lora_rank`). A per-type adapter's head starts a one-pass model's every head
    (`backbone.per_type_head_copies`).

    Raises:
        FileNotFoundError: the folder has no adapter_model.safetensors.
        ValueError: the adapter does not fit the model (another backbone or set of layers).
    """
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    from .backbone import per_type_head_copies

    weights = adapter_dir / ADAPTER_WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"init_adapter: {weights} does not exist")
    state = {name: tensor.float() for name, tensor in load_file(weights).items()}
    lora = json.loads((adapter_dir / "adapter_config.json").read_text())
    if lora["r"] != peft_model.peft_config["default"].r:
        logger.warning("init_adapter %s has LoRA rank %d: fitted to this run's rank %d (adapter.fit_lora_rank)",
                       adapter_dir, lora["r"], peft_model.peft_config["default"].r)
        state = fit_lora_rank(state, peft_model, lora["lora_alpha"] / lora["r"])
    config = peft_model.get_base_model().config
    if config.one_pass and not json.loads((adapter_dir / "config.json").read_text()).get("one_pass"):
        head = {name for name in state if name.rsplit(".", 2)[-2] == "score"}  # its weight and bias
        state |= {name: per_type_head_copies(state[name], config.num_tagging_heads) for name in head}
    try:
        result = set_peft_model_state_dict(peft_model, state)
    except RuntimeError as error:  # shape mismatch: another backbone
        raise ValueError(
            f"init_adapter {adapter_dir} does not fit this model: {str(error).splitlines()[1].strip()}"
        ) from None
    unexpected = list(result.unexpected_keys)
    missing = [name for name in result.missing_keys if "lora_" in name or "modules_to_save" in name]
    if unexpected or missing:
        raise ValueError(
            f"init_adapter {adapter_dir} does not fit this model (other layers): "
            f"{len(missing)} weights missing, {len(unexpected)} unexpected, e.g. {(missing + unexpected)[:3]}"
        )


def adapter_vocabulary(adapter_dir: str | Path | None) -> tuple[list[str], dict[str, str]]:
    """What a trained adapter tags: its model config's `entity_types` and `corpus_types` (the dataset names its
    instruction accepts).

    Args:
        adapter_dir (`str` or `Path`, *optional*): An adapter folder (config.json beside the weights), or None.

    Returns:
        `tuple[list[str], dict[str, str]]`: the entity types in the model's order and the dataset names with their
        types; empty for None or a folder without config.json.
    """
    path = Path(adapter_dir) / "config.json" if adapter_dir else None
    config = json.loads(path.read_text()) if path and path.is_file() else {}
    return list(config.get("entity_types", [])), dict(config.get("corpus_types", {}))


def adapter_recipe(adapter_dir: Path) -> dict | None:
    """The run record (train_config.json) of an adapter folder; None if the folder has none."""
    path = run_record_file(adapter_dir, TRAIN_CONFIG_FILE)
    return json.loads(path.read_text()) if path else None

# ---------------------------------------------------------------------------------------------------------------
# Average and install
# ---------------------------------------------------------------------------------------------------------------
def average_adapters(adapter_dirs, out_dir) -> dict:
    """Average trained adapters of one recipe (e.g. runs with different seeds from the same start) into one
    adapter of the same rank: each LoRA update B @ A is averaged exactly, then cut back to rank r by SVD (the best
    rank-r approximation); other tensors (the head: one, or a one-pass model's one per type) are averaged as they
    are. The folder gets the first adapter's configs and `averaged_from.json`. Returns {"sources": [...],
    "kept_energy": min over modules of the share of the averaged update's squared Frobenius norm kept at rank r}.

    Raises:
        FileNotFoundError: a source is not an adapter folder.
        ValueError: fewer than two sources, or sources of different recipes (rank, alpha, layers, tensors, their
            shapes, the form: per-type or one-pass with the same types in the same order).
    """
    import torch
    from safetensors.torch import load_file, save_file

    adapter_dirs, out_dir = [Path(path) for path in adapter_dirs], Path(out_dir)
    if len(adapter_dirs) < 2:
        raise ValueError("average_adapters needs at least two adapter folders")
    for adapter_dir in adapter_dirs:
        require_adapter_dir(adapter_dir)
    lora_configs = [json.loads((path / "adapter_config.json").read_text()) for path in adapter_dirs]
    shapes = [(config["r"], config["lora_alpha"], sorted(config["target_modules"])) for config in lora_configs]
    if any(shape != shapes[0] for shape in shapes):
        raise ValueError(f"adapters differ in rank, alpha or target modules: {shapes}; only one recipe can be averaged")
    # a one-pass head is averaged head by head: the same types in the same order, or heads of other types would mix
    configs = [json.loads((path / "config.json").read_text()) for path in adapter_dirs]
    forms = [(config.get("one_pass") or False, config.get("entity_types") if config.get("one_pass") else None)
             for config in configs]
    if any(form != forms[0] for form in forms):
        raise ValueError(f"adapters differ in form (one_pass, head types): {forms}; only one recipe can be averaged")
    rank = lora_configs[0]["r"]
    states = [load_file(path / ADAPTER_WEIGHTS) for path in adapter_dirs]
    if any(state.keys() != states[0].keys() for state in states):
        raise ValueError("adapters hold different tensors; only one recipe can be averaged")
    for name in states[0]:
        shapes = [tuple(state[name].shape) for state in states]
        if any(shape != shapes[0] for shape in shapes):
            raise ValueError(f"adapters' {name} differ in shape {shapes}; only one recipe can be averaged")

    averaged, kept_energy = {}, 1.0
    for name in states[0]:
        if ".lora_B." in name:
            continue
        if ".lora_A." not in name:
            averaged[name] = torch.stack([state[name].float() for state in states]).mean(0)
            continue
        # mean of B_i @ A_i = [B_1 .. B_k] @ [A_1; ..; A_k] / k; QR of both factors leaves a small core to SVD
        b_name = name.replace(".lora_A.", ".lora_B.")
        b_basis, b_core = torch.linalg.qr(torch.cat([state[b_name].double() for state in states], dim=1))
        a_basis, a_core = torch.linalg.qr(torch.cat([state[name].double() for state in states], dim=0).T)
        left, singular, right = torch.linalg.svd(b_core @ a_core.T / len(states))
        kept_energy = min(kept_energy, float(singular[:rank].square().sum() / singular.square().sum()))
        root = singular[:rank].sqrt()
        averaged[b_name] = (b_basis @ left[:, :rank] * root).float().contiguous()
        averaged[name] = (root[:, None] * right[:rank] @ a_basis.T).float().contiguous()

    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "adapter_config.json"):
        shutil.copyfile(adapter_dirs[0] / name, out_dir / name)
    save_file(averaged, out_dir / ADAPTER_WEIGHTS, metadata={"format": "pt"})
    record = {"sources": [str(path) for path in adapter_dirs], "kept_energy": kept_energy}
    (out_dir / "averaged_from.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def install_adapter(adapter_dir, dest=None, dtype: str | None = None) -> Path:
    """Copy an adapter folder, its run record included, into the package's default model folder.

    Args:
        adapter_dir: the adapter folder (a run's `adapter` or `checkpoint-N`).
        dest: the target folder (default: modeling_vaner/weights/vaner-smol).
        dtype: "float32" or "bfloat16" for the copied weights; None: bfloat16 only if float32 would exceed 20 MB.

    Returns:
        `dest` as a Path.

    Raises:
        FileNotFoundError: `adapter_dir` is not an adapter folder.
        ValueError: an unknown dtype, or weights over 20 MB even in bfloat16.
    """
    adapter_dir, dest = Path(adapter_dir), Path(dest or default_model_dir())
    require_adapter_dir(adapter_dir)
    if dtype is not None and dtype not in ADAPTER_DTYPES:
        raise ValueError(f"dtype must be one of {ADAPTER_DTYPES}, got {dtype!r}")
    dest.mkdir(parents=True, exist_ok=True)
    for name in ADAPTER_FILES:
        shutil.copyfile(adapter_dir / name, dest / name)
    for name in RUN_RECORD_FILES:  # read by the model card; a stale one from the previous model is removed
        source, target = run_record_file(adapter_dir, name), dest / name
        if source is not None:
            shutil.copyfile(source, target)
        elif target.is_file():
            target.unlink()
    weights = dest / ADAPTER_WEIGHTS
    if dtype is None and weights.stat().st_size > MAX_SHIPPED_BYTES:
        dtype = "bfloat16"
    if dtype is not None:
        cast_adapter_weights(weights, dtype)
    if weights.stat().st_size > MAX_SHIPPED_BYTES:
        raise ValueError(f"{weights} is {weights.stat().st_size / 1e6:.1f} MB, over the 20 MB limit")
    return dest
