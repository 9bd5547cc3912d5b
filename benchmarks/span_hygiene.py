"""Which span-hygiene rule (what becomes of entities with a broken bracket or edge punctuation) do the dev splits
choose, and what does it give on test? In ONE run, from the word probabilities of one model on the whole dev and test
splits of NCBI-disease, BC5CDR-chem, BC2GM, JNLPBA and s800 (each corpus with its own dataset instruction):
- every rule of `processing_vaner.tidy_spans` (bracket rule x edge words), scored on dev: the chosen rule has the
  best mean dev F1 over the five corpora;
- test F1 per corpus without any rule (what the pipeline did before) and with the chosen one;
- the suspect spans on test (beginning or ending with a bracket, hyphen or comma, or holding an unbalanced bracket)
  predicted without and with the rule, and in the gold data.
Decoding is the pipeline's Viterbi, so "none" equals `vaner evaluate --split test` at the same precision.

Usage: python benchmarks/span_hygiene.py [--model PATH] [--precision auto] [--cache DIR] [--out FILE.json]
(about 15 min in bf16 on a 2-core AMX CPU; probabilities are cached per corpus and split in --cache, so a second run
only decodes)
"""

import argparse
import itertools
import json
import time
from pathlib import Path

import torch

from dataset_scripts.corpora import default_corpora_dir, read_corpus
from modeling_vaner.decoding_vaner import viterbi_labels
from modeling_vaner.loading import load_pipeline
from modeling_vaner.processing_vaner import (
    BRACKET_RULES,
    DEFAULT_BRACKET_RULE,
    DEFAULT_EDGE_WORDS,
    entity_spans,
    tidy_spans,
)
from modeling_vaner.runtime_vaner import resolve_precision
from modeling_vaner.scoring import prf
from modeling_vaner.text_vaner import CLOSING_BRACKETS, OPENING_BRACKETS

REPO = Path(__file__).resolve().parents[1]
CORPORA = ("ncbi", "bc5cdr-chem", "bc2gm", "jnlpba", "s800")
SPLITS = ("validation", "test")
EDGE_WORD_SETS = (frozenset(), frozenset({","}), frozenset({",", "-"}))
SUSPECT_EDGES = set(OPENING_BRACKETS) | set(CLOSING_BRACKETS) | {",", "-"}


def word_probabilities(tagger, records: list[dict], corpus: str, cache: Path) -> list[torch.Tensor]:
    if cache.is_file():
        return torch.load(cache)
    probabilities = tagger.word_probabilities([r["tokens"] for r in records], records[0]["entity_type"], corpus)
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(probabilities, cache)
    return probabilities


def is_suspect(words: list[str], span: tuple[int, int]) -> bool:
    first, last = span
    inside = words[first:last]
    balance = [inside.count(opening) - inside.count(closing) for opening, closing in OPENING_BRACKETS.items()]
    return inside[0] in SUSPECT_EDGES or inside[-1] in SUSPECT_EDGES or any(balance)


def rule_name(rule: tuple[str, frozenset]) -> str:
    return f"{rule[0]}, edges {''.join(sorted(rule[1])) or '-'}"


def score(predicted: list[list], gold: list[list]) -> dict:
    true_positives = sum(len(set(p) & set(g)) for p, g in zip(predicted, gold))
    return prf(true_positives, sum(map(len, predicted)), sum(map(len, gold)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model or adapter folder (default: the embedded vaner-smol)")
    parser.add_argument("--precision", default="auto", choices=("auto", "bf16", "fp32"))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cache", type=Path, default=REPO / "runs" / "span_hygiene")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "span_hygiene.json")
    args = parser.parse_args()

    precision = resolve_precision(args.precision, torch.device("cpu")).name
    tagger = load_pipeline(args.model, precision=precision, batch_size=args.batch_size)
    corpora_dir = default_corpora_dir()
    words, gold, raw = {}, {}, {}
    for corpus, split in itertools.product(CORPORA, SPLITS):
        started = time.perf_counter()
        records = read_corpus(corpus, split, corpora_dir)
        cache = args.cache / f"{(args.model or 'vaner-smol').replace('/', '_')}-{precision}-{corpus}-{split}.pt"
        probabilities = word_probabilities(tagger, records, corpus, cache)
        words[corpus, split] = [r["tokens"] for r in records]
        gold[corpus, split] = [entity_spans(r["ner_tags"]) for r in records]
        raw[corpus, split] = [entity_spans(viterbi_labels(p)) for p in probabilities]
        print(f"{corpus} {split}: {len(records)} sentences ({time.perf_counter() - started:.0f} s)", flush=True)

    def apply(rule, corpus, split):
        brackets, edges = rule
        return [tidy_spans(w, s, brackets, edges) for w, s in zip(words[corpus, split], raw[corpus, split])]

    rules = list(itertools.product(BRACKET_RULES, EDGE_WORD_SETS))
    dev = {}
    for rule in rules:
        per_corpus = {c: score(apply(rule, c, "validation"), gold[c, "validation"])["f1"] for c in CORPORA}
        dev[rule_name(rule)] = {"mean_f1": sum(per_corpus.values()) / len(CORPORA), "f1": per_corpus}
        print(f"dev {rule_name(rule):24} mean F1 {100 * dev[rule_name(rule)]['mean_f1']:.2f}", flush=True)
    chosen = max(rules, key=lambda rule: dev[rule_name(rule)]["mean_f1"])
    test = {}
    for corpus in CORPORA:
        sentences = words[corpus, "test"]
        spans = {"none": raw[corpus, "test"], "chosen": apply(chosen, corpus, "test")}
        result = {"sentences": len(sentences)}
        for name, found in spans.items():
            result.update({f"{name}_{key}": value for key, value in score(found, gold[corpus, "test"]).items()})
        for name, found in {**spans, "gold": gold[corpus, "test"]}.items():
            result[f"suspect_{name}"] = sum(is_suspect(w, span) for w, of in zip(sentences, found) for span in of)
        test[corpus] = result
        print(f"test {corpus:12} F1 none {100 * result['none_f1']:.2f} -> chosen {100 * result['chosen_f1']:.2f}  "
              f"suspect spans {result['suspect_none']} -> {result['suspect_chosen']} (gold {result['suspect_gold']})",
              flush=True)
    report = {
        "model": args.model or "vaner-smol (embedded)",
        "precision": precision,
        "decoding": "viterbi",
        "dev_rules": dev,
        "chosen_on_dev": {"brackets": chosen[0], "edge_words": sorted(chosen[1])},
        "shipped_default": {"brackets": DEFAULT_BRACKET_RULE, "edge_words": sorted(DEFAULT_EDGE_WORDS)},
        "test": test,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
