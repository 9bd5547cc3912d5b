"""Entity-level evaluation: precision, recall and F1 per corpus and overall, beside the paper's Table 1.

Words are tagged with the pipeline's `tag_words` (first sub-token per word, long sentences windowed exactly as at
inference), so no word is ever dropped; the count of gold entities scored is checked against the count in the
split. Scores come from the offline `evaluate` metric in `metrics/vaner_seqeval.py` (seqeval, IOB2).

CLI: `vaner evaluate --model PATH --corpus ncbi s800 --split test` or `vaner evaluate --model PATH --file F --type
Disease`; writes a JSON file and prints a table.
"""

import json
import random
import sys
from pathlib import Path

from dataset_scripts.corpora import CORPORA_DIR_HELP, PAPER_F1, SPLITS

from .onnx_export import add_onnx_option
from .processing_vaner import DECODINGS, LABEL_B, LABEL_O, PADDINGS, PRECISIONS

METRIC_PATH = Path(__file__).parent / "metrics" / "vaner_seqeval.py"
COUNT_KEYS = ("true_positives", "predicted_entities", "gold_entities")


def load_metric():
    """The entity-level seqeval metric, loaded offline by path."""
    import evaluate

    return evaluate.load(str(METRIC_PATH))


def iob2_tags(labels: list[int], entity_type: str) -> list[str]:
    """Word labels 0/1/2 as IOB2 tags of one entity type."""
    return ["O" if label == LABEL_O else ("B-" if label == LABEL_B else "I-") + entity_type for label in labels]


def count_entities(label_lists: list[list[int]]) -> int:
    from .processing_vaner import entity_spans

    return sum(len(entity_spans(labels)) for labels in label_lists)


def subsample(records: list[dict], limit: int | None, seed: int) -> list[dict]:
    """At most `limit` records, drawn at random with `seed`, in their original order (all when limit is None)."""
    if limit is None or limit >= len(records):
        return list(records)
    chosen = sorted(random.Random(seed).sample(range(len(records)), limit))
    return [records[index] for index in chosen]


def prf(true_positives: int, predicted_entities: int, gold_entities: int) -> dict:
    """Micro precision/recall/F1 from counts (0 when undefined), with the counts."""
    precision = true_positives / predicted_entities if predicted_entities else 0.0
    recall = true_positives / gold_entities if gold_entities else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_positives": true_positives,
        "predicted_entities": predicted_entities,
        "gold_entities": gold_entities,
    }


def score_records(pipeline, records: list[dict], instruction_dataset: str | None, batch_size=None, metric=None) -> dict:
    """Tag the words of `records` (each with tokens, ner_tags, entity_type) and score them: precision, recall, F1,
    the counts, and `sentences`. `instruction_dataset`: the corpus name in the instruction, or None (type-only).

    Raises:
        AssertionError: the scorer saw another number of gold entities than the records hold (a dropped word).
    """
    metric = metric or load_metric()
    by_type: dict[str, list[dict]] = {}
    for record in records:
        by_type.setdefault(record["entity_type"], []).append(record)
    predictions, references = [], []
    for entity_type, group in by_type.items():
        labels = pipeline.tag_words([r["tokens"] for r in group], entity_type, instruction_dataset, batch_size)
        predictions += [iob2_tags(predicted, entity_type) for predicted in labels]
        references += [iob2_tags(r["ner_tags"], entity_type) for r in group]
    if not records:
        return {**prf(0, 0, 0), "sentences": 0}
    result = metric.compute(predictions=predictions, references=references)
    expected = count_entities([r["ner_tags"] for r in records])
    if result["gold_entities"] != expected:
        raise AssertionError(f"scored {result['gold_entities']} gold entities, the records hold {expected}")
    return {**prf(*(result[key] for key in COUNT_KEYS)), "sentences": len(records)}


def summarize(per_corpus: dict[str, dict]) -> dict:
    """Overall micro scores (summed counts) and the mean F1 over corpora."""
    totals = [sum(result[key] for result in per_corpus.values()) for key in COUNT_KEYS]
    overall = {**prf(*totals), "sentences": sum(result["sentences"] for result in per_corpus.values())}
    mean_f1 = sum(result["f1"] for result in per_corpus.values()) / len(per_corpus) if per_corpus else 0.0
    return {"overall": overall, "mean_f1": mean_f1}


def evaluate_corpora(
    pipeline,
    corpora: list[str],
    split: str = "test",
    corpora_dir=None,
    *,
    dataset_in_instruction: bool = True,
    limit: int | None = None,
    seed: int = 0,
    batch_size=None,
    on_corpus=None,
) -> dict:
    """Scores of `pipeline` on one split of each corpus (subsampled to `limit` sentences per corpus if given).

    Returns:
        `dict`: {"split", "instruction", "limit_per_corpus", "corpora": {name: scores}, "overall", "mean_f1"}.
        `on_corpus`, if given, is called with that report after each corpus (the corpora done so far), so that a
        caller can keep what is finished if a later corpus fails.

    Raises:
        CorpusUnavailableError: a corpus file is missing; CorpusFormatError: one is malformed.
    """
    from tqdm.auto import tqdm

    from dataset_scripts.corpora import read_corpus

    metric = load_metric()
    per_corpus = {}

    def report() -> dict:
        return {
            "split": split,
            "instruction": "dataset" if dataset_in_instruction else "type-only",
            "limit_per_corpus": limit,
            "corpora": per_corpus,
            **summarize(per_corpus),
        }

    for name in tqdm(corpora, desc=f"evaluate {split}", unit="corpus"):
        records = subsample(read_corpus(name, split, corpora_dir), limit, seed)
        per_corpus[name] = score_records(
            pipeline, records, name if dataset_in_instruction else None, batch_size, metric
        )
        if on_corpus is not None:
            on_corpus(report())
    return report()


def format_table(report: dict) -> str:
    """Per-corpus P/R/F1 (%) beside the paper's F1."""
    lines = [f"{'corpus':<16}{'sentences':>10}{'gold':>8}{'P':>8}{'R':>8}{'F1':>8}{'paper F1':>10}{'delta':>8}"]
    for name, result in report["corpora"].items():
        paper = PAPER_F1.get(name)
        f1 = 100 * result["f1"]
        lines.append(
            f"{name:<16}{result['sentences']:>10}{result['gold_entities']:>8}{100 * result['precision']:>8.2f}"
            f"{100 * result['recall']:>8.2f}{f1:>8.2f}"
            + (f"{paper:>10.2f}{f1 - paper:>+8.2f}" if paper is not None else f"{'-':>10}{'':>8}")
        )
    overall = report["overall"]
    paper_scored = [PAPER_F1[name] for name in report["corpora"] if name in PAPER_F1]
    paper_mean = f"{sum(paper_scored) / len(paper_scored):>10.2f}" if paper_scored else f"{'-':>10}"
    lines.append(
        f"{'overall (micro)':<16}{overall['sentences']:>10}{overall['gold_entities']:>8}"
        f"{100 * overall['precision']:>8.2f}{100 * overall['recall']:>8.2f}{100 * overall['f1']:>8.2f}"
    )
    lines.append(f"{'mean F1':<16}{'':>10}{'':>8}{'':>8}{'':>8}{100 * report['mean_f1']:>8.2f}{paper_mean}")
    return "\n".join(lines)


def write_report(report: dict, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


# ---------------------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------------------
def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="entity-level P/R/F1 of a model on corpus splits or a token<TAB>tag file"
    )
    parser.add_argument("--model", help="adapter folder, model folder or hub id (default: the embedded vaner-smol)")
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
    parser.add_argument("--corpora-dir", help=CORPORA_DIR_HELP)
    parser.add_argument(
        "--instruction",
        choices=("dataset", "type-only"),
        help="instruction with the corpus name or type-only (VANER_adapt); default: dataset for --corpus, "
        "type-only for --file",
    )
    parser.add_argument(
        "--limit", type=int, help="score a random subsample of this many sentences per corpus (per type for --file)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the --limit subsample")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--precision", choices=PRECISIONS, default="auto", help="auto: bf16 where the hardware has it"
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the forward (pays off on whole corpora)")
    add_onnx_option(parser)
    parser.add_argument(
        "--decoding",
        choices=DECODINGS,
        default="viterbi",
        help="word labels: the most probable valid IOB2 sequence (viterbi) or each word's own argmax",
    )
    parser.add_argument(
        "--padding",
        choices=PADDINGS,
        default="masked",
        help="visible: a converted release as its authors ran it (rows left-padded to the window, padding attended)",
    )
    parser.add_argument("--output", type=Path, default=Path("evaluation.json"), help="JSON report path")
    parser.set_defaults(func=run_evaluate)


def parse_type_map(text: str) -> dict[str, str]:
    """`A=B,C=D` as {"A": "B", "C": "D"}.

    Raises:
        argparse.ArgumentTypeError: anything else.
    """
    import argparse

    pairs = [item.partition("=") for item in text.split(",")]
    if not all(source.strip() and sep and target.strip() for source, sep, target in pairs):
        raise argparse.ArgumentTypeError(f"expected FILE_TYPE=TYPE[,FILE_TYPE=TYPE...], got {text!r}")
    return {source.strip(): target.strip() for source, _, target in pairs}


def corpora_to_score(names: list[str], split: str, corpora_dir) -> list[str]:
    """The corpora `vaner evaluate --corpus NAMES` scores, all checked before the model loads: "all" means every
    corpus whose `split` can be read (the others, and why, are printed first); named corpora must all be readable.

    Raises:
        ValueError: an unknown name, or no corpus readable. CorpusUnavailableError: a named corpus is not readable.
    """
    from dataset_scripts.corpora import CorpusUnavailableError, check_corpus_names, readable_corpora

    readable, missing = readable_corpora(check_corpus_names(names), split, corpora_dir)
    if names != ["all"] and missing:
        raise CorpusUnavailableError(next(iter(missing.values())))
    for name, reason in missing.items():
        print(f"vaner evaluate: skipping {name}: {reason}", file=sys.stderr)
    if not readable:
        raise ValueError(f"no corpus has its {split} split available; set --corpora-dir or VANER_CORPORA_DIR")
    return readable


def cpu_kind() -> str:
    """What this CPU offers for bf16, which decides the arithmetic behind a score: "amx", "avx512_bf16" or
    "no native bf16" (from /proc/cpuinfo; "unknown" where there is none)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return "unknown"
    flags = set(cpuinfo.read_text().split())
    return "amx" if "amx_tile" in flags else "avx512_bf16" if "avx512_bf16" in flags else "no native bf16"


def inference_weights(args, dtype) -> str:
    """How the report names the weights that ran: an ONNX file, int8 linear layers (the model's float dtype
    elsewhere), or the dtype."""
    if args.onnx is not None:
        return f"ONNX Runtime: {args.onnx.name}"
    return "int8 linear layers" if args.precision == "int8" else str(dtype).removeprefix("torch.")


def run_evaluate(args) -> int:
    from dataset_scripts.tagged_files import read_tagged_file

    from .loading import load_pipeline

    corpora_dir = args.corpora_dir
    corpora = corpora_to_score(args.corpus, args.split, corpora_dir) if args.corpus else None
    records = None
    if args.file is not None:  # read (and reject a bad file) before loading the model
        records = read_tagged_file(args.file, args.entity_type, type_map=args.type_map, strict=args.strict)
    pipeline = load_pipeline(
        args.model,
        precision=args.precision,
        batch_size=args.batch_size,
        compile=args.compile,
        decoding=args.decoding,
        padding=args.padding,
        onnx_model=args.onnx,
    )
    facts = {
        "model": args.model or "vaner-smol (embedded)",
        "inference": {
            # int8 keeps the model's float dtype outside the quantized linear layers
            "weights": inference_weights(args, pipeline.model.dtype),
            "compiled": args.compile,
            "decoding": args.decoding,
            "padding": args.padding,
            "cpu": cpu_kind(),
        },
    }
    if corpora:
        report = evaluate_corpora(
            pipeline,
            corpora,
            args.split,
            corpora_dir,
            dataset_in_instruction=(args.instruction or "dataset") == "dataset",
            limit=args.limit,
            seed=args.seed,
            on_corpus=lambda partial: write_report({**partial, **facts, "complete": False}, args.output),
        )
    else:
        by_type: dict[str, list[dict]] = {}
        for record in records:
            by_type.setdefault(record["entity_type"], []).append(record)
        dataset = args.file.stem if args.instruction == "dataset" else None
        per_type = {
            f"{args.file.stem} {entity_type}": score_records(pipeline, subsample(group, args.limit, args.seed), dataset)
            for entity_type, group in by_type.items()
        }
        report = {
            "file": str(args.file),
            "entity_types": list(by_type),
            "instruction": args.instruction or "type-only",
            "limit_per_corpus": args.limit,
            "corpora": per_type,
            **summarize(per_type),
        }
    report = {**report, **facts, "complete": True}
    print(format_table(report))
    print(f"wrote {write_report(report, args.output)}", file=sys.stderr)
    return 0
