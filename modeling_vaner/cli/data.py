"""`vaner data stats | export`: the training corpora against Table 2 of the paper, and their Hub export
(`dataset_scripts.stats`, `dataset_scripts.export`)."""

import argparse
import json
import sys

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


def run_stats(args) -> int:
    from dataset_scripts.stats import collect, format_table

    results = collect(args.corpora_dir, args.corpus or tuple(CORPORA))
    print(json.dumps(results, indent=2) if args.json else format_table(results))
    if not any(result["available"] for result in results):
        print(f"vaner data stats: error: no corpus can be read: {results[0]['error']}", file=sys.stderr)
        return 2
    return int(any(result.get("error", "").startswith("invalid") for result in results))


def run_export(args) -> int:
    from dataset_scripts.export import export

    report = export(args.out, args.corpora_dir, args.corpus or tuple(CORPORA))
    print(f"wrote {args.out}: {', '.join(report['exported'])}")
    for name, reason in report["unavailable"].items():
        print(f"skipped {name}: {reason}")
    return 0
