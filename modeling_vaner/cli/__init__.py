"""The `vaner` command: one module per command (or family of commands) in this package, each with
`register(subparsers)` (its argparse definition) and thin run functions that call the library.

Building the parser imports neither torch nor transformers (the command modules import the library inside their
run functions), so that `vaner --help` and argument errors answer at once. The options several commands share are
defined once, in `options.py`.
"""

import argparse
import importlib
import os
import shutil
import sys
import textwrap
import warnings

# (title, command modules) in the order `vaner --help` lists them; each module registers the commands it names
COMMAND_GROUPS = (
    (
        "commands",
        (
            "extract",  # vaner extract
            "annotate",  # vaner annotate
            "evaluate",  # vaner evaluate
            "evaluate_linking",  # vaner evaluate-linking
            "train",  # vaner train
            "export_onnx",  # vaner export-onnx
        ),
    ),
    (
        "maintainer and data commands",
        (
            "hub",  # vaner stage | push
            "release",  # vaner convert-release
            "adapter",  # vaner install-adapter | average-adapters
            "run_log",  # vaner plot-log
            "backbone",  # vaner backbone
            "data",  # vaner data stats | export
            "dbr",  # vaner dbr kb | build | export | check
        ),
    ),
)


class CommandGroup:
    """What a command module's `register` receives in place of argparse's subparsers: it adds the parsers there and
    keeps each command's one-line help for the grouped listing of `vaner --help` (argparse's own list, which cannot
    group, is left out)."""

    def __init__(self, subparsers, title: str):
        self.subparsers, self.title, self.summaries = subparsers, title, {}

    def add_parser(self, name: str, *, help: str, **kwargs) -> argparse.ArgumentParser:
        self.summaries[name] = help
        return self.subparsers.add_parser(name, **kwargs)


def command_listing(groups: list[CommandGroup], width: int) -> str:
    """The groups, each a title and its commands with their one-line help, wrapped to `width` columns."""
    indent = 2 + max(len(name) for group in groups for name in group.summaries) + 2
    blocks = []
    for group in groups:
        lines = [f"{group.title}:"]
        for name, summary in group.summaries.items():
            lines += textwrap.wrap(
                summary,
                width,
                initial_indent=f"  {name}".ljust(indent),
                subsequent_indent=" " * indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def build_parser() -> argparse.ArgumentParser:
    """The `vaner` parser: every command of `COMMAND_GROUPS`, listed by group in `vaner --help`."""
    parser = argparse.ArgumentParser(prog="vaner", formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="one of the commands above (`vaner COMMAND --help`)"
    )
    groups = []
    for title, module_names in COMMAND_GROUPS:
        group = CommandGroup(subparsers, title)
        for module_name in module_names:
            importlib.import_module(f".{module_name}", __name__).register(group)
        groups.append(group)
    width = max(min(shutil.get_terminal_size().columns - 2, 118), 40)  # as argparse wraps, at most 118 columns
    parser.description = "Biomedical named-entity recognition with VANER.\n\n" + command_listing(groups, width)
    return parser


def user_error(error: BaseException) -> BaseException | None:
    """The user's mistake behind `error`, if any: a missing file, a directory given as a file or a bad value, also
    when a library (e.g. a `datasets` builder, which wraps what its generator raised) reports it as its own error."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, (FileNotFoundError, IsADirectoryError, ValueError)):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


# OpenMP threads that wait for work sleep instead of spinning: beside another busy process, spinning threads take
# its core in turns and the forward collapses (benchmarks/results/threads.json). Read when torch loads OpenMP, so
# set before any command imports torch; a user's own OMP_WAIT_POLICY wins.
DEFAULT_OMP_WAIT_POLICY = "PASSIVE"


def configure_threads(threads: int | None) -> None:
    """The process's threads for the forward: OpenMP's wait policy (`DEFAULT_OMP_WAIT_POLICY` unless the user set
    one), and `threads` intra-op threads when given (`--threads`; default: torch's, one per core)."""
    os.environ.setdefault("OMP_WAIT_POLICY", DEFAULT_OMP_WAIT_POLICY)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


PYTHON_FORMATWARNING = warnings.formatwarning  # kept at import: `main` may run more than once in a process


def show_warnings_as_lines(command: str) -> None:
    """Print the warnings addressed to the user (an untrained entity type asked for) as one line,
    "vaner COMMAND: warning: ...", instead of Python's file, line number and source line; others as Python does."""
    from ..options_vaner import UntrainedEntityTypeWarning

    def format_warning(message, category, filename, lineno, line=None):
        if issubclass(category, UntrainedEntityTypeWarning):
            return f"vaner {command}: warning: {message}\n"
        return PYTHON_FORMATWARNING(message, category, filename, lineno, line)

    warnings.formatwarning = format_warning


def main(argv=None) -> int:
    from dataset_scripts.corpora import resolve_corpora_dir

    args = build_parser().parse_args(argv)
    configure_threads(getattr(args, "threads", None))
    show_warnings_as_lines(args.command)
    try:
        if hasattr(args, "corpora_dir"):  # the command's edge: --corpora-dir, else $VANER_CORPORA_DIR, once
            args.corpora_dir = resolve_corpora_dir(args.corpora_dir)
        return args.func(args) or 0
    except KeyboardInterrupt as interrupt:  # Ctrl-C: one line (what was saved, if the command says), not a traceback
        saved = f"; {interrupt}" if str(interrupt) else ""
        print(f"vaner {args.command}: interrupted{saved}", file=sys.stderr)
        return 130
    except Exception as error:
        cause = user_error(error)
        if cause is None:
            raise
        print(f"vaner {args.command}: error: {cause}", file=sys.stderr)
        return 2
