"""Fine-tuning with the `transformers` Trainer: `vaner train --config FILE.yaml` (the command: `cli/train.py`).

One module per job, after sentence-transformers' `training_args.py` / `trainer.py`:

- `args`: `ModelArguments`, `DataArguments` and the YAML config (flat: those two and any `TrainingArguments`
  field; a `base:` chain; `--set` overrides): `parse_config`. Imports neither torch nor transformers.
- `data`: the training mixture (built-in corpora, DBR sentences, users' files) and dev records, encoded into model
  rows with the pipeline's own functions (`encode_words`, `encode_instruction`, `build_input`,
  `split_into_windows`, `assign_words_to_windows`), so that training and inference see identical inputs; a
  sentence longer than `max_length` becomes overlapping windows, each word labelled in the one window that owns
  it (as at inference) and -100 elsewhere: no word is dropped. `PaddingCollator` pads a batch.
- `rehearsal`: the first training sentences of the corpora whose licence allows it, shipped in `rehearsal.jsonl`
  (built by `vaner data rehearsal`), so that a fine-tune on a user's files rehearses without the corpora.
- `trainer`: `VanerTrainer`, whose evaluation is entity-level F1 per corpus on a (subsampled) dev split, through
  the pipeline's `tag_words`, sharded over processes; `mean_f1` (macro over corpora) selects the best checkpoint.
  `AdapterCheckpointCallback` makes every checkpoint an adapter folder (`adapter.py`) holding the run's settings
  (train_config.json).
- `run`: `build_model` (LoRA on all linear layers, head trained in full) and `run_training`: at the end, the best
  model in `OUTPUT_DIR/adapter` with the evaluation on `final_eval_split` (evaluation.json, `final_evaluation`)
  and the loss/F1 curves (training_curves.png) plotted from the run log `OUTPUT_DIR/log.jsonl` (`run_log.py`).

Runs unchanged under `torchrun` / `accelerate launch`. The names below load lazily: importing this package (or
`training.args`) imports neither torch nor transformers.
"""

import importlib

_EXPORTS = {
    "ModelArguments": "args",
    "DataArguments": "args",
    "check_file_source": "args",
    "source_name": "args",
    "parse_config": "args",
    "read_config_values": "args",
    "parse_overrides": "args",
    "precision_overrides": "args",
    "file_source_records": "data",
    "add_file_types": "data",
    "training_records": "data",
    "dev_records": "data",
    "instruction_dataset": "data",
    "encode_records": "data",
    "PaddingCollator": "data",
    "shipped_corpora": "rehearsal",
    "shipped_rehearsal": "rehearsal",
    "build_rehearsal_file": "rehearsal",
    "VanerTrainer": "trainer",
    "AdapterCheckpointCallback": "trainer",
    "build_model": "run",
    "run_training": "run",
    "final_evaluation": "run",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


def __dir__():
    return sorted([*globals(), *_EXPORTS])
