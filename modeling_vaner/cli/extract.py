"""`vaner extract`: tag text from an argument, a file or standard input."""

import json
import sys
from pathlib import Path

from ..documents import BOM, check_input_file, decode_utf8
from .options import (
    add_dataset_option,
    add_link_options,
    add_tagger_options,
    add_types_option,
    load_linker_from,
    pipeline_arguments,
)

# Longer texts get a progress bar on standard error (a 2 MB one runs for minutes on a CPU)
PROGRESS_FROM_CHARACTERS = 5_000


def register(subparsers) -> None:
    parser = subparsers.add_parser("extract", help="tag biomedical entities in text")
    parser.add_argument("text", nargs="?", help="the text; without it, --file or standard input")
    parser.add_argument(
        "--file", type=Path, help="read the text from this file, as ONE text (a collection: vaner annotate)"
    )
    add_types_option(parser)
    add_dataset_option(parser)
    parser.add_argument("--format", choices=("table", "jsonl"), default="table")
    add_link_options(parser)
    add_tagger_options(parser)
    parser.set_defaults(func=run_extract)


def read_input_text(args) -> str:
    """The text `vaner extract` tags: the argument, the --file, or standard input; never nothing, since an empty
    result for a text that went missing (e.g. taken by --types, whose values run up to the next option) would look
    like a text without entities.

    Raises:
        ValueError: both an argument and --file, or no text at all, or only blanks (each naming where it looked,
            and --types as the likely cause where it was given), or a file or standard input that is not UTF-8
            (naming it and the byte).
        FileNotFoundError: the --file does not exist.
        IsADirectoryError: the --file is a directory.
    """
    if args.text is not None and args.file is not None:
        raise ValueError("give the text as an argument or with --file, not both")
    # `--types A "text"` reads the text as a type: say so wherever the text is then found missing
    taken = " (did --types take it? put the text before --types)" if args.types else ""
    if args.text is not None:
        text, source = args.text, "the text argument is empty"
    elif args.file is not None:
        check_input_file(args.file)
        # a leading byte-order mark dropped (in every input): offsets count from the text after it
        text, source = decode_utf8(args.file.read_bytes(), args.file).removeprefix(BOM), f"{args.file} holds no text"
    elif sys.stdin.isatty():
        raise ValueError(f"no text: pass it as an argument, with --file, or on standard input{taken}")
    else:
        text, source = read_standard_input(), f"no text on standard input{taken}"
    if not text.strip():
        raise ValueError(source)
    return text


def read_standard_input() -> str:
    """Standard input read as UTF-8 whatever the locale, a leading byte-order mark dropped.

    Raises:
        ValueError: bytes that are not UTF-8 ("standard input: not valid UTF-8 at byte N (...)").
    """
    stdin = getattr(sys.stdin, "buffer", None)  # None where a caller replaced sys.stdin by a text stream
    text = sys.stdin.read() if stdin is None else decode_utf8(stdin.read(), "standard input")
    return text.removeprefix(BOM)


def progress_bar(total: int):
    """A bar on standard error over the `total` tokens the pipeline runs, with its rate and ETA."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="vaner extract", unit="token", unit_scale=True, file=sys.stderr)


def format_table(entities: list[dict]) -> str:
    """Entities as aligned columns: start, end, type, score, text; with identifiers (`--link`), start, end, type,
    score, id, id score ("-" for none), text."""
    header = ("start", "end", "type", "score", "text")
    rows = [(str(e["start"]), str(e["end"]), e["entity_group"], f"{e['score']:.3f}", e["word"]) for e in entities]
    if any("id" in e for e in entities):
        header = (*header[:4], "id", "id score", "text")
        scores = [f"{e['id_score']:.3f}" if e.get("id_score") is not None else "-" for e in entities]
        rows = [(*row[:4], e.get("id") or "-", score, row[4]) for row, e, score in zip(rows, entities, scores)]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    return "\n".join(lines)


def run_extract(args) -> int:
    from ..loading import load_pipeline

    text = read_input_text(args)
    linker = load_linker_from(args)  # before the model loads: a wrong directory fails at once
    tagger = load_pipeline(**pipeline_arguments(args))
    if len(text) > PROGRESS_FROM_CHARACTERS:
        tagger.progress = progress_bar
    tagger.linker = linker
    entities = tagger(text, entity_types=args.types, dataset=args.dataset, link=args.link or None)
    if args.format == "jsonl":
        for entity in entities:
            print(json.dumps(entity, ensure_ascii=False))
    else:
        print(format_table(entities) if entities else "(no entities)")
    return 0
