"""Where does a model lose F1 on a corpus, and do inference-side levers win it back? From the word probabilities of
one or more models on the whole dev and test splits, in ONE run:
- error classes on test (first model): boundary errors (a predicted entity overlapping a gold one with other edges),
  spurious predictions, missed entities; among the missed, abbreviations (one token with two or more capitals or
  digits-and-capitals, e.g. "CD", "SCA1"), and how many of those are defined ("long form ( SF )") only in one of
  the previous sentences, not their own: context that a sentence-level tagger never sees. The corpora mark no
  abstract boundaries, so "previous" means the LOOKBACK sentences before it in the file (an abstract's length);
- recall on dev and test (first model) of the abbreviation entities and of the others;
- a bias on each word's O probability (trades precision for recall): the bias with the best dev F1, then test F1;
- the mean of the models' probabilities (an ensemble), when several models are given;
- abbreviation propagation, the rule of classic taggers (first model): a short form defined ("long form ( SF )")
  with its long form or itself predicted is tagged wherever else it occurs in that sentence and the next N ones;
  the N in PROPAGATION_LOOKBACKS with the best dev F1, then test F1;
- with --context-sentences N (first model): each sentence read after the N sentences before it in the file, its own
  words scored. The pipeline reads each sentence of a text in windows of its own, as the model was trained; this
  measures what whole-abstract input would give the model as trained (file order is abstract order).
Decoding is the pipeline's Viterbi; the first model's unbiased scores equal `vaner evaluate --precision fp32`'s.

Usage: python benchmarks/error_analysis.py [--models PATH ...] [--corpus ncbi] [--context-sentences N] [--out FILE]
(default: the embedded vaner-smol, NCBI-disease, benchmarks/results/error_analysis_<corpus>.json; about 10 min per
model on 2 cores, and as long again for the context reading)
"""

import argparse
import json
import math
import re
import time
from collections import Counter
from pathlib import Path

from dataset_scripts.corpora import default_corpora_dir, read_corpus
from modeling_vaner.decoding_vaner import viterbi_labels
from modeling_vaner.loading import load_pipeline
from modeling_vaner.options_vaner import DEFAULT_BATCH_SIZE
from modeling_vaner.processing_vaner import LABEL_O, entity_spans
from modeling_vaner.scoring import prf

REPO = Path(__file__).resolve().parents[1]
SPLITS = ("validation", "test")
O_BIASES = (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5)
LOOKBACK = 10
PROPAGATION_LOOKBACKS = (0, 3, LOOKBACK)
ABBREVIATION = re.compile(r"^(?=(?:.*[A-Z]){2}|.*[A-Z].*\d|.*\d.*[A-Z])[A-Za-z0-9]{2,10}$")


def decode(probabilities, o_bias: float = 0.0) -> set[tuple[int, int]]:
    """Predicted entity spans (first word, last word exclusive) of one sentence, P(O) scaled by exp(o_bias)."""
    scaled = probabilities.clone()
    scaled[:, LABEL_O] *= math.exp(o_bias)
    return set(entity_spans(viterbi_labels(scaled / scaled.sum(-1, keepdim=True))))


def score(predicted: list[set], gold: list[set]) -> dict:
    true_positives = sum(len(p & g) for p, g in zip(predicted, gold))
    return prf(true_positives, sum(map(len, predicted)), sum(map(len, gold)))


def is_abbreviation(words: list[str], span: tuple[int, int]) -> bool:
    return span[1] - span[0] == 1 and bool(ABBREVIATION.match(words[span[0]]))


def short_form_definitions(words: list[str]) -> list[int]:
    """Positions of the "(" of each short form defined in a sentence as "... ( SF )"."""
    return [
        index
        for index in range(len(words) - 2)
        if words[index] == "(" and words[index + 2] == ")" and ABBREVIATION.match(words[index + 1])
    ]


def defined_short_forms(words: list[str]) -> set[str]:
    """Short forms defined in a sentence as "... ( SF )"."""
    return {words[index + 1] for index in short_form_definitions(words)}


def propagate_short_forms(sentences: list[list[str]], predicted: list[set], lookback: int) -> list[set]:
    """Predicted spans plus every free occurrence (outside a predicted span) of a short form that is defined with
    its long form (the predicted span ending at its "(") or itself predicted, in the defining sentence and the
    `lookback` sentences after it."""
    entity_short_forms = [
        {
            words[index + 1]
            for index in short_form_definitions(words)
            if any(last == index or (first, last) == (index + 1, index + 2) for first, last in spans)
        }
        for words, spans in zip(sentences, predicted)
    ]
    propagated = []
    for index, (words, spans) in enumerate(zip(sentences, predicted)):
        short_forms = set().union(*entity_short_forms[max(0, index - lookback) : index + 1])
        free = [word for word in range(len(words)) if not any(first <= word < last for first, last in spans)]
        propagated.append(spans | {(word, word + 1) for word in free if words[word] in short_forms})
    return propagated


def added_spans(sentences: list[list[str]], before: list[set], after: list[set], gold: list[set]) -> dict:
    """How many spans a rule added are gold and how many are not, with the most frequent words of the latter."""
    correct, wrong = 0, Counter()
    for words, old, new, gold_spans in zip(sentences, before, after, gold):
        for first, last in new - old:
            if (first, last) in gold_spans:
                correct += 1
            else:
                wrong[" ".join(words[first:last])] += 1
    return {"correct": correct, "wrong": sum(wrong.values()), "wrong_most_common": wrong.most_common(8)}


def error_classes(sentences: list[list[str]], predicted: list[set], gold: list[set]) -> dict:
    """Counts of boundary errors, spurious predictions and missed entities, and the missed abbreviations."""
    counts = {"boundary_false_positives": 0, "spurious": 0, "boundary_false_negatives": 0, "missed": 0}
    missed_abbreviations, defined_elsewhere = 0, []
    definitions = [defined_short_forms(words) for words in sentences]
    for index, (words, predicted_spans, gold_spans) in enumerate(zip(sentences, predicted, gold)):
        for spans, others, boundary, lost in (
            (predicted_spans - gold_spans, gold_spans, "boundary_false_positives", "spurious"),
            (gold_spans - predicted_spans, predicted_spans, "boundary_false_negatives", "missed"),
        ):
            for first, last in spans:
                overlapping = any(a < last and first < b for a, b in others)
                counts[boundary if overlapping else lost] += 1
                if lost == "missed" and not overlapping and is_abbreviation(words, (first, last)):
                    missed_abbreviations += 1
                    earlier = set().union(*definitions[max(0, index - LOOKBACK) : index])
                    if words[first] in earlier and words[first] not in definitions[index]:
                        defined_elsewhere.append(words[first])
    return {
        **counts,
        "missed_abbreviations": missed_abbreviations,
        "missed_abbreviations_defined_only_in_a_previous_sentence": len(defined_elsewhere),
        "examples_defined_only_in_a_previous_sentence": sorted(set(defined_elsewhere)),
    }


def recall_by_form(sentences: list[list[str]], predicted: list[set], gold: list[set]) -> dict:
    """Gold entities and recall, abbreviations apart from the other entities."""
    found = {"abbreviation": [], "other": []}
    for words, predicted_spans, gold_spans in zip(sentences, predicted, gold):
        for span in gold_spans:
            found["abbreviation" if is_abbreviation(words, span) else "other"].append(span in predicted_spans)
    result = {}
    for form, hits in found.items():
        result[f"{form}_gold"] = len(hits)
        result[f"{form}_recall"] = sum(hits) / len(hits) if hits else 0.0
    return result


def word_probabilities(tagger, records: dict, corpus: str, batch_size: int, context_sentences: int = 0) -> dict:
    """{split: list of (words x 3) probabilities, one per sentence} for the records of each split, each sentence
    read after the `context_sentences` sentences before it in the file (their words are not scored)."""
    result = {}
    for split in SPLITS:
        sentences = [r["tokens"] for r in records[split]]
        inputs = [
            [word for sentence in sentences[max(0, index - context_sentences) : index + 1] for word in sentence]
            for index in range(len(sentences))
        ]
        probabilities = tagger.word_probabilities(inputs, records[split][0]["entity_type"], corpus, batch_size)
        result[split] = [p[len(words) - len(s) :] for p, words, s in zip(probabilities, inputs, sentences)]
    return result


def choose_on_dev(settings, predictions, gold: dict, label) -> dict:
    """Scores on dev and test of each setting of an inference lever (`predictions(setting, split)` gives the
    predicted spans per sentence), printed one line each; the setting with the best dev F1 and its test scores."""
    scores = {
        setting: {split: score(predictions(setting, split), gold[split]) for split in SPLITS} for setting in settings
    }
    for setting in settings:
        dev, test = (f1_percent(scores[setting][split]) for split in SPLITS)
        print(f"{label(setting)}: dev {dev} | test {test}")
    chosen = max(settings, key=lambda setting: scores[setting]["validation"]["f1"])
    return {
        "dev_f1": {str(setting): scores[setting]["validation"]["f1"] for setting in settings},
        "test_f1": {str(setting): scores[setting]["test"]["f1"] for setting in settings},
        "chosen_on_dev": chosen,
        "test": scores[chosen]["test"],
    }


def f1_percent(scores: dict) -> str:
    return f"P {100 * scores['precision']:.2f}  R {100 * scores['recall']:.2f}  F1 {100 * scores['f1']:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=[None], help="adapter or model folders (default: vaner-smol)")
    parser.add_argument("--corpus", default="ncbi")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--context-sentences", type=int, default=0, help="also read each sentence after N before it")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or REPO / "benchmarks" / "results" / f"error_analysis_{args.corpus}.json"

    corpora_dir = default_corpora_dir()
    records = {split: read_corpus(args.corpus, split, corpora_dir) for split in SPLITS}
    gold = {split: [set(entity_spans(r["ner_tags"])) for r in records[split]] for split in SPLITS}
    names = [model or "vaner-smol (embedded)" for model in args.models]
    results = {"corpus": args.corpus, "models": names, "per_model": {}}

    probabilities, predictions = [], []  # per model: {split: per sentence}
    first_tagger = None  # kept for the context reading
    for model, name in zip(args.models, names):
        started = time.perf_counter()
        tagger = load_pipeline(model, precision="fp32", batch_size=args.batch_size)
        first_tagger = first_tagger or tagger
        probabilities.append(word_probabilities(tagger, records, args.corpus, args.batch_size))
        predictions.append({split: [decode(p) for p in probabilities[-1][split]] for split in SPLITS})
        results["per_model"][name] = {split: score(predictions[-1][split], gold[split]) for split in SPLITS}
        results["per_model"][name]["seconds"] = time.perf_counter() - started
        print(f"{name}: test {f1_percent(results['per_model'][name]['test'])}", flush=True)

    first, predicted = probabilities[0], predictions[0]  # the first model's
    sentences = {split: [r["tokens"] for r in records[split]] for split in SPLITS}
    results["test_errors"] = error_classes(sentences["test"], predicted["test"], gold["test"])
    print("test errors:", json.dumps(results["test_errors"]))
    results["recall_by_form"] = {
        split: recall_by_form(sentences[split], predicted[split], gold[split]) for split in SPLITS
    }
    print("recall by form:", json.dumps(results["recall_by_form"]))

    results["o_bias"] = choose_on_dev(
        O_BIASES, lambda bias, split: [decode(p, bias) for p in first[split]], gold, lambda bias: f"O bias {bias:+.1f}"
    )

    if len(probabilities) > 1:
        results["ensemble"] = {
            split: score([decode(sum(ps) / len(ps)) for ps in zip(*(p[split] for p in probabilities))], gold[split])
            for split in SPLITS
        }
        print(f"mean of {len(probabilities)} models: test {f1_percent(results['ensemble']['test'])}")

    def propagated(lookback, split):
        return propagate_short_forms(sentences[split], predicted[split], lookback)

    results["abbreviation_propagation"] = choose_on_dev(
        PROPAGATION_LOOKBACKS, propagated, gold, lambda lookback: f"short forms propagated over {lookback} sentences"
    )
    chosen = results["abbreviation_propagation"]["chosen_on_dev"]
    results["abbreviation_propagation"]["added_on_test"] = added_spans(
        sentences["test"], predicted["test"], propagated(chosen, "test"), gold["test"]
    )

    if args.context_sentences:
        in_context = word_probabilities(first_tagger, records, args.corpus, args.batch_size, args.context_sentences)
        results["context"] = {
            "previous_sentences": args.context_sentences,
            **{split: score([decode(p) for p in in_context[split]], gold[split]) for split in SPLITS},
        }
        for split in SPLITS:
            print(
                f"after {args.context_sentences} previous sentence(s): {split} {f1_percent(results['context'][split])}"
            )

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
