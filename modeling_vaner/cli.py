"""The `vaner` command. Each sub-command lives in its own module, which exposes `register(subparsers)`.

Command modules keep heavy imports (torch, transformers, datasets) inside their run functions, so that
`vaner --help` and argument errors answer at once.
"""

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "modeling_vaner.backbone",  # vaner backbone
    "modeling_vaner.extract",  # vaner extract
    "modeling_vaner.annotate",  # vaner annotate
    "dataset_scripts.cli",  # vaner data stats | export
    "modeling_vaner.dbr.cli",  # vaner dbr build | kb | export | check
    "modeling_vaner.training",  # vaner train
    "modeling_vaner.run_log",  # vaner plot-log
    "modeling_vaner.adapter",  # vaner install-adapter | average-adapters
    "modeling_vaner.evaluation",  # vaner evaluate
    "modeling_vaner.hub",  # vaner stage | push
    "modeling_vaner.release",  # vaner convert-release
    "modeling_vaner.onnx_export",  # vaner export-onnx
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vaner", description="Biomedical named-entity recognition with VANER.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def user_error(error: BaseException) -> BaseException | None:
    """The user's mistake behind `error`, if any: a missing file or a bad value, also when a library (e.g. a
    `datasets` builder, which wraps what its generator raised) reports it as its own error."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, (FileNotFoundError, ValueError)):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def main(argv=None) -> int:
    from dataset_scripts.corpora import resolve_corpora_dir

    args = build_parser().parse_args(argv)
    try:
        if hasattr(args, "corpora_dir"):  # the command's edge: --corpora-dir, else $VANER_CORPORA_DIR, once
            args.corpora_dir = resolve_corpora_dir(args.corpora_dir)
        return args.func(args) or 0
    except Exception as error:
        cause = user_error(error)
        if cause is None:
            raise
        print(f"vaner {args.command}: error: {cause}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
