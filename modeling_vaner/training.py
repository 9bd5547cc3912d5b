"""Fine-tuning with the `transformers` Trainer: `vaner train --config FILE.yaml`.

One YAML file holds three sections' fields, flat: `ModelArguments`, `DataArguments` and any `TrainingArguments`
field (they pass through). Inputs are encoded with the pipeline's own functions (`encode_words`,
`encode_instruction`, `build_input`, `split_into_windows`, `assign_words_to_windows`), so that training and
inference see identical inputs; a sentence longer than `max_length` becomes overlapping windows, each word
labelled in the one window that owns it (as at inference) and -100 elsewhere: no word is dropped.

Evaluation during training is entity-level F1 per corpus on a (subsampled) dev split, through the pipeline's
`tag_words`, sharded over processes; `mean_f1` (macro over corpora) selects the best checkpoint. Every checkpoint
and, at the end, the best model in `OUTPUT_DIR/adapter` are adapter folders (`adapter.py`) holding the run's
settings (train_config.json); the final adapter also gets the evaluation on `final_eval_split` (evaluation.json)
and the loss/F1 curves (training_curves.png) plotted from the run log `OUTPUT_DIR/log.jsonl` (`run_log.py`).

Runs unchanged under `torchrun` / `accelerate launch`.
"""

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dataset_scripts.corpora import CORPUS_TYPES, check_corpus_names

from .adapter import (
    ADAPTER_DTYPES,
    EVALUATION_FILE,
    PLOT_FILE,
    RUN_ADAPTER_DIR,
    adapter_recipe,
    default_model_dir,
    load_adapter_weights,
    save_adapter,
    write_model_config,
)
from .dbr.assembly import DBR_VARIANTS
from .run_log import LOG_FILE, jsonl_log_callback, plot_log

FINAL_EVAL_SPLITS = ("validation", "test", "none")
BASE_KEY = "base"  # a config's `base:` names the config file it starts from
ATTENTION_IMPLEMENTATIONS = ("sdpa", "eager")
EMBEDDED_ADAPTER = "embedded"  # init_adapter: the vaner-smol adapter shipped in this package


@dataclass
class ModelArguments:
    backbone: str = field(
        default="smollm2-135m",
        metadata={"help": "Llama-family folder or hub name; 'smollm2-135m' = the embedded SmolLM2-135M"},
    )
    is_causal: bool = field(default=False, metadata={"help": "keep the causal mask (the unmasking ablation)"})
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
                          "a second training stage, or fine-tuning on your files; 'embedded' = the shipped vaner-smol"},
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
    corpora: list[str] = field(
        default_factory=lambda: list(CORPUS_TYPES), metadata={"help": "built-in training and dev corpora"}
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
    max_length: int = field(default=128, metadata={"help": "tokens per input, instruction included"})
    train_limit_per_corpus: int | None = field(
        default=None, metadata={"help": "the first N corpus sentences of each corpus (file order); DBR adds as many"}
    )
    train_limits: dict[str, int | None] = field(
        default_factory=dict, metadata={"help": "per-corpus train_limit_per_corpus (null: the whole split)"}
    )
    train_repeats: dict[str, int] = field(
        default_factory=dict,
        metadata={"help": "per corpus, how many times each corpus sentence appears in an epoch (its DBR sentence once)"},
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
    eval_batch_size: int = field(default=16, metadata={"help": "batch size of tag_words during evaluation"})

    def __post_init__(self):
        self.corpora = check_corpus_names(self.corpora) if self.corpora else []
        self.train_files = [check_file_source(entry, "train_files") for entry in self.train_files]
        self.dev_files = [check_file_source(entry, "dev_files") for entry in self.dev_files]
        if not self.corpora and not self.train_files:
            raise ValueError("nothing to train on: give `corpora`, `train_files` or both")
        clashes = sorted({source_name(s) for s in self.dev_files} & set(self.corpora))
        if clashes:
            raise ValueError(f"dev_files named like built-in corpora ({', '.join(clashes)}): give them another dataset")
        if self.eval_corpora is not None and set(self.eval_corpora) - set(self.corpora):
            raise ValueError(f"eval_corpora must be among `corpora`, got {', '.join(self.eval_corpora)}")
        if self.dbr_variant not in DBR_VARIANTS:
            raise ValueError(f"dbr_variant must be one of {DBR_VARIANTS}, got {self.dbr_variant!r}")
        if self.final_eval_split not in FINAL_EVAL_SPLITS:
            raise ValueError(f"final_eval_split must be one of {FINAL_EVAL_SPLITS}, got {self.final_eval_split!r}")
        if not 0.0 <= self.type_only_share <= 1.0:
            raise ValueError(f"type_only_share must be between 0 and 1, got {self.type_only_share}")
        if self.max_length < 16:
            raise ValueError(f"max_length must be at least 16 tokens, got {self.max_length}")
        for name in ("train_limits", "train_repeats", "train_with_dev", "eval_limits"):
            strays = sorted(set(getattr(self, name)) - set(self.corpora))
            if strays:
                raise ValueError(f"{name} names corpora not in `corpora`: {', '.join(strays)}")
        bad = {corpus: count for corpus, count in self.train_repeats.items() if not isinstance(count, int) or count < 1}
        if bad:
            raise ValueError(f"train_repeats must be positive integers, got {bad}")


FILE_SOURCE_KEYS = ("path", "types", "dataset", "format", "type_map")


def check_file_source(entry, field_name: str) -> dict:
    """One entry of `train_files` / `dev_files` with every key (absent ones None) and `types` a list.

    Raises:
        ValueError: not a mapping with a path, an unknown key, or a bad type or dataset name.
        FileNotFoundError: no such file.
    """
    if isinstance(entry, str):
        entry = {"path": entry}
    if not isinstance(entry, dict) or not entry.get("path"):
        raise ValueError(f"{field_name}: each entry needs a path, e.g. {{path: cells.tsv, types: CellLine}}; got {entry!r}")
    unknown = sorted(set(entry) - set(FILE_SOURCE_KEYS))
    if unknown:
        raise ValueError(f"{field_name}: unknown key(s) {', '.join(unknown)}; known: {', '.join(FILE_SOURCE_KEYS)}")
    source = {key: entry.get(key) for key in FILE_SOURCE_KEYS}
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


def file_source_records(source: dict) -> list[dict]:
    """The records of one file source (one per sentence and type, as the built-in corpora's), each with
    `instruction_dataset` its dataset name (None: the type-only instruction)."""
    from dataset_scripts.tagged_files import read_tagged_file

    records = []
    for entity_type in source["types"] or [None]:
        records += read_tagged_file(
            source["path"], entity_type, source_name(source), type_map=source["type_map"], file_format=source["format"]
        )
    return [{**record, "instruction_dataset": source["dataset"]} for record in records]


def add_file_types(config, data: DataArguments, records: list[dict]) -> None:
    """Make the model know the types and dataset names of the file sources among the training `records`
    (`entity_types`, `corpus_types`), so that the saved model's pipeline tags them by default and accepts the
    dataset names."""
    datasets = {source_name(source): source["dataset"] for source in data.train_files}
    types: dict[str, list[str]] = {}
    for record in records:
        if record["corpus"] in datasets:
            types.setdefault(record["corpus"], []).append(record["entity_type"])
    for name, found in types.items():
        found = list(dict.fromkeys(found))
        config.entity_types = list(dict.fromkeys([*config.entity_types, *found]))
        if datasets[name]:
            config.corpus_types = {**config.corpus_types, datasets[name]: ", ".join(found)}


# ---------------------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------
def training_records(data: DataArguments, seed: int) -> list[dict]:
    """The multi-corpus training mixture: per corpus its first `train_limits[corpus]` (else
    `train_limit_per_corpus`) sentences, and for the corpora in `train_with_dev` their whole dev split too, each
    sentence `train_repeats[corpus]` times, plus their DBR sentences once; and every sentence of `train_files`.
    A random `type_only_share` of each corpus's (and named file source's) sentences get the type-only
    instruction (`instruction_dataset` None, as DBR sentences have)."""
    import random

    from .dbr.mixture import build_training_mixture, load_builder

    records = []
    for source in data.train_files:  # first: a bad file fails before the corpora are read
        found = file_source_records(source)
        if source["dataset"]:
            type_only = random.Random(f"{seed}:{source_name(source)}").sample(
                range(len(found)), round(data.type_only_share * len(found))
            )
            for index in type_only:
                found[index] = {**found[index], "instruction_dataset": None}
        records += found
    builder = None if data.dbr_variant == "none" or not data.corpora else load_builder(data.corpora_dir, seed=seed)
    for corpus in data.corpora:
        limits = {"train": data.train_limits.get(corpus, data.train_limit_per_corpus)}
        if corpus in data.train_with_dev:
            limits["validation"] = None
        mixture = []
        for split, limit in limits.items():
            mixture += build_training_mixture(
                [corpus],
                split=split,
                variant=data.dbr_variant,
                corpora_dir=data.corpora_dir,
                seed=seed,
                limit=limit,
                builder=builder,
            )
        sentences = [index for index, record in enumerate(mixture) if record["source"] == "corpus"]
        for index in random.Random(f"{seed}:{corpus}").sample(sentences, round(data.type_only_share * len(sentences))):
            mixture[index] = {**mixture[index], "instruction_dataset": None}
        repeats = data.train_repeats.get(corpus, 1)
        records += [copy for record in mixture for copy in [record] * (repeats if record["source"] == "corpus" else 1)]
    return records


def dev_records(data: DataArguments, seed: int) -> dict[str, list[dict]]:
    """The dev sentences of each corpus of `eval_corpora` (default `corpora`) not in `train_with_dev`, subsampled
    to `eval_limits[corpus]` (else `eval_limit_per_corpus`), and of every `dev_files` source, whole."""
    from dataset_scripts.corpora import read_corpus

    from .evaluation import subsample

    scored = data.corpora if data.eval_corpora is None else data.eval_corpora
    held_out = [name for name in scored if name not in data.train_with_dev]
    limits = {name: data.eval_limits.get(name, data.eval_limit_per_corpus) for name in held_out}
    dev = {
        name: subsample(read_corpus(name, "validation", data.corpora_dir), limit, seed) for name, limit in limits.items()
    }
    return dev | {source_name(source): file_source_records(source) for source in data.dev_files}


def instruction_dataset(record: dict, dataset_in_instruction: bool) -> str | None:
    """The corpus name for the instruction of a training record (None: type-only, always for VANER_adapt)."""
    return record.get("instruction_dataset", record["corpus"]) if dataset_in_instruction else None


def encode_records(records: list[dict], tokenizer, config, max_length: int, dataset_in_instruction: bool) -> list[dict]:
    """Model rows {input_ids, labels} for training records; a sentence longer than the window budget
    (`max_length` minus the instruction) becomes several rows, each word labelled in the window that owns it."""
    from tqdm.auto import tqdm

    from .processing_vaner import (
        IGNORE_INDEX,
        assign_words_to_windows,
        build_input,
        encode_instruction,
        encode_words,
        split_into_windows,
    )

    instructions: dict[tuple, list[int]] = {}
    rows = []
    for record in tqdm(records, desc="encode", unit="sentence", mininterval=2):
        key = (record["entity_type"], instruction_dataset(record, dataset_in_instruction))
        if key not in instructions:
            instructions[key] = encode_instruction(tokenizer, config.instruction(*key), config.keep_instruction_space)
        instruction_ids = instructions[key]
        pieces = encode_words(tokenizer, record["tokens"])
        windows = split_into_windows([len(ids) for ids in pieces], max_length - len(instruction_ids))
        owners = assign_words_to_windows(windows, len(pieces))
        for index, (first, last) in enumerate(windows):
            labels = [
                tag if owners[word] == index else IGNORE_INDEX
                for word, tag in enumerate(record["ner_tags"][first:last], first)
            ]
            row = build_input(instruction_ids, pieces[first:last], labels)
            rows.append({"input_ids": row["input_ids"], "labels": row["labels"]})
    return rows


@dataclass
class PaddingCollator:
    """Pads a batch of rows to its longest row: input_ids with the pad token, labels with -100."""

    pad_token_id: int

    def __call__(self, rows: list[dict]) -> dict:
        from .pipeline_vaner import pad_sequences
        from .processing_vaner import IGNORE_INDEX

        input_ids, attention_mask = pad_sequences([row["input_ids"] for row in rows], self.pad_token_id)
        labels, _ = pad_sequences([row["labels"] for row in rows], IGNORE_INDEX)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


# ---------------------------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------------------------
def build_model(model_args: ModelArguments, max_length: int):
    """The VANER model with LoRA on all linear layers (head trained in full): `(peft_model, tokenizer)`."""
    import torch
    from peft import LoraConfig, TaskType, get_peft_model

    from .backbone import build_vaner_model

    quantization_config = None
    if model_args.load_in_4bit:
        from transformers import BitsAndBytesConfig

        quantization_config = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.bfloat16,
            llm_int8_skip_modules=["score"],
        )
    model, tokenizer = build_vaner_model(
        model_args.backbone,
        is_causal=model_args.is_causal,
        quantization_config=quantization_config,
        attn_implementation=model_args.attn_implementation,
        max_window_tokens=max_length,
        classifier_dropout=model_args.classifier_dropout,
    )
    lora = LoraConfig(
        task_type=TaskType.TOKEN_CLS,
        r=model_args.lora_r,
        lora_alpha=model_args.lora_alpha,
        lora_dropout=model_args.lora_dropout,
        target_modules="all-linear",
        modules_to_save=["score"],
    )
    peft_model = get_peft_model(model, lora)
    if model_args.init_adapter:
        load_adapter_weights(peft_model, Path(model_args.init_adapter))
    if model_args.frozen_dtype != "float32":
        for parameter in peft_model.parameters():
            if not parameter.requires_grad:
                parameter.data = parameter.data.to(getattr(torch, model_args.frozen_dtype))
    # load_vaner rebuilds the backbone from this name: the name as configured, not the converted cache path.
    peft_model.peft_config["default"].base_model_name_or_path = model_args.backbone
    return peft_model, tokenizer


# ---------------------------------------------------------------------------------------------------------------
# Trainer
# ---------------------------------------------------------------------------------------------------------------
def make_trainer(
    model, tokenizer, training_args, data_args: DataArguments, train_rows, dev: dict[str, list[dict]], train_config: dict
):
    """A Trainer whose evaluation is per-corpus dev F1 (eval_<corpus>_f1, eval_mean_f1, eval_overall_f1) and
    whose training logs carry `padding_share` (padded tokens / all tokens, so far in the current epoch)."""
    from transformers import Trainer

    from .evaluation import COUNT_KEYS, load_metric, prf, score_records
    from .pipeline_vaner import VanerTokenClassificationPipeline

    class VanerTrainer(Trainer):
        loss_is_scaled_for_ga = False  # the model returns a per-batch mean

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.padding_epoch, self.real_tokens, self.all_tokens = 0, 0, 0
            self.tagger = None

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if model.training:
                epoch = int(self.state.epoch or 0)
                if epoch != self.padding_epoch:
                    self.padding_epoch, self.real_tokens, self.all_tokens = epoch, 0, 0
                self.real_tokens += int(inputs["attention_mask"].sum())
                self.all_tokens += inputs["attention_mask"].numel()
            outputs = model(**inputs)
            return (outputs.loss, outputs) if return_outputs else outputs.loss

        def log(self, logs, *args, **kwargs):
            if "loss" in logs and self.all_tokens:
                logs["padding_share"] = round(1 - self.real_tokens / self.all_tokens, 4)
            super().log(logs, *args, **kwargs)

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            import torch

            dev_sets = eval_dataset or self.eval_dataset
            if self.tagger is None:
                # the run's own precision, not the CPU's: checkpoints are chosen alike on every machine
                self.tagger = VanerTokenClassificationPipeline(
                    model=self.model,
                    tokenizer=tokenizer,
                    task="token-classification",
                    precision="bf16" if self.args.bf16 else "fp32",
                )
            was_training = self.model.training
            self.model.eval()
            metric, counts = load_metric(), []
            rank, world = self.args.process_index, self.args.world_size
            with self.autocast_smart_context_manager():
                for records in dev_sets.values():
                    dataset = instruction_dataset(records[0], data_args.dataset_in_instruction) if records else None
                    result = score_records(
                        self.tagger, records[rank::world], dataset, data_args.eval_batch_size, metric
                    )
                    counts.append([result[key] for key in COUNT_KEYS])
            self.model.train(was_training)
            totals = self.accelerator.reduce(torch.tensor(counts, device=self.args.device), reduction="sum")
            per_corpus = {name: prf(*row.tolist()) for name, row in zip(dev_sets, totals)}
            metrics = {f"{metric_key_prefix}_{name}_f1": result["f1"] for name, result in per_corpus.items()}
            metrics[f"{metric_key_prefix}_mean_f1"] = sum(r["f1"] for r in per_corpus.values()) / len(per_corpus)
            metrics[f"{metric_key_prefix}_overall_f1"] = prf(*totals.sum(0).tolist())["f1"]
            self.log(metrics)
            self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
            return metrics

    return VanerTrainer(
        model=model,
        args=training_args,
        train_dataset=train_rows,
        eval_dataset=dev,
        data_collator=PaddingCollator(tokenizer.pad_token_id),
        callbacks=[
            jsonl_log_callback(Path(training_args.output_dir) / LOG_FILE),
            adapter_checkpoint_callback(model, train_config),
        ],
    )


def adapter_checkpoint_callback(peft_model, train_config: dict):
    """A callback that adds the model's config.json and the run's train_config.json to every checkpoint, so that a
    checkpoint is an adapter folder (`vaner evaluate --model`, `vaner install-adapter` take it as it is)."""
    from transformers import TrainerCallback
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    class AdapterCheckpoint(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                checkpoint = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
                write_model_config(peft_model, checkpoint, train_config)

    return AdapterCheckpoint()


# ---------------------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------------------
def run_training(
    model_args: ModelArguments,
    data_args: DataArguments,
    training_args,
    *,
    resume: bool = False,
    train_records: list[dict] | None = None,
    dev: dict[str, list[dict]] | None = None,
    callbacks=(),
) -> dict:
    """Train, keep the best checkpoint, save the adapter, evaluate and plot. `train_records` / `dev` replace the
    configured corpora (records as `build_training_mixture` / `read_corpus` return them). Returns a summary
    {"adapter", "evaluation" (report or None), "global_step", "best_checkpoint", "best_metric"}."""
    from transformers import set_seed
    from transformers.trainer_utils import get_last_checkpoint

    output_dir = Path(training_args.output_dir)
    checkpoint = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
    if resume and checkpoint is None:
        raise FileNotFoundError(f"--resume: no checkpoint-* folder in {output_dir}")
    if checkpoint is not None and not resume:
        raise ValueError(f"{output_dir} already holds {Path(checkpoint).name}: pass --resume, or another output_dir")
    if model_args.frozen_dtype == "bfloat16" and not training_args.bf16:
        raise ValueError("frozen_dtype: bfloat16 needs bf16: true (autocast runs the float32 LoRA beside it)")
    seed = training_args.data_seed if training_args.data_seed is not None else training_args.seed
    set_seed(training_args.seed)  # the head and LoRA initialization: same seed, same starting point
    with training_args.main_process_first(desc="training data"):  # read (a bad file fails) before the model loads
        records = train_records if train_records is not None else training_records(data_args, seed)
        dev = dev if dev is not None else dev_records(data_args, seed)
    model, tokenizer = build_model(model_args, data_args.max_length)
    add_file_types(model.get_base_model().config, data_args, records)
    if not dev and training_args.eval_strategy != "no":
        raise ValueError("no held-out dev split to evaluate (all corpora in train_with_dev): set eval_strategy: no")
    rows = encode_records(
        records, tokenizer, model.get_base_model().config, data_args.max_length, data_args.dataset_in_instruction
    )
    train_config = {"model": vars(model_args), "data": vars(data_args), "training": training_args.to_dict()}
    if model_args.init_adapter:  # a later stage: keep the earlier stages' recipe with this one
        train_config["init_adapter_recipe"] = adapter_recipe(Path(model_args.init_adapter))
    trainer = make_trainer(model, tokenizer, training_args, data_args, rows, dev, train_config)
    for callback in callbacks:
        trainer.add_callback(callback)
    if trainer.is_world_process_zero():
        model.print_trainable_parameters()
        print(f"vaner train: {len(records)} sentences -> {len(rows)} rows; {len(dev)} dev corpora", file=sys.stderr)
    trainer.train(resume_from_checkpoint=checkpoint)
    summary = {
        "adapter": str(output_dir / RUN_ADAPTER_DIR),
        "evaluation": None,
        "global_step": trainer.state.global_step,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_metric": trainer.state.best_metric,
    }
    if trainer.is_world_process_zero():
        adapter_dir = save_adapter(trainer.model, output_dir / RUN_ADAPTER_DIR, model_args.adapter_dtype, train_config)
        if data_args.final_eval_split != "none" and data_args.corpora:
            summary["evaluation"] = final_evaluation(trainer, tokenizer, data_args, seed, adapter_dir)
        plot_log(output_dir, adapter_dir / PLOT_FILE)
    trainer.accelerator.wait_for_everyone()
    return summary


def final_evaluation(trainer, tokenizer, data_args: DataArguments, seed: int, adapter_dir: Path) -> dict:
    """Score the trained model on `final_eval_split`; writes evaluation.json into the adapter folder and prints the
    table."""
    from .evaluation import evaluate_corpora, format_table, write_report
    from .pipeline_vaner import VanerTokenClassificationPipeline

    model = trainer.model.eval()
    tagger = VanerTokenClassificationPipeline(
        model=model, tokenizer=tokenizer, task="token-classification", precision="bf16" if trainer.args.bf16 else "fp32"
    )
    with trainer.autocast_smart_context_manager():
        report = evaluate_corpora(
            tagger,
            data_args.corpora,
            data_args.final_eval_split,
            data_args.corpora_dir,
            dataset_in_instruction=data_args.dataset_in_instruction,
            limit=data_args.final_eval_limit_per_corpus,
            seed=seed,
            batch_size=data_args.eval_batch_size,
        )
    report["model"] = str(adapter_dir)
    print(format_table(report))
    write_report(report, adapter_dir / EVALUATION_FILE)
    return report


# ---------------------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------------------
FINETUNE_CONFIG = "finetune.yaml"  # in configs/: what --train-file runs without --config


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="fine-tune a VANER adapter from a YAML config, or on your own files (Trainer, LoRA)",
        description="Train from a YAML config (--config), or fine-tune the embedded vaner-smol on your annotated "
        "files (--train-file, --dev-file, --type: configs/finetune.yaml unless --config is given).",
    )
    parser.add_argument("--config", type=Path, help="YAML file (see configs/smol.yaml, configs/finetune.yaml)")
    parser.add_argument(
        "--train-file", action="append", default=[], metavar="FILE",
        help="your annotated file (token<TAB>IOB2 tag columns, .jsonl of tokens and tags, or .pubtator); repeatable",
    )
    parser.add_argument("--dev-file", action="append", default=[], metavar="FILE", help="your dev file; repeatable")
    parser.add_argument("--type", dest="types", nargs="+", metavar="TYPE", help="entity type(s) to read from them")
    parser.add_argument("--dataset", help="a name for your files in the instruction (default: type-only)")
    parser.add_argument("--output-dir", help="where the checkpoints and the adapter go")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in output_dir")
    parser.add_argument(
        "--set", dest="overrides", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
        help="override config fields (VALUE read as YAML), e.g. --set max_steps=10 bf16=true",
    )
    parser.set_defaults(func=run_train)


def file_overrides(args) -> dict:
    """The config fields that `--train-file`, `--dev-file`, `--type`, `--dataset` and `--output-dir` set.

    Raises:
        ValueError: --dev-file, --type or --dataset without --train-file.
    """
    if not args.train_file and (args.dev_file or args.types or args.dataset):
        raise ValueError("--dev-file, --type and --dataset describe --train-file: give at least one --train-file")
    overrides = {"output_dir": args.output_dir} if args.output_dir else {}
    if args.train_file:
        source = {"types": args.types, "dataset": args.dataset}
        overrides["train_files"] = [{"path": path, **source} for path in args.train_file]
        overrides["dev_files"] = [{"path": path, **source} for path in args.dev_file]
    return overrides


def run_train(args) -> int:
    from .hub_card import asset_dir

    if args.config is None and not args.train_file:
        raise ValueError("give --config FILE.yaml, or --train-file FILE to fine-tune on your own annotations")
    config = args.config or asset_dir("configs") / FINETUNE_CONFIG
    overrides = {**file_overrides(args), **parse_overrides(args.overrides)}
    model_args, data_args, training_args = parse_config(config, overrides)
    summary = run_training(model_args, data_args, training_args, resume=args.resume)
    print(json.dumps({key: value for key, value in summary.items() if key != "evaluation"}, indent=2))
    return 0


