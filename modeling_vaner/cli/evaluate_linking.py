"""`vaner evaluate-linking`: accuracy@1/@5 of the concept linker on gold mentions
(`modeling_vaner.linking.evaluation.evaluate_linking`), printed as a table beside the published figures, written as
JSON with --output. Settings are chosen on `--split dev` (its `threshold_choice` gives the linker's thresholds);
`--split test` is run once, at the end."""

import json
import sys
from pathlib import Path

from ..linking.tasks import RETRIEVALS, TASKS
from .options import add_corpora_dir_option, add_linking_dir_options, add_model_option, add_overwrite_option


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate-linking",
        help="accuracy@1/@5 of the concept linker (MeSH, NCBI Gene, NCBI Taxonomy) on gold mentions",
    )
    parser.add_argument(
        "--split",
        choices=("dev", "test"),
        default="dev",
        help="dev (default; adds the threshold choice) or test (score it once, at the end); GNormPlus is always "
        "its train split",
    )
    parser.add_argument(
        "--tasks", nargs="+", choices=TASKS, default=list(TASKS), metavar="TASK",
        help=f"tasks to run (default all: {', '.join(TASKS)})",
    )
    parser.add_argument(
        "--retrieval", choices=RETRIEVALS, default=RETRIEVALS[0],
        help="TF-IDF search: exact (every name) or faiss (dbr's FAISS index over an SVD); default exact",
    )
    parser.add_argument(
        "--no-context", action="store_true",
        help="link the PubTator tasks' mentions without their document (no abbreviation or genus expansion)",
    )
    parser.add_argument(
        "--end-to-end", action="store_true",
        help="also tag the PubTator tasks' documents (--model, type-only instruction) and score NER + linking: a "
        "span counts only with a right identifier",
    )
    add_model_option(parser)
    add_corpora_dir_option(parser)
    add_linking_dir_options(parser)
    parser.add_argument("--output", type=Path, help="also write the results as JSON to this file")
    add_overwrite_option(parser, "--output")
    parser.set_defaults(func=run_evaluate_linking)


def format_table(results: dict) -> str:
    """The results as a text table: task, split, mentions, accuracy@1, accuracy@5, published accuracy@1 (test)."""
    lines = [f"{'task':<24} {'split':<6} {'mentions':>8} {'acc@1':>6} {'acc@5':>6}  published acc@1 (test)"]
    for task, result in results["tasks"].items():
        published = ", ".join(f"{name} {value}" for name, value in results["published_accuracy@1_test"].get(
            task, {}).items())
        split = result.get("split", results["split"])
        lines.append(f"{task:<24} {split:<6} {result['mentions']:>8} {result['accuracy@1']:>6.2f} "
                     f"{result['accuracy@5']:>6.2f}  {published}")
        if "end_to_end" in result:
            end = result["end_to_end"]
            lines.append(f"{'':<24} end to end: NER+linking F1 {end['ner_linking']['f1']:.2f} "
                         f"(NER only {end['ner_only']['f1']:.2f}) on {end['documents']} documents")
    for entity_type, choice in results.get("threshold_choice", {}).items():
        lines.append(f"threshold {entity_type}: {choice['threshold']} (linking F1 {choice['f1']:.4f} on "
                     f"{choice['mentions']} dev mentions)")
    return "\n".join(lines)


def run_evaluate_linking(args) -> int:
    from ..linking.evaluation import evaluate_linking
    from ..loading import load_pipeline

    if args.output is not None and args.output.exists() and not args.overwrite:
        raise ValueError(f"{args.output} exists (--overwrite replaces it)")
    if args.split == "test":
        print("scoring the test splits: do it once, with settings chosen on dev", file=sys.stderr)
    results = evaluate_linking(
        args.split, tasks=args.tasks, kb_dir=args.kb_dir, linking_dir=args.linking_dir,
        corpora_dir=args.corpora_dir, user_files=args.link_dictionary or (), retrieval=args.retrieval,
        use_context=not args.no_context, tagger=load_pipeline(args.model) if args.end_to_end else None,
    )
    results["command"] = "vaner " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["evaluate-linking"] else None
    print(format_table(results))
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0

