"""The authors' released VANER checkpoints as Hub-ready VANER folders: `vaner convert-release`.

The release (Eulring/VANER; facts in the project's `vaner_release_format.md`) is a peft LoRA adapter saved by
the `Trainer` around LS-LLaMA's `UnmaskingLlamaForTokenClassification`: LoRA r=12, alpha=32 on `q_proj` and
`v_proj` of every layer, and the head `classifier` (with bias) saved in full. Two checkpoints: with dataset names
in the instruction, and the VANER_adapt form without them (`--adapt`). The base model (Llama-2-7b-hf) is not in
the release: it is given separately.

The converter checks every key and shape against the base's config, merges each LoRA update with its scale
(alpha / r), loads `classifier` as this package's head (`score`), and writes the folder with `save_vaner_folder`,
whose config carries the release's instruction form: the dataset names as the release writes them and the
instruction's trailing space kept (`keep_instruction_space`). Known difference, not removed here: the release
ran with padding visible to attention (rows left-padded to 128 with `<unk>`); the pipeline masks padding.
"""

import json
from pathlib import Path

ADAPTER_CONFIG = "adapter_config.json"
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")  # newer peft, then older
LORA_MODULES = ("q_proj", "v_proj")
LAYER_KEY = "base_model.model.model.layers.{layer}.self_attn.{module}.lora_{factor}.weight"
HEAD_KEYS = {"weight": "base_model.model.classifier.weight", "bias": "base_model.model.classifier.bias"}
# The dataset names inside the release's instructions (its data folders), for this package's corpus names.
RELEASE_DATASET_NAMES = {
    "ncbi": "ncbi",
    "bc5cdr-disease": "BC5CDR-disease",
    "bc2gm": "BC2GM",
    "jnlpba": "JNLPBA",
    "bc4chemd": "BC4CHEMD",
    "bc5cdr-chem": "BC5CDR-chem",
    "linnaeus": "linnaeus",
    "s800": "s800",
}
RELEASE_WINDOW_TOKENS = 128  # their max_length, instruction included
RELEASE_RECORD = "release.json"  # written beside the converted weights: where they came from (read by the card)


def read_release(release_dir: Path) -> tuple[dict, dict]:
    """The adapter config and weights of a release checkpoint folder.

    Args:
        release_dir: the checkpoint folder (`adapter_config.json` and `adapter_model.safetensors` or `.bin`).

    Returns:
        `(adapter_config, weights)`: the config dict and {key: float32 tensor}.

    Raises:
        FileNotFoundError: the folder lacks the config or the weights.
    """
    import torch

    release_dir = Path(release_dir)
    config_path = release_dir / ADAPTER_CONFIG
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} not found: not a release checkpoint folder")
    weights_path = next((release_dir / name for name in WEIGHT_FILES if (release_dir / name).is_file()), None)
    if weights_path is None:
        raise FileNotFoundError(f"{release_dir} holds neither {' nor '.join(WEIGHT_FILES)}")
    if weights_path.suffix == ".safetensors":
        from safetensors.torch import load_file

        weights = load_file(weights_path)
    else:  # a pickle: tensors only, never code
        weights = torch.load(weights_path, map_location="cpu", weights_only=True)
    return json.loads(config_path.read_text()), {key: tensor.float() for key, tensor in weights.items()}


def expected_shapes(base_config, rank: int) -> dict[str, tuple[int, ...]]:
    """Every key the release must hold, with its shape, for a base of `base_config` (a LlamaConfig)."""
    hidden = base_config.hidden_size
    head_dim = getattr(base_config, "head_dim", None) or hidden // base_config.num_attention_heads
    out_features = {"q_proj": base_config.num_attention_heads * head_dim,
                    "v_proj": base_config.num_key_value_heads * head_dim}
    shapes = {HEAD_KEYS["weight"]: (3, hidden), HEAD_KEYS["bias"]: (3,)}
    for layer in range(base_config.num_hidden_layers):
        for module in LORA_MODULES:
            shapes[LAYER_KEY.format(layer=layer, module=module, factor="A")] = (rank, hidden)
            shapes[LAYER_KEY.format(layer=layer, module=module, factor="B")] = (out_features[module], rank)
    return shapes


def check_release(adapter_config: dict, weights: dict, base_config) -> float:
    """The LoRA scale (alpha / r), once the release is checked against the base.

    Raises:
        ValueError: another task type or target modules, a missing or unexpected key, or a wrong shape; every
            mismatch is named (up to 10).
    """
    if adapter_config.get("task_type") != "TOKEN_CLS":
        raise ValueError(f"release task_type is {adapter_config.get('task_type')!r}, expected 'TOKEN_CLS'")
    targets = adapter_config.get("target_modules") or list(LORA_MODULES)  # unset: peft's Llama default
    if sorted(targets) != sorted(LORA_MODULES):
        raise ValueError(f"release LoRA targets {sorted(targets)}, expected {list(LORA_MODULES)}")
    rank, alpha = adapter_config["r"], adapter_config["lora_alpha"]
    shapes = expected_shapes(base_config, rank)
    problems = [f"missing {key} {list(shape)}" for key, shape in shapes.items() if key not in weights]
    problems += [f"unexpected {key}" for key in weights if key not in shapes]
    problems += [
        f"{key} has shape {list(weights[key].shape)}, expected {list(shape)}"
        for key, shape in shapes.items()
        if key in weights and tuple(weights[key].shape) != shape
    ]
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise ValueError("the release does not fit the base model: " + "; ".join(problems[:10]) + more)
    return alpha / rank


def convert_release(release_dir, base: str, out_dir, *, adapt: bool = False) -> Path:
    """Convert a release checkpoint into a Hub-ready VANER folder.

    Args:
        release_dir: the release checkpoint folder.
        base: the base model, a local Llama folder or a hub id (`meta-llama/Llama-2-7b-hf`).
        out_dir: the folder to write.
        adapt: the VANER_adapt checkpoint (`_nodataname`): the type-only instruction is its natural form.

    Returns:
        `out_dir` as a Path.

    Raises:
        FileNotFoundError: the release or the base is missing.
        ValueError: the release does not fit the base (see `check_release`).
    """
    import torch

    from dataset_scripts.corpora import CORPUS_TYPES

    from .backbone import build_vaner_model
    from .export import save_vaner_folder

    adapter_config, weights = read_release(release_dir)
    model, tokenizer = build_vaner_model(
        base,
        corpus_types=dict(CORPUS_TYPES),
        instruction_dataset_names=dict(RELEASE_DATASET_NAMES),
        keep_instruction_space=True,
        max_window_tokens=RELEASE_WINDOW_TOKENS,
    )
    scale = check_release(adapter_config, weights, model.config)
    with torch.no_grad():
        for layer_index, layer in enumerate(model.model.layers):
            for module in LORA_MODULES:
                linear = getattr(layer.self_attn, module)
                lora_a, lora_b = (weights[LAYER_KEY.format(layer=layer_index, module=module, factor=factor)]
                                  for factor in ("A", "B"))
                linear.weight += (lora_b @ lora_a * scale).to(linear.weight.dtype)
        model.score.weight.copy_(weights[HEAD_KEYS["weight"]])
        model.score.bias.copy_(weights[HEAD_KEYS["bias"]])
    folder = save_vaner_folder(model.eval(), tokenizer, out_dir)
    record = {
        "source": Path(release_dir).name,
        "base_model": base,
        "form": "VANER_adapt (type-only instruction)" if adapt else "dataset instruction",
        "lora": {"r": adapter_config["r"], "alpha": adapter_config["lora_alpha"], "modules": list(LORA_MODULES)},
    }
    (folder / RELEASE_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    return folder
