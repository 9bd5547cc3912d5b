"""`vaner data stats | export | rehearsal`: the training corpora against Table 2 of the paper, their Hub export
(`dataset_scripts.stats`, `dataset_scripts.export`), and the rehearsal sentences the package ships
(`modeling_vaner.training.rehearsal`)."""

import argparse
import json
import sys
from pathlib import Path

from dataset_scripts.corpora import CORPORA

from .options import add_corpora_dir_option


def register(subparsers) -> None:
    data = subparsers.add_parser("data", help="the training corpora: statistics and Hub export")
    commands = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    common = argparse.ArgumentParser(add_help=False)
    add_corpora_dir_option(common)
    common.add_argument(
        "--corpus", action="append", choices=list(CORPORA), help="a corpus to include (repeatable; default: all)"
    )
    stats = commands.add_parser(
        "stats", parents=[common], help="sentences and entities per corpus and split, next to Table 2 of the paper"
    )
    stats.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stats.set_defaults(func=run_stats)
    export = commands.add_parser("export", parents=[common], help="write a Hub dataset repository folder")
    export.add_argument("--out", required=True, help="output folder (README.md dataset card + parquet files)")
    export.set_defaults(func=run_export)
    rehearsal = commands.add_parser(
        "rehearsal",
        help="write the rehearsal sentences the package ships (a maintainer's step, after a corpus change)",
        description="The first training sentences of each rehearsal corpus (the paper's and JNLPBA's cell lines: "
        "the corpora directory holds the added corpora too) whose licence allows redistribution, as the readers "
        "return them, into modeling_vaner/training/rehearsal.jsonl (and REHEARSAL.md, their credits).",
    )
    add_corpora_dir_option(rehearsal)
    rehearsal.add_argument(
        "--out", type=Path, help="the JSONL file to write, REHEARSAL.md beside it (default: the package's)"
    )
    rehearsal.set_defaults(func=run_rehearsal)


def run_stats(args) -> int:
    from dataset_scripts.stats import collect, format_table

    results = collect(args.corpora_dir, args.corpus or tuple(CORPORA))
    print(json.dumps(results, indent=2) if args.json else format_table(results))
    if not any(result["available"] for result in results):
        print(f"vaner data stats: error: no corpus can be read: {results[0]['error']}", file=sys.stderr)
        return 2
    return int(any(result.get("error", "").startswith("invalid") for result in results))


def run_rehearsal(args) -> int:
    from ..training.rehearsal import REHEARSAL_FILE, build_rehearsal_file

    out = args.out or REHEARSAL_FILE
    written = build_rehearsal_file(args.corpora_dir, out)
    print(f"wrote {out}: {', '.join(f'{name} {count}' for name, count in written.items())}")
    return 0


def run_export(args) -> int:
    from dataset_scripts.export import export

    report = export(args.out, args.corpora_dir, args.corpus or tuple(CORPORA))
    print(f"wrote {args.out}: {', '.join(report['exported'])}")
    for name, reason in report["unavailable"].items():
        print(f"skipped {name}: {reason}")
    return 0
