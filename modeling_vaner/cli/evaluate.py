"""`vaner evaluate`: entity-level P/R/F1 of a model on corpus splits or a tagged file
(`modeling_vaner.evaluation.evaluate_model`), printed as a table beside the paper's F1, and written as JSON only
with --output."""

import argparse
import sys
from pathlib import Path

from dataset_scripts.corpora import SPLITS
from dataset_scripts.guideline import GOLDS

from ..options_vaner import DECODINGS, PADDINGS
from .options import add_corpora_dir_option, add_tagger_options, pipeline_arguments


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="entity-level P/R/F1 of a model on corpus splits or a token<TAB>tag file"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--corpus", nargs="+", metavar="NAME", help="corpus names (e.g. ncbi s800), or 'all'")
    source.add_argument(
        "--file", type=Path, help="a tagged column file: token first, IOB2 tag last, blank line between sentences"
    )
    parser.add_argument(
        "--type", dest="entity_type", help="score only this entity type of --file (default: every type in it)"
    )
    parser.add_argument(
        "--type-map",
        type=parse_type_map,
        help="the --file's type names to instruction types, e.g. Organism=Species,Simple_chemical=Chemical "
        "(a type it does not map is an error)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="an I- tag that does not continue an entity is an error, not a start"
    )
    parser.add_argument("--split", default="test", choices=SPLITS)
    add_corpora_dir_option(parser)
    parser.add_argument(
        "--instruction",
        choices=("dataset", "type-only"),
        help="instruction with the corpus name or type-only (VANER_adapt); default: dataset for --corpus, "
        "type-only for --file",
    )
    parser.add_argument(
        "--gold",
        choices=GOLDS,
        default=GOLDS[0],
        help="corpus: each corpus's own gold (default); guideline: its gold under the type-only guideline "
        "(docs/GUIDELINES.md), scoring the type-only instruction (--corpus only; dataset-only corpora skipped)",
    )
    parser.add_argument(
        "--limit", type=int, help="score a random subsample of this many sentences per corpus (per type for --file)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the --limit subsample")
    add_tagger_options(parser)
    parser.add_argument(
        "--decoding",
        choices=DECODINGS,
        default=DECODINGS[0],
        help="word labels: the most probable valid IOB2 sequence (viterbi) or each word's own argmax",
    )
    parser.add_argument(
        "--padding",
        choices=PADDINGS,
        default=PADDINGS[0],
        help="visible: a converted release as its authors ran it (rows left-padded to the window, padding attended)",
    )
    parser.add_argument(
        "--output", type=Path, help="also write the report as JSON to this file (default: print the table only)"
    )
    parser.add_argument(
        "--predictions",
        type=Path,
        metavar="DIR",
        help="also write each corpus's words with their gold and predicted IOB2 tags to DIR/<corpus>.<split>.conll "
        "(DIR/<file stem>.<type>.conll for --file): conlleval's columns, to read the errors or score again",
    )
    parser.set_defaults(func=run_evaluate)


def parse_type_map(text: str) -> dict[str, str]:
    """`A=B,C=D` as {"A": "B", "C": "D"}.

    Raises:
        argparse.ArgumentTypeError: anything else.
    """
    pairs = [item.partition("=") for item in text.split(",")]
    if not all(source.strip() and sep and target.strip() for source, sep, target in pairs):
        raise argparse.ArgumentTypeError(f"expected FILE_TYPE=TYPE[,FILE_TYPE=TYPE...], got {text!r}")
    return {source.strip(): target.strip() for source, _, target in pairs}


def run_evaluate(args) -> int:
    from ..evaluation import evaluate_model, format_table

    report = evaluate_model(
        corpora=args.corpus,
        file=args.file,
        entity_type=args.entity_type,
        type_map=args.type_map,
        strict=args.strict,
        split=args.split,
        corpora_dir=args.corpora_dir,
        instruction=args.instruction,
        gold=args.gold,
        limit=args.limit,
        seed=args.seed,
        decoding=args.decoding,
        padding=args.padding,
        output=args.output,
        predictions_dir=args.predictions,
        **pipeline_arguments(args),
    )
    print(format_table(report))
    if args.output is not None:
        print(f"wrote {args.output}", file=sys.stderr)
    if args.predictions is not None:
        print(f"wrote the words, gold and predicted tags to {args.predictions}/", file=sys.stderr)
    return 0
