"""Scoring tagged sentences: entity-level precision, recall and F1 (the offline seqeval metric in
`metrics/vaner_seqeval.py`, IOB2), the errors by kind (nervaluate's strict scheme), and the words with their gold and
predicted tags in conlleval's columns. `evaluation` builds reports on corpora and files from these; the trainer
scores its dev sets with them.
"""

from pathlib import Path

from .processing_vaner import LABEL_B, LABEL_O

METRIC_PATH = Path(__file__).parent / "metrics" / "vaner_seqeval.py"
COUNT_KEYS = ("true_positives", "predicted_entities", "gold_entities")
# The errors by kind (nervaluate's strict scheme, one entity type per sentence): a prediction overlapping a gold
# entity with other boundaries, a gold entity no prediction overlaps, a prediction overlapping no gold entity.
ERROR_KEYS = ("boundary", "missed", "spurious")


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


def error_counts(references: list[list[str]], predictions: list[list[str]], entity_types: list[str]) -> dict:
    """The entities that do not match exactly, by kind (`ERROR_KEYS`), counted with nervaluate's strict scheme.

    Args:
        references, predictions: IOB2 tags per sentence, each sentence's of one entity type.
        entity_types: the types the tags name.

    Returns:
        `dict`: {"boundary", "missed", "spurious"}: with one type per sentence, false positives are boundary +
        spurious and false negatives boundary + missed.
    """
    from nervaluate import Evaluator

    strict = Evaluator(references, predictions, tags=entity_types, loader="list").evaluate()["overall"]["strict"]
    return {"boundary": strict.incorrect, "missed": strict.missed, "spurious": strict.spurious}


def write_conlleval(path, sentences: list[list[str]], references: list[list[str]], predictions: list[list[str]]):
    """Write words with their gold and predicted IOB2 tags in conlleval's columns ("word gold predicted", a blank
    line between sentences): the errors to read, or to score again with conlleval."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for words, gold, predicted in zip(sentences, references, predictions):
            out.writelines(f"{word} {tag} {guess}\n" for word, tag, guess in zip(words, gold, predicted))
            out.write("\n")


def score_records(
    pipeline, records: list[dict], instruction_dataset: str | None, batch_size=None, metric=None, conll_path=None
) -> dict:
    """Tag the words of `records` (each with tokens, ner_tags, entity_type) and score them.

    Args:
        pipeline: a VANER pipeline (its `tag_words`).
        records: the sentences, each of one entity type.
        instruction_dataset: the corpus name in the instruction, or None (type-only).
        batch_size, metric: the forward's rows per batch; the seqeval metric (default: `load_metric()`).
        conll_path: also write the words, gold and predicted tags there (`write_conlleval`), grouped by type.

    Returns:
        `dict`: precision, recall, f1, the counts (`COUNT_KEYS`), "errors" (`error_counts`) and "sentences".

    Raises:
        AssertionError: the scorer saw another number of gold entities than the records hold (a dropped word), or
            the two scorers (seqeval, nervaluate) count other false positives or negatives.
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
    if conll_path is not None:
        sentences = [record["tokens"] for group in by_type.values() for record in group]  # the order scored
        write_conlleval(conll_path, sentences, references, predictions)
    if not records:
        return {**prf(0, 0, 0), "errors": dict.fromkeys(ERROR_KEYS, 0), "sentences": 0}
    result = metric.compute(predictions=predictions, references=references)
    expected = count_entities([r["ner_tags"] for r in records])
    if result["gold_entities"] != expected:
        raise AssertionError(f"scored {result['gold_entities']} gold entities, the records hold {expected}")
    errors = error_counts(references, predictions, list(by_type))
    wrong = [result[key] - result["true_positives"] for key in COUNT_KEYS[1:]]  # false positives, false negatives
    if wrong != [errors["boundary"] + errors["spurious"], errors["boundary"] + errors["missed"]]:
        raise AssertionError(f"seqeval and nervaluate disagree: {result} against {errors}")
    return {**prf(*(result[key] for key in COUNT_KEYS)), "errors": errors, "sentences": len(records)}


def summarize(per_corpus: dict[str, dict]) -> dict:
    """Overall micro scores (summed counts and errors) and the mean F1 over corpora."""
    totals = [sum(result[key] for result in per_corpus.values()) for key in COUNT_KEYS]
    overall = {
        **prf(*totals),
        "errors": {key: sum(result["errors"][key] for result in per_corpus.values()) for key in ERROR_KEYS},
        "sentences": sum(result["sentences"] for result in per_corpus.values()),
    }
    mean_f1 = sum(result["f1"] for result in per_corpus.values()) / len(per_corpus) if per_corpus else 0.0
    return {"overall": overall, "mean_f1": mean_f1}
