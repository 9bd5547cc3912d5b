"""`vaner dbr`: kb | build | export | check, Dense Bioentities Recognition (`modeling_vaner.dbr`)."""

import argparse
import json
import sys

from dataset_scripts.corpora import CORPORA, PAPER_CORPORA, SPLITS

from ..dbr import DBR_VARIANTS
from .options import add_corpora_dir_option

ALL_CORPORA = list(CORPORA)
PAPER = list(PAPER_CORPORA)  # the default: the added corpora are named one by one
DESCRIPTION = "Dense Bioentities Recognition: kb | build | export | check."


def _common(parser: argparse.ArgumentParser, seed: bool = True) -> None:
    add_corpora_dir_option(parser)
    parser.add_argument("--kb-dir", help="knowledge-base dictionaries (default: $VANER_KB_DIR, else <corpora-dir>/kb)")
    parser.add_argument("--kb-sources", nargs="+", metavar="SOURCE",
                        help="knowledge-base sources (default: every source that is on by default; see `vaner dbr kb`)")
    parser.add_argument("--kb-tsv", nargs="+", default=[], metavar="FILE",
                        help="extra name<TAB>type files to add to the knowledge base (e.g. a UMLS export)")
    parser.add_argument("--encoder", default="tfidf",
                        help="'tfidf' (offline, default) or a sentence-transformers model, e.g. "
                        "cambridgeltl/SapBERT-from-PubMedBERT-fulltext")
    parser.add_argument("--cache-dir", help="cache for the KB, the index and build shards (default: $VANER_CACHE/dbr "
                        "or ~/.cache/vaner/dbr)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    if seed:
        parser.add_argument("--seed", type=int, default=42, help="seed of sampling, shuffling and index training")


def _builder_options(args) -> dict:
    from ..dbr.kb import DEFAULT_SOURCES

    return {"kb_dir": args.kb_dir, "kb_sources": tuple(args.kb_sources or DEFAULT_SOURCES), "user_tsvs": args.kb_tsv,
            "encoder": args.encoder, "cache_dir": args.cache_dir}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "dbr", help="Dense Bioentities Recognition: knowledge base, dense sentences, dataset", description=DESCRIPTION
    )
    commands = parser.add_subparsers(dest="dbr_command", required=True, metavar="DBR_COMMAND")

    kb = commands.add_parser("kb", help="build (or load) the knowledge base and print its statistics")
    _common(kb, seed=False)
    kb.add_argument("--rebuild", action="store_true", help="rebuild even when cached")
    kb.add_argument("--output", help="also write the statistics as JSON to this file")
    kb.set_defaults(func=run_kb)

    build = commands.add_parser("build", help="build the dense sentences of one corpus split (resumable)")
    build.add_argument("--corpus", required=True, choices=ALL_CORPORA)
    build.add_argument("--split", default="train", choices=SPLITS)
    build.add_argument("--variant", default="dbr", choices=DBR_VARIANTS)
    build.add_argument("--limit", type=int, help="only the first N sentences")
    build.add_argument("--mixture", action="store_true", help="write the corpus sentences too (training mixture)")
    build.add_argument("--output", required=True, help="output JSON-lines file")
    build.add_argument("--no-cache", action="store_true", help="do not read or write shard checkpoints")
    _common(build)
    build.set_defaults(func=run_build)

    export = commands.add_parser("export", help="write the training mixture as a Hub dataset folder (org/vaner-dbr)")
    export.add_argument("--output", required=True, help="output folder")
    export.add_argument("--corpora", nargs="+", default=PAPER, choices=ALL_CORPORA)
    export.add_argument("--skip-unavailable", action="store_true", help="leave out corpora whose files are missing")
    export.add_argument("--variant", default="dbr", choices=DBR_VARIANTS)
    export.add_argument("--limit", type=int, help="only the first N sentences of each corpus")
    export.add_argument("--repo-id", default="org/vaner-dbr", help="dataset repository id named in the card")
    _common(export)
    export.set_defaults(func=run_export)

    check = commands.add_parser("check", help="share of the VANER umls_kg positives that our retrieval returns")
    check.add_argument("--files", nargs="+", default=["bc2gm", "ncbi", "s800"], choices=["bc2gm", "ncbi", "s800"])
    check.add_argument("--queries", default="mined", choices=("mined", "auto_ent"),
                       help="query phrases: our miner, or the authors' AutoPhrase phrases (auto_ent)")
    check.add_argument("--limit", type=int, help="only the first N sentences of each file")
    check.add_argument("--output", help="also write the table as JSON to this file")
    _common(check)
    check.set_defaults(func=run_check)


def _write_json(path, payload) -> None:
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2)
            handle.write("\n")


def run_kb(args) -> int:
    from ..dbr.kb import load_kb

    options = _builder_options(args)
    kb = load_kb(args.kb_dir, args.corpora_dir, options["kb_sources"], args.kb_tsv, cache_dir=args.cache_dir,
                 rebuild=args.rebuild, progress=not args.no_progress)
    print(json.dumps(kb.stats, indent=2))
    _write_json(args.output, kb.stats)
    return 0


def run_build(args) -> int:
    from ..dbr.mixture import build_split_records

    records = build_split_records(args.corpus, args.split, args.variant, args.corpora_dir, args.seed, args.limit,
                                  mixture=args.mixture, use_cache=not args.no_cache, progress=not args.no_progress,
                                  **_builder_options(args))
    with open(args.output, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    print(f"{len(records)} records written to {args.output}", file=sys.stderr)
    return 0


def run_export(args) -> int:
    from dataset_scripts.corpora import readable_corpora

    from ..dbr.mixture import export_dataset

    corpora = args.corpora
    if args.skip_unavailable:
        corpora, missing = readable_corpora(corpora, "train", args.corpora_dir)
        for corpus, reason in missing.items():
            print(f"vaner dbr export: skipping {corpus}: {reason}", file=sys.stderr)
    output = export_dataset(args.output, corpora, args.variant, args.corpora_dir, args.seed, args.limit, args.repo_id,
                            progress=not args.no_progress, **_builder_options(args))
    print(f"dataset folder written to {output} (configs: mix, {', '.join(corpora)})", file=sys.stderr)
    return 0


def run_check(args) -> int:
    from ..dbr.check import external_check
    from ..dbr.mixture import load_builder

    corpora_dir = args.corpora_dir
    if corpora_dir is None:
        raise ValueError("vaner dbr check needs the VANER dev files: pass --corpora-dir or set VANER_CORPORA_DIR")
    builder = load_builder(corpora_dir=corpora_dir, seed=args.seed, progress=not args.no_progress,
                           **_builder_options(args))
    rows = external_check(builder, corpora_dir, args.files, args.limit, args.queries)
    columns = ("corpus", "queries", "sentences", "positives", "in_kb_normalized", "retrieved_exact",
               "retrieved_normalized")
    print("| " + " | ".join(columns) + " |\n" + "|---" * len(columns) + "|")
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    _write_json(args.output, {"kb_sources": list(builder.kb.stats["by_source"]), "rows": rows})
    return 0
