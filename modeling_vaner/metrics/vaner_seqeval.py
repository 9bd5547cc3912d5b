"""Entity-level precision, recall and F1 (seqeval, IOB2 tags), as an `evaluate` metric that loads offline.

Load it by path: `evaluate.load(str(Path(modeling_vaner.metrics.__file__).parent / "vaner_seqeval.py"))`, or
`modeling_vaner.scoring.load_metric()`. Predictions and references are lists of sentences, each a list of
tags such as "O", "B-Disease", "I-Disease" (one per word). Entities are read as seqeval's default
(conlleval-compatible) mode does: an I-tag without a preceding B-tag starts an entity.

Besides micro precision/recall/F1 it returns the counts they come from (`true_positives`, `predicted_entities`,
`gold_entities`), so that results over shards or corpora can be summed exactly.
"""

import datasets
import evaluate
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

_DESCRIPTION = "Entity-level micro precision, recall and F1 of IOB2-tagged sentences (seqeval default mode)."
_KWARGS_DESCRIPTION = """
Args:
    predictions: list of sentences, each a list of predicted IOB2 tags (one per word).
    references: list of sentences, each a list of gold IOB2 tags (same lengths as the predictions).
Returns:
    precision, recall, f1 (floats in [0, 1], 0 when undefined), true_positives, predicted_entities,
    gold_entities (ints).
"""


class VanerSeqeval(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="Nakayama H. seqeval: a Python framework for sequence labeling evaluation (2018).",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("string")),
                    "references": datasets.Sequence(datasets.Value("string")),
                }
            ),
        )

    def _compute(self, predictions, references):
        for index, (predicted, gold) in enumerate(zip(predictions, references)):
            if len(predicted) != len(gold):
                raise ValueError(f"sentence {index}: {len(predicted)} predicted tags for {len(gold)} gold tags")
        gold_entities = set(get_entities([list(tags) for tags in references]))
        predicted_entities = set(get_entities([list(tags) for tags in predictions]))
        options = {"zero_division": 0}
        return {
            "precision": float(precision_score(references, predictions, **options)),
            "recall": float(recall_score(references, predictions, **options)),
            "f1": float(f1_score(references, predictions, **options)),
            "true_positives": len(gold_entities & predicted_entities),
            "predicted_entities": len(predicted_entities),
            "gold_entities": len(gold_entities),
        }
