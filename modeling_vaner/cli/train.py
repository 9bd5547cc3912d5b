"""`vaner train`: fine-tune a VANER adapter from a YAML config, or on your own files (`modeling_vaner.training`)."""

import json
import signal
import sys
from pathlib import Path

from .options import add_verbose_option

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
    parser.add_argument(
        "--no-rehearsal", action="store_true",
        help="train on your files only: no built-in corpus sentences (default: the first 30 of each, shipped with "
        "the package where their licence allows, so that the types the model knows are not forgotten)",
    )
    parser.add_argument("--output-dir", help="where the checkpoints and the adapter go")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in output_dir")
    parser.add_argument(
        "--set", dest="overrides", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
        help="override config fields (VALUE read as YAML), e.g. --set max_steps=10 bf16=true",
    )
    add_verbose_option(parser)
    parser.set_defaults(func=run_train)


def file_overrides(args) -> dict:
    """The config fields that `--train-file`, `--dev-file`, `--type`, `--dataset`, `--no-rehearsal` and
    `--output-dir` set.

    Raises:
        ValueError: --dev-file, --type, --dataset or --no-rehearsal without --train-file.
    """
    if not args.train_file and (args.dev_file or args.types or args.dataset or args.no_rehearsal):
        raise ValueError(
            "--dev-file, --type, --dataset and --no-rehearsal describe --train-file: give at least one --train-file"
        )
    overrides = {"output_dir": args.output_dir} if args.output_dir else {}
    if args.no_rehearsal:  # no corpus at all: neither trained on nor scored, nor any per-corpus setting
        overrides.update(corpora=[], eval_corpora=[], train_limits={}, train_repeats={}, train_with_dev=[],
                         eval_limits={}, pseudo_label_rehearsal=False)
    if args.train_file:
        source = {"types": args.types, "dataset": args.dataset}
        overrides["train_files"] = [{"path": path, **source} for path in args.train_file]
        overrides["dev_files"] = [{"path": path, **source} for path in args.dev_file]
    return overrides


def run_train(args) -> int:
    from ..backbone import quiet_imports
    from ..hub_card import asset_dir
    from ..training.args import parse_config, parse_overrides
    from ..training.run import run_training

    if args.config is None and not args.train_file:
        raise ValueError("give --config FILE.yaml, or --train-file FILE to fine-tune on your own annotations")
    config = args.config or asset_dir("configs") / FINETUNE_CONFIG
    overrides = {**file_overrides(args), **parse_overrides(args.overrides)}
    with quiet_imports(args.verbose):  # it imports transformers' training code, which imports peft
        model_args, data_args, training_args = parse_config(config, overrides)
    summary = run_training(model_args, data_args, training_args, resume=args.resume, verbose=args.verbose)
    print(json.dumps({key: value for key, value in summary.items() if key != "evaluation"}, indent=2))
    if "interrupted" in summary:
        step = summary["global_step"]
        print(f"vaner train: stopped by {summary['interrupted']} at step {step}; checkpoint-{step} is in "
              f"{training_args.output_dir}: continue with --resume", file=sys.stderr)
        return 128 + signal.Signals[summary["interrupted"]].value  # what a shell reports for a process it ended
    return 0
