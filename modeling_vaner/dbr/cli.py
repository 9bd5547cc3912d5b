"""`vaner dbr`: kb | build | export | check. Heavy imports happen inside the run functions."""

import argparse
import json
import sys

from dataset_scripts.corpora import CORPORA, CORPORA_DIR_HELP, SPLITS

from .assembly import DBR_VARIANTS

ALL_CORPORA = list(CORPORA)


def _common(parser: argparse.ArgumentParser, seed: bool = True) -> None:
    parser.add_argument("--corpora-dir", help=CORPORA_DIR_HELP)
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
    from .kb import DEFAULT_SOURCES

    return {"kb_dir": args.kb_dir, "kb_sources": tuple(args.kb_sources or DEFAULT_SOURCES), "user_tsvs": args.kb_tsv,
            "encoder": args.encoder, "cache_dir": args.cache_dir}


def register(subparsers) -> None:
    parser = subparsers.add_parser("dbr", help="Dense Bioentities Recognition: knowledge base, dense sentences, dataset",
                                   description=__doc__)
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
    export.add_argument("--corpora", nargs="+", default=ALL_CORPORA, choices=ALL_CORPORA)
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
    from .kb import load_kb

    options = _builder_options(args)
    kb = load_kb(args.kb_dir, args.corpora_dir, options["kb_sources"], args.kb_tsv, cache_dir=args.cache_dir,
                 rebuild=args.rebuild, progress=not args.no_progress)
    print(json.dumps(kb.stats, indent=2))
    _write_json(args.output, kb.stats)
    return 0


def run_build(args) -> int:
    from .assembly import check_variant
    from .mixture import build_training_mixture, corpus_records, load_builder

    check_variant(args.variant)
    progress = not args.no_progress
    if args.mixture:
        records = build_training_mixture([args.corpus], args.split, args.variant, args.corpora_dir, args.seed,
                                         args.limit, use_cache=not args.no_cache, progress=progress,
                                         **_builder_options(args))
    else:
        sentences = corpus_records(args.corpus, args.split, args.corpora_dir, args.limit)
        builder = load_builder(corpora_dir=args.corpora_dir, seed=args.seed, progress=progress, **_builder_options(args))
        records = builder.build(sentences, f"{args.corpus}-{args.split}", args.variant, args.seed,
                                use_cache=not args.no_cache, progress=progress)
    with open(args.output, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    print(f"{len(records)} records written to {args.output}", file=sys.stderr)
    return 0


def run_export(args) -> int:
    from .mixture import export_dataset

    corpora = args.corpora
    if args.skip_unavailable:
        from dataset_scripts.corpora import read_corpus

        def available(corpus):
            try:
                read_corpus(corpus, "train", args.corpora_dir)
            except FileNotFoundError as error:
                print(f"vaner dbr export: skipping {corpus}: {error}", file=sys.stderr)
                return False
            return True

        corpora = [corpus for corpus in corpora if available(corpus)]
    output = export_dataset(args.output, corpora, args.variant, args.corpora_dir, args.seed, args.limit, args.repo_id,
                            progress=not args.no_progress, **_builder_options(args))
    print(f"dataset folder written to {output} (configs: mix, {', '.join(corpora)})", file=sys.stderr)
    return 0


def run_check(args) -> int:
    from .check import external_check
    from .mixture import load_builder

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
