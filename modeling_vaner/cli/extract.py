"""`vaner extract`: tag text from an argument, a file or standard input."""

import json
import sys
from pathlib import Path

from .options import add_dataset_option, add_tagger_options, add_types_option, pipeline_arguments


def register(subparsers) -> None:
    parser = subparsers.add_parser("extract", help="tag biomedical entities in text")
    parser.add_argument("text", nargs="?", help="the text; without it, --file or standard input")
    parser.add_argument(
        "--file", type=Path, help="read the text from this file, as ONE text (a collection: vaner annotate)"
    )
    add_types_option(parser)
    add_dataset_option(parser)
    parser.add_argument("--format", choices=("table", "jsonl"), default="table")
    add_tagger_options(parser)
    parser.set_defaults(func=run_extract)


def read_input_text(args) -> str:
    """The text `vaner extract` tags: the argument, the --file, or standard input.

    Raises:
        ValueError: both an argument and --file, or no text at all.
        FileNotFoundError: the --file does not exist.
    """
    if args.text is not None and args.file is not None:
        raise ValueError("give the text as an argument or with --file, not both")
    if args.text is not None:
        return args.text
    if args.file is not None:
        if not args.file.is_file():
            raise FileNotFoundError(f"no such file: {args.file}")
        return args.file.read_text(encoding="utf-8")
    if sys.stdin.isatty():
        raise ValueError("no text: pass it as an argument, with --file, or on standard input")
    return sys.stdin.read()


def format_table(entities: list[dict]) -> str:
    """Entities as aligned columns: start, end, type, score, text."""
    header = ("start", "end", "type", "score", "text")
    rows = [(str(e["start"]), str(e["end"]), e["entity_group"], f"{e['score']:.3f}", e["word"]) for e in entities]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    return "\n".join(lines)


def run_extract(args) -> int:
    from ..loading import load_pipeline

    text = read_input_text(args)
    tagger = load_pipeline(**pipeline_arguments(args))
    entities = tagger(text, entity_types=args.types, dataset=args.dataset)
    if args.format == "jsonl":
        for entity in entities:
            print(json.dumps(entity, ensure_ascii=False))
    else:
        print(format_table(entities) if entities else "(no entities)")
    return 0
