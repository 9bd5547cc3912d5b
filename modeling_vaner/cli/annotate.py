"""`vaner annotate INPUT OUTPUT`: tag a whole collection (`modeling_vaner.annotate.annotate_file`)."""

import sys
from pathlib import Path

from ..annotate import ON_ERROR
from ..document_writers import OUTPUT_FORMATS
from ..documents import INPUT_FORMATS
from ..options_vaner import DEFAULT_CHUNK_SIZE
from .options import (
    add_dataset_option,
    add_link_options,
    add_overwrite_option,
    add_tagger_options,
    add_types_option,
    load_linker_from,
    pipeline_arguments,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "annotate",
        help="tag a whole collection: text, JSONL, PubTator or BioC in; JSONL, PubTator or BioC out (resumable)",
        description="Tag every document of INPUT and write them with their entities to OUTPUT. Killed and started "
        "again with the same command, it continues where it stopped (progress in OUTPUT.parts/), if INPUT has not "
        "changed (its size and SHA-256 are checked). Under torchrun or accelerate launch the documents are shared "
        "between the processes.",
    )
    parser.add_argument("input", type=Path, help="the collection to tag")
    parser.add_argument("output", type=Path, help="where to write it with its entities")
    parser.add_argument(
        "--input-format",
        choices=INPUT_FORMATS,
        help="text: one document per line; jsonl: one JSON object per line (see --id-field, --text-field); "
        "default: from the extension (.jsonl, .pubtator, .xml = bioc-xml, .json = bioc-json, else text)",
    )
    parser.add_argument("--output-format", choices=OUTPUT_FORMATS, help="default: from the extension (else jsonl)")
    parser.add_argument("--id-field", default="id", help="JSONL input: the id field (default id; else the line number)")
    parser.add_argument(
        "--text-field", default="text", help="JSONL input: the text field (default text; else title and abstract)"
    )
    add_types_option(parser)
    add_dataset_option(parser)
    parser.add_argument("--threshold", type=float, default=0.0, help="leave out entities scoring below it (default 0)")
    add_link_options(parser)
    add_tagger_options(parser, compile=False)
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=DEFAULT_CHUNK_SIZE,
        help=f"documents tagged and saved together (default {DEFAULT_CHUNK_SIZE})",
    )
    parser.add_argument(
        "--on-error",
        choices=ON_ERROR,
        default="skip",
        help="a record that cannot be read: skip it (reported, counted) or stop (default skip)",
    )
    add_overwrite_option(parser, "OUTPUT")
    parser.set_defaults(func=run_annotate)


def run_annotate(args) -> int:
    from ..annotate import annotate_file, format_summary

    summary = annotate_file(
        args.input,
        args.output,
        input_format=args.input_format,
        output_format=args.output_format,
        id_field=args.id_field,
        text_field=args.text_field,
        chunk_size=args.chunk_size,
        on_error=args.on_error,
        overwrite=args.overwrite,
        linker=load_linker_from(args),
        **pipeline_arguments(args),
        entity_types=args.types,
        dataset=args.dataset,
        threshold=args.threshold,
    )
    if summary is not None:  # the first process, which wrote OUTPUT
        print(format_summary(summary, args.output, summary["output_format"]), file=sys.stderr)
    return 0
