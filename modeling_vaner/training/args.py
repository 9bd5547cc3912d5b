"""`vaner train`'s configuration: the model and data arguments, one YAML file (flat: `ModelArguments`,
`DataArguments` and any `TrainingArguments` field) with its `base:` chain, and `--set` overrides.

Imports neither torch nor transformers until `parse_config` runs (`TrainingArguments` is transformers').
"""

from dataclasses import dataclass, field
from pathlib import Path

from dataset_scripts.corpora import CORPUS_TYPES, check_corpus_names
from dataset_scripts.guideline import GOLDS

from ..adapter import ADAPTER_DTYPES, default_model_dir
from ..dbr import DBR_VARIANTS
from ..options_vaner import DEFAULT_BATCH_SIZE

FINAL_EVAL_SPLITS = ("validation", "test", "none")
BASE_KEY = "base"  # a config's `base:` names the config file it starts from
ATTENTION_IMPLEMENTATIONS = ("sdpa", "eager")
EMBEDDED_ADAPTER = "embedded"  # init_adapter: the vaner-smol adapter shipped in this package


@dataclass
class ModelArguments:
    """The model a run trains: its backbone, LoRA, quantization, dtypes, and the adapter it may start from."""

    backbone: str = field(
        default="smollm2-135m",
        metadata={"help": "Llama-family folder or hub name; 'smollm2-135m' = the embedded SmolLM2-135M"},
    )
    is_causal: bool = field(default=False, metadata={"help": "keep the causal mask (the unmasking ablation)"})
    one_pass: bool | None = field(
        default=None,
        metadata={"help": "true: one O/B/I head per entity type, all tagged in one pass (VANER2's form; a per-type "
                          "head it starts from, init_adapter or a VANER backbone, is copied into each); false: the "
                          "per-type form; default: the backbone's own (per-type for a Llama checkpoint)"},
    )
    lora_r: int = field(default=16, metadata={"help": "LoRA rank (all linear layers)"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    load_in_4bit: bool = field(
        default=False, metadata={"help": "QLoRA: nf4 base weights (bitsandbytes); the score head stays unquantized"}
    )
    classifier_dropout: float = field(default=0.0, metadata={"help": "dropout before the O/B/I head"})
    adapter_dtype: str = field(
        default="float32", metadata={"help": "dtype of the saved adapter weights", "choices": list(ADAPTER_DTYPES)}
    )
    frozen_dtype: str = field(
        default="float32",
        metadata={"help": "dtype of the frozen base weights (LoRA and head stay float32); bfloat16 spares "
                          "autocast a weight cast per step", "choices": list(ADAPTER_DTYPES)},
    )
    attn_implementation: str = field(
        default="sdpa", metadata={"help": "attention kernel while training", "choices": list(ATTENTION_IMPLEMENTATIONS)}
    )
    init_adapter: str | None = field(
        default=None,
        metadata={"help": "an adapter folder (`vaner train` output) whose LoRA and head weights start this run: "
                          "a second training stage, or fine-tuning on your files; 'embedded' = the shipped vaner-smol. "
                          "An adapter of another lora_r is fitted to this run's (adapter.fit_lora_rank)"},
    )

    def __post_init__(self):
        for name, allowed in (("adapter_dtype", ADAPTER_DTYPES), ("frozen_dtype", ADAPTER_DTYPES),
                              ("attn_implementation", ATTENTION_IMPLEMENTATIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.load_in_4bit and self.frozen_dtype != "float32":
            raise ValueError("frozen_dtype applies to unquantized base weights; leave it float32 with load_in_4bit")
        if self.init_adapter == EMBEDDED_ADAPTER:
            self.init_adapter = str(default_model_dir())


@dataclass
class DataArguments:
    """What a run trains and is scored on: the built-in corpora and users' files, DBR, the instruction forms, the
    limits and repeats per corpus, and the evaluations (dev, to pick the checkpoint; final)."""

    corpora: list[str] = field(
        default_factory=lambda: list(CORPUS_TYPES),
        metadata={"help": "built-in training and dev corpora; beside train_files, rehearsal (training/rehearsal.py)"},
    )
    train_files: list[dict] = field(
        default_factory=list,
        metadata={"help": "your annotated files to train on, beside `corpora`: each {path, types (default: every "
                  "type in the file), dataset (a name for the instruction; default none: the type-only "
                  "instruction), format (iob2, jsonl or pubtator; default: from the extension), type_map}"},
    )
    dev_files: list[dict] = field(
        default_factory=list, metadata={"help": "your dev files, as train_files; scored to pick the checkpoint"}
    )
    eval_corpora: list[str] | None = field(
        default=None, metadata={"help": "the corpora whose dev split is scored (default: all of `corpora`)"}
    )
    held_out_corpora: list[str] = field(
        default_factory=list,
        metadata={"help": "corpora never trained on, scored at each evaluation on their train and validation splits "
                  "with the type-only instruction against the guideline's gold (docs/GUIDELINES.md): an "
                  "out-of-corpus signal (eval_held_out_<name>_f1, eval_held_out_mean_f1), apart from mean_f1; "
                  "eval_limits / eval_limit_per_corpus subsample them too"},
    )
    corpora_dir: str | None = field(
        default=None, metadata={"help": "local corpora directory (default: $VANER_CORPORA_DIR)"}
    )
    dbr_variant: str = field(
        default="dbr", metadata={"help": "dense sentences: dbr, random or none", "choices": list(DBR_VARIANTS)}
    )
    dataset_in_instruction: bool = field(
        default=True, metadata={"help": "corpus name in the instruction; false = VANER_adapt (type-only)"}
    )
    type_only_share: float = field(
        default=0.0,
        metadata={"help": "share of each corpus's training sentences given the type-only instruction (VANER_adapt's "
                  "form, what free text gets) although dataset_in_instruction is true; chosen at random (data seed)"},
    )
    type_only_gold: str = field(
        default="guideline",
        metadata={"help": "the labels of the type-only rows: \"guideline\", each corpus's gold converted to the one "
                  "guideline (docs/GUIDELINES.md; a dataset-only corpus gets no type-only row), or \"corpus\", "
                  "each corpus's own gold (vaner-smol 2's recipe: the type-only form learns an average of them)"},
    )
    pseudo_label_rehearsal: bool = field(
        default=False,
        metadata={"help": "with train_files: also train on your files' sentences under each type the model starts "
                  "out tagging (init_adapter's, a VANER backbone folder's) and your files do not (type-only "
                  "instruction), labelled by the model itself before training, so that a new type does not pull "
                  "a trained one; a span that overlaps one of your entities stays O (training/rehearsal.py)"},
    )
    max_length: int = field(default=128, metadata={"help": "tokens per input, instruction included"})
    train_limit_per_corpus: int | None = field(
        default=None, metadata={"help": "the first N corpus sentences of each corpus (file order); DBR adds as many"}
    )
    train_limits: dict[str, int | None] = field(
        default_factory=dict, metadata={"help": "per-corpus train_limit_per_corpus (null: the whole split)"}
    )
    train_repeats: dict[str, int] = field(
        default_factory=dict,
        metadata={
            "help": "per corpus, how many times each corpus sentence appears in an epoch (its DBR sentence once)"
        },
    )
    train_with_dev: list[str] = field(
        default_factory=list,
        metadata={"help": "corpora whose whole dev split also trains the model (the train+dev protocol of a final "
                  "model); their dev split is then not held out, so it is not scored during training"},
    )
    eval_limit_per_corpus: int | None = field(
        default=None, metadata={"help": "dev sentences per corpus for the F1 that picks the best checkpoint"}
    )
    eval_limits: dict[str, int | None] = field(
        default_factory=dict, metadata={"help": "per-corpus eval_limit_per_corpus (null: the whole dev split)"}
    )
    final_eval_split: str = field(
        default="test", metadata={"help": "split scored at the end", "choices": list(FINAL_EVAL_SPLITS)}
    )
    final_eval_limit_per_corpus: int | None = field(
        default=None, metadata={"help": "sentences per corpus scored at the end (default: all)"}
    )
    eval_batch_size: int = field(
        default=DEFAULT_BATCH_SIZE, metadata={"help": "batch size of tag_words during evaluation"}
    )

    def __post_init__(self):
        self.corpora = check_corpus_names(self.corpora) if self.corpora else []
        self.train_files = [check_file_source(entry, "train_files") for entry in self.train_files]
        self.dev_files = [check_file_source(entry, "dev_files") for entry in self.dev_files]
        if not self.corpora and not self.train_files:
            raise ValueError("nothing to train on: give `corpora`, `train_files` or both")
        clashes = sorted({source_name(s) for s in self.dev_files} & set(self.corpora))
        if clashes:
            raise ValueError(f"dev_files named like built-in corpora ({', '.join(clashes)}): give them another dataset")
        self.held_out_corpora = check_corpus_names(self.held_out_corpora) if self.held_out_corpora else []
        trained_and_held_out = sorted(set(self.held_out_corpora) & set(self.corpora))
        if trained_and_held_out:
            raise ValueError(f"held_out_corpora are also in `corpora`: {', '.join(trained_and_held_out)}")
        if self.eval_corpora is not None and set(self.eval_corpora) - set(self.corpora):
            raise ValueError(f"eval_corpora must be among `corpora`, got {', '.join(self.eval_corpora)}")
        if self.dbr_variant not in DBR_VARIANTS:
            raise ValueError(f"dbr_variant must be one of {DBR_VARIANTS}, got {self.dbr_variant!r}")
        if self.final_eval_split not in FINAL_EVAL_SPLITS:
            raise ValueError(f"final_eval_split must be one of {FINAL_EVAL_SPLITS}, got {self.final_eval_split!r}")
        if self.type_only_gold not in GOLDS:
            raise ValueError(f"type_only_gold must be one of {', '.join(GOLDS)}, got {self.type_only_gold!r}")
        if not 0.0 <= self.type_only_share <= 1.0:
            raise ValueError(f"type_only_share must be between 0 and 1, got {self.type_only_share}")
        if self.max_length < 16:
            raise ValueError(f"max_length must be at least 16 tokens, got {self.max_length}")
        for name in ("train_limits", "train_repeats", "train_with_dev", "eval_limits"):
            allowed = set(self.corpora) | (set(self.held_out_corpora) if name == "eval_limits" else set())
            strays = sorted(set(getattr(self, name)) - allowed)
            if strays:
                raise ValueError(f"{name} names corpora not in `corpora`: {', '.join(strays)}")
        bad = {corpus: count for corpus, count in self.train_repeats.items() if not isinstance(count, int) or count < 1}
        if bad:
            raise ValueError(f"train_repeats must be positive integers, got {bad}")


FILE_SOURCE_KEYS = ("path", "types", "dataset", "format", "type_map")


def check_file_source(entry, field_name: str) -> dict:
    """One entry of `train_files` / `dev_files` with every key (absent ones None) and `types` a list.

    Raises:
        ValueError: not a mapping with a path, an unknown key, a directory, or a bad type or dataset name.
        FileNotFoundError: no such file.
    """
    if isinstance(entry, str):
        entry = {"path": entry}
    if not isinstance(entry, dict) or not entry.get("path"):
        raise ValueError(
            f"{field_name}: each entry needs a path, e.g. {{path: cells.tsv, types: CellLine}}; got {entry!r}"
        )
    unknown = sorted(set(entry) - set(FILE_SOURCE_KEYS))
    if unknown:
        raise ValueError(f"{field_name}: unknown key(s) {', '.join(unknown)}; known: {', '.join(FILE_SOURCE_KEYS)}")
    source = {key: entry.get(key) for key in FILE_SOURCE_KEYS}
    if Path(source["path"]).is_dir():
        raise ValueError(f"{field_name}: {source['path']} is a directory; give the annotated file(s) in it")
    if not Path(source["path"]).is_file():
        raise FileNotFoundError(f"{field_name}: no such file: {source['path']}")
    types = source["types"]
    source["types"] = [types] if isinstance(types, str) else types
    if source["types"] is not None and not all(isinstance(t, str) and t.strip() for t in source["types"] or [None]):
        raise ValueError(f"{field_name}: types must be non-empty names, got {types!r}")
    dataset = source["dataset"]
    if dataset is not None and (not isinstance(dataset, str) or not dataset.strip()):
        raise ValueError(f"{field_name}: dataset must be a non-empty name, got {dataset!r}")
    return source


def source_name(source: dict) -> str:
    """A file source's name in logs and dev scores: its dataset name, else the file's stem."""
    return source["dataset"] or Path(source["path"]).stem


def precision_overrides(precision: str) -> dict:
    """The training fields that run `precision` ("auto", "bf16" or "fp32", resolved on the CPU by the package's
    one resolver, `runtime_vaner.resolve_precision`): bf16 autocast with the frozen base weights held in bf16, or
    fp32 throughout.

    Raises:
        ValueError: another precision (int8 is for inference only).
    """
    import torch

    from ..runtime_vaner import resolve_precision

    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"training precision must be auto, bf16 or fp32, got {precision!r}")
    resolved = resolve_precision(precision, torch.device("cpu"))
    if resolved.weight_dtype == torch.bfloat16:
        return {"bf16": True, "frozen_dtype": "bfloat16"}
    return {"bf16": False, "frozen_dtype": "float32", "adapter_dtype": "float32"}


def parse_config(path, overrides: dict | None = None):
    """Read a training config.

    Args:
        path: a YAML file of field names and values. Its optional `base:` key names another config file (relative
            to this one) whose values it starts from; a key given here replaces the base's value as a whole.
        overrides: values that replace the file's (e.g. from `--set`).

    Returns:
        `(ModelArguments, DataArguments, TrainingArguments)`.

    Raises:
        FileNotFoundError: the file or a base it names does not exist.
        ValueError: not a mapping, a cycle of bases, an unknown key (named), or a value a field refuses.
    """
    from transformers import HfArgumentParser, TrainingArguments

    values = {**read_config_values(Path(path)), **(overrides or {})}
    parser = HfArgumentParser((ModelArguments, DataArguments, TrainingArguments))
    known = {f.name for dataclass_type in parser.dataclass_types for f in dataclass_fields(dataclass_type)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(unknown)} (not a model, data or TrainingArguments field)")
    return parser.parse_dict(values)


def read_config_values(path: Path, seen: tuple = ()) -> dict:
    """The values of a config file, its `base:` chain resolved (the file's own values win).

    Raises:
        FileNotFoundError: the file or a base it names does not exist.
        ValueError: not a mapping, or `base:` files that form a cycle.
    """
    import yaml

    if not path.is_file():
        raise FileNotFoundError(f"training config {path} does not exist")
    if path.resolve() in seen:
        raise ValueError(f"{path}: `base:` files form a cycle")
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping of field names to values, got {type(values).__name__}")
    base = values.pop(BASE_KEY, None)
    if base is None:
        return values
    return {**read_config_values(path.parent / base, (*seen, path.resolve())), **values}


def dataclass_fields(dataclass_type):
    import dataclasses

    return [f for f in dataclasses.fields(dataclass_type) if f.init]


def parse_overrides(items: list[str]) -> dict:
    """KEY=VALUE strings (VALUE read as YAML) into a dict.

    Raises:
        ValueError: an item without '=' or without a key.
    """
    import yaml

    overrides = {}
    for item in items:
        key, separator, value = item.partition("=")
        if not separator or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides
