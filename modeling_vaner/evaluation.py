"""Entity-level evaluation: precision, recall and F1 per corpus and overall, beside the paper's Table 1.

Words are tagged with the pipeline's `tag_words` (first sub-token per word, long sentences windowed exactly as at
inference), so no word is ever dropped; the count of gold entities scored is checked against the count in the
split. The scores and the errors by kind come from `scoring`.

`evaluate_model` is `vaner evaluate --model PATH --corpus ncbi s800 --split test` (or `--file F --type Disease`):
it returns a report, written as JSON only where asked (`--output`); the command prints it as a table
(`format_table`).
"""

import json
import random
import sys
from pathlib import Path

from dataset_scripts.corpora import PAPER_F1, resolve_corpora_dir
from dataset_scripts.guideline import GOLDS

from .options_vaner import DECODINGS, DEFAULT_BATCH_SIZE, PADDINGS
from .scoring import ERROR_KEYS, count_entities, load_metric, score_records, summarize


def subsample(records: list[dict], limit: int | None, seed: int) -> list[dict]:
    """At most `limit` records, drawn at random with `seed`, in their original order (all when limit is None)."""
    if limit is None or limit >= len(records):
        return list(records)
    chosen = sorted(random.Random(seed).sample(range(len(records)), limit))
    return [records[index] for index in chosen]


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
    gold: str = "corpus",
    predictions_dir=None,
) -> dict:
    """Scores of `pipeline` on one split of each corpus (subsampled to `limit` sentences per corpus if given).
    With `predictions_dir`, each corpus's words, gold and predicted tags are also written there, in conlleval's
    columns, as `<corpus>.<split>.conll` (`write_conlleval`).

    `gold`: "corpus" scores against each corpus's own gold; "guideline" against it under the type-only guideline
    (`dataset_scripts.guideline.guideline_records`: converted where the corpus table says so), each corpus's
    scores then also holding what the conversion changed ("guideline": entities trimmed, dropped, added).

    Returns:
        `dict`: {"split", "instruction", "gold", "limit_per_corpus", "corpora": {name: scores}, "overall",
        "mean_f1"}. `on_corpus`, if given, is called with that report after each corpus (the corpora done so far),
        so that a caller can keep what is finished if a later corpus fails.

    Raises:
        CorpusUnavailableError: a corpus file is missing; CorpusFormatError: one is malformed.
        ValueError: `gold` "guideline" for a dataset-only corpus.
    """
    from tqdm.auto import tqdm

    from dataset_scripts.corpora import read_corpus
    from dataset_scripts.guideline import COUNT_KEYS as GUIDELINE_COUNTS
    from dataset_scripts.guideline import guideline_records

    metric = load_metric()
    per_corpus = {}

    def report() -> dict:
        return {
            "split": split,
            "instruction": "dataset" if dataset_in_instruction else "type-only",
            "gold": gold,
            "limit_per_corpus": limit,
            "corpora": per_corpus,
            **summarize(per_corpus),
        }

    for name in tqdm(corpora, desc=f"evaluate {split}", unit="corpus"):
        records = subsample(read_corpus(name, split, corpora_dir), limit, seed)
        changed = None
        if gold == "guideline":
            records, changed = guideline_records(records, name)
        per_corpus[name] = score_records(
            pipeline, records, name if dataset_in_instruction else None, batch_size, metric,
            conll_path=None if predictions_dir is None else Path(predictions_dir) / f"{name}.{split}.conll",
        )
        if changed is not None:
            per_corpus[name]["guideline"] = {key: changed[key] for key in GUIDELINE_COUNTS}
        if on_corpus is not None:
            on_corpus(report())
    return report()


def format_table(report: dict) -> str:
    """Per-corpus P/R/F1 (%) beside the paper's F1, and the errors by kind (`ERROR_KEYS`)."""
    width = max([16, *(len(name) + 1 for name in report["corpora"])])  # a file's row: "<file> <type>"
    errors = "".join(f"{key:>10}" for key in ERROR_KEYS)
    lines = [f"{'corpus':<{width}}{'sentences':>10}{'gold':>8}{'P':>8}{'R':>8}{'F1':>8}{'paper F1':>10}{'delta':>8}"
             f"{errors}"]

    def error_columns(result: dict) -> str:
        return "".join(f"{result['errors'][key]:>10}" for key in ERROR_KEYS)

    for name, result in report["corpora"].items():
        paper = PAPER_F1.get(name)
        f1 = 100 * result["f1"]
        lines.append(
            f"{name:<{width}}{result['sentences']:>10}{result['gold_entities']:>8}{100 * result['precision']:>8.2f}"
            f"{100 * result['recall']:>8.2f}{f1:>8.2f}"
            + (f"{paper:>10.2f}{f1 - paper:>+8.2f}" if paper is not None else f"{'-':>10}{'':>8}")
            + error_columns(result)
        )
    overall = report["overall"]
    paper_scored = [PAPER_F1[name] for name in report["corpora"] if name in PAPER_F1]
    paper_mean = f"{sum(paper_scored) / len(paper_scored):>10.2f}" if paper_scored else f"{'-':>10}"
    lines.append(
        f"{'overall (micro)':<{width}}{overall['sentences']:>10}{overall['gold_entities']:>8}"
        f"{100 * overall['precision']:>8.2f}{100 * overall['recall']:>8.2f}{100 * overall['f1']:>8.2f}{'':>18}"
        + error_columns(overall)
    )
    lines.append(f"{'mean F1':<{width}}{'':>10}{'':>8}{'':>8}{'':>8}{100 * report['mean_f1']:>8.2f}{paper_mean}")
    if report.get("gold") == "guideline":
        lines.append("gold: the type-only guideline (docs/GUIDELINES.md), not the corpus's: the paper's F1 is not "
                     "comparable")
    if report.get("untrained_types"):
        lines.append(
            f"not trained on: {', '.join(report['untrained_types'])} (the model's types: "
            f"{', '.join(report['trained_types'])}): scored as asked; --type-map maps a file type to a trained one"
        )
    return "\n".join(lines)


def write_report(report: dict, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


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


def guideline_corpora(names: list[str], every: bool) -> list[str]:
    """The corpora of `names` that have gold under the type-only guideline (all but the corpus table's
    "dataset-only" ones); with `every` ("all" was asked) the others are skipped, named on stderr.

    Raises:
        ValueError: a named dataset-only corpus (without `every`), or none left.
    """
    from dataset_scripts.guideline import type_only_policy

    excluded = [name for name in names if type_only_policy(name) == "dataset-only"]
    if excluded and not every:
        raise ValueError(f"{', '.join(excluded)}: dataset-only (corpus table), no gold under the type-only guideline")
    for name in excluded:
        print(f"vaner evaluate: skipping {name}: dataset-only, no gold under the type-only guideline", file=sys.stderr)
    kept = [name for name in names if name not in excluded]
    if not kept:
        raise ValueError("no corpus has gold under the type-only guideline")
    return kept


def inference_weights(onnx_model, precision: str, dtype) -> str:
    """How the report names the weights that ran: an ONNX file, int8 linear layers (the model's float dtype
    elsewhere), or the dtype."""
    if onnx_model is not None:
        return f"ONNX Runtime: {Path(onnx_model).name}"
    return "int8 linear layers" if precision == "int8" else str(dtype).removeprefix("torch.")


def file_groups(records: list[dict], file, limit=None, seed=0) -> dict[str, list[dict]]:
    """The records of a tagged `file` by entity type, each subsampled to `limit` sentences if given: what
    `evaluate_file` scores, checked so that no score is computed on nothing.

    Args:
        records: as `dataset_scripts.tagged_files.read_tagged_file` returns them.
        file: the file they were read from (named in the errors).
        limit, seed: as `subsample`'s.

    Returns:
        `dict[str, list[dict]]`: {entity type: its records}, in the file's order of types.

    Raises:
        ValueError: no records (an empty file, or one without any entity tag), or a type with no entity among its
            sentences (e.g. `--type X` on a file of untagged sentences, or a `--limit` subsample that drew none).
    """
    if not records:
        raise ValueError(f"{file}: no sentence to score (the file is empty or has no entity tag)")
    by_type: dict[str, list[dict]] = {}
    for record in records:
        by_type.setdefault(record["entity_type"], []).append(record)
    groups = {entity_type: subsample(group, limit, seed) for entity_type, group in by_type.items()}
    for entity_type, group in groups.items():
        if not count_entities([record["ner_tags"] for record in group]):
            sentences = f"{len(group)} sentence{'s' if len(group) != 1 else ''}"
            drawn = f"its {sentences}"
            if len(group) < len(by_type[entity_type]):
                drawn = f"the {sentences} drawn (--limit {limit})"
            raise ValueError(f"{file}: no entity of type {entity_type!r} in {drawn}: nothing to score")
    return groups


def evaluate_file(
    pipeline, records: list[dict], file, *, instruction: str = "type-only", limit=None, seed=0, predictions_dir=None
) -> dict:
    """Scores of `pipeline` on the records of a tagged `file` (as `dataset_scripts.tagged_files.read_tagged_file`
    returns them), each entity type scored on its own, as a corpus named "STEM TYPE" (STEM: the file's name without
    its extension), subsampled to `limit` sentences per type if given. A type the model was not trained on
    (outside `config.entity_types`) is scored after the pipeline's warning, and listed in the report, or stops the
    evaluation before any scoring where the pipeline has `strict_types`. With `predictions_dir`, each type's words,
    gold and predicted tags are also written there as `STEM.TYPE.conll` (`write_conlleval`).

    Returns:
        `dict`: {"file", "entity_types", "instruction", "limit_per_corpus", "corpora": {"STEM TYPE": scores},
        "overall", "mean_f1", "trained_types", "untrained_types"}; `instruction` "dataset" puts STEM in the
        instruction, "type-only" does not.

    Raises:
        ValueError: nothing to score (see `file_groups`), or an untrained type with `strict_types`.
    """
    name = Path(file).stem
    groups = file_groups(records, file, limit, seed)
    pipeline.call_options(entity_types=list(groups))  # every type checked against the trained ones, before scoring
    trained = list(pipeline.model.config.entity_types)
    dataset = name if instruction == "dataset" else None
    per_type = {
        f"{name} {entity_type}": score_records(
            pipeline, group, dataset,
            conll_path=None if predictions_dir is None else Path(predictions_dir) / f"{name}.{entity_type}.conll",
        )
        for entity_type, group in groups.items()
    }
    return {
        "file": str(file),
        "entity_types": list(groups),
        "instruction": instruction,
        "limit_per_corpus": limit,
        "corpora": per_type,
        **summarize(per_type),
        "trained_types": trained,
        "untrained_types": [entity_type for entity_type in groups if entity_type not in trained],
    }


def evaluate_model(
    model: str | None = None,
    *,
    corpora: list[str] | None = None,
    file=None,
    entity_type: str | None = None,
    type_map: dict[str, str] | None = None,
    strict: bool = False,
    split: str = "test",
    corpora_dir=None,
    instruction: str | None = None,
    gold: str = "corpus",
    limit: int | None = None,
    seed: int = 0,
    precision: str = "auto",
    batch_size: int = DEFAULT_BATCH_SIZE,
    compile: bool = False,
    onnx_model=None,
    decoding: str = DECODINGS[0],
    padding: str = PADDINGS[0],
    strict_types: bool = False,
    device=None,
    verbose: bool = False,
    output=None,
    predictions_dir=None,
) -> dict:
    """`vaner evaluate`: load a model and score it on corpus splits or on a tagged file, checking the corpora or
    reading the file (a bad one fails) before the model loads.

    Args:
        model: as `load_pipeline`'s (None: the embedded vaner-smol).
        corpora: corpus names, or ["all"] (every corpus whose split is readable; see `corpora_to_score`).
        file: a tagged file (token first, IOB2 tag last), instead of `corpora`; `entity_type` (only this type),
            `type_map` (its type names to instruction types) and `strict` (an I- tag that continues nothing is an
            error) are `read_tagged_file`'s.
        split, corpora_dir: the corpora's split and directory (an entry point: None reads $VANER_CORPORA_DIR).
        instruction: "dataset" or "type-only"; None: dataset for corpora, type-only for a file (and for `gold`
            "guideline").
        gold: "corpus" (the corpus's own gold) or "guideline" (the corpora's gold under the type-only guideline,
            scoring the type-only instruction: `evaluate_corpora`); with "all" corpora, the dataset-only ones are
            skipped (named on stderr).
        limit, seed: score a random subsample of `limit` sentences per corpus (per type for a file).
        precision, batch_size, compile, onnx_model, decoding, padding, strict_types: passed to `load_pipeline`
            (`strict_types`: a file type the model was not trained on is an error, not a warning).
        device, verbose: passed to `load_pipeline` (device None: the CPU; "auto": CUDA where there is a GPU).
        output: where the JSON report is written (None: nowhere); for corpora, also after each corpus, with
            `"complete": false`, so that a failure keeps what is finished.
        predictions_dir: also write each corpus's (each file type's) words, gold and predicted IOB2 tags there, in
            conlleval's columns (see `evaluate_corpora`, `evaluate_file`).

    Returns:
        The report (see `evaluate_corpora`, `evaluate_file`) with "model", "inference" (what ran: weights,
        compiled, decoding, padding, device, cpu) and `"complete": true`.

    Raises:
        ValueError: neither or both of `corpora` and `file`, an unknown corpus, a bad file or option (a file as
            `predictions_dir`), a file with nothing to score (`file_groups`), an untrained file type with
            `strict_types`, or `gold` "guideline" with a file, the dataset instruction or a named dataset-only
            corpus.
        FileNotFoundError: a corpus, the file or the model is missing.
    """
    from .loading import load_pipeline
    from .runtime_vaner import cpu_bf16_kind

    if (corpora is None) == (file is None):
        raise ValueError("score corpora or a file: give exactly one of them")
    if predictions_dir is not None and Path(predictions_dir).exists() and not Path(predictions_dir).is_dir():
        raise ValueError(f"{predictions_dir} is a file; the predictions go to a folder")
    if gold not in GOLDS:
        raise ValueError(f"unknown gold {gold!r}; expected one of {', '.join(GOLDS)}")
    if gold == "guideline":
        if file is not None or instruction == "dataset":
            raise ValueError("gold 'guideline' scores the type-only instruction on corpora: not with a file nor "
                             "the dataset instruction")
        instruction = "type-only"
    corpora_dir = resolve_corpora_dir(corpora_dir)
    records = None
    if corpora is not None:
        every = corpora == ["all"]
        corpora = corpora_to_score(corpora, split, corpora_dir)
        if gold == "guideline":
            corpora = guideline_corpora(corpora, every)
    else:  # read (and reject a bad file) before loading the model
        from dataset_scripts.tagged_files import read_tagged_file

        records = read_tagged_file(file, entity_type, type_map=type_map, strict=strict)
        file_groups(records, file, limit, seed)
    pipeline = load_pipeline(
        model,
        precision=precision,
        batch_size=batch_size,
        compile=compile,
        decoding=decoding,
        padding=padding,
        onnx_model=onnx_model,
        strict_types=strict_types,
        device=device,
        verbose=verbose,
    )
    facts = {
        "model": model or "vaner-smol (embedded)",
        "inference": {
            # int8 keeps the model's float dtype outside the quantized linear layers
            "weights": inference_weights(onnx_model, precision, pipeline.model.dtype),
            "compiled": compile,
            "decoding": decoding,
            "padding": padding,
            "device": str(pipeline.device),
            "cpu": cpu_bf16_kind(),
        },
    }
    if corpora is not None:
        report = evaluate_corpora(
            pipeline,
            corpora,
            split,
            corpora_dir,
            dataset_in_instruction=(instruction or "dataset") == "dataset",
            gold=gold,
            limit=limit,
            seed=seed,
            predictions_dir=predictions_dir,
            on_corpus=None if output is None else lambda partial: write_report(
                {**partial, **facts, "complete": False}, output
            ),
        )
    else:
        report = evaluate_file(
            pipeline, records, file, instruction=instruction or "type-only", limit=limit, seed=seed,
            predictions_dir=predictions_dir,
        )
    report = {**report, **facts, "complete": True}
    if output is not None:
        write_report(report, output)
    return report
