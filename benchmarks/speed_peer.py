"""The yardstick of issue 33, in ONE run: VANER tagging every type of the model (a per-type model runs one pass
per type, a one-pass model, `config.one_pass`, one for all), VANER tagging one type, and a BERT-base-shaped token
tagger (12 layers x 768, random weights: speed does not depend on them; one pass tags every type with a joint BIO
tag set, as HunFlair2- and PubTator-style taggers do), each timed from text to labels on the same whole GENIA dev
abstracts (`speed.load_abstracts`), in turn, best of --repeat; abstracts/s and VANER / peer. With --baseline, an
earlier VANER model (vaner-smol 2's adapter, say) tags every type of its own in the same rounds, for issue 33's
"all four types: >= 3x vaner-smol 2's abstracts/s in one run". The shape follows the project's yardstick,
../shared/anchors/speed_peer.py (its code is not copied).

The peer's vocabulary is a cased 30,522-piece WordPiece trained in the run (seconds) on the training splits of the
paper's corpora found in the corpora directory, so its token counts approach a biomedical vocabulary's
(PubMedBERT's). VANER runs in precision "auto", the peer in the same dtype and autocast.

Usage: python benchmarks/speed_peer.py [--model PATH] [--baseline PATH] [--abstracts 8] [--repeat 3] [--out FILE.json]
(default output: benchmarks/results/speed_peer_<bf16 kind>.json, the kind amx, avx512_bf16 or no_bf16)
"""

import argparse
import json
from pathlib import Path

import torch
from speed import REPO, cpu_facts, load_abstracts, timed_alternately  # the sibling script: run from benchmarks/

from modeling_vaner.options_vaner import DEFAULT_BATCH_SIZE

# The BERT-base shape of the peer, and its batches: 16 sentences, as in the project's yardstick
PEER_SHAPE = {"num_hidden_layers": 12, "hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 3072}
PEER_VOCAB_SIZE = 30522  # BERT-base's
PEER_BATCH_SIZE = 16


def peer_tokenizer():
    """The peer's tokenizer: a cased WordPiece of `PEER_VOCAB_SIZE` pieces trained here (seconds) on the training
    splits of the paper's corpora found in the corpora directory, each sentence once.

    Returns:
        `(tokenizer, source)`: a `BertTokenizer`, and what its vocabulary was trained on, in words.
    """
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizer

    from dataset_scripts.corpora import PAPER_CORPORA, default_corpora_dir, read_corpus, readable_corpora

    corpora_dir = default_corpora_dir()
    names, _ = readable_corpora(list(PAPER_CORPORA), "train", corpora_dir)
    sentences = {" ".join(record["tokens"]) for name in names for record in read_corpus(name, "train", corpora_dir)}
    wordpiece = BertWordPieceTokenizer(lowercase=False)
    wordpiece.train_from_iterator(sorted(sentences), vocab_size=PEER_VOCAB_SIZE, min_frequency=2, show_progress=False)
    # the vocabulary itself, not a vocab file: this transformers' BertTokenizer(vocab_file=...) keeps only the
    # special tokens, and every word would become one [UNK]
    tokenizer = BertTokenizer(vocab=wordpiece.get_vocab(), do_lower_case=False)
    source = f"trained in the run on the training splits of {', '.join(names)} ({len(sentences)} distinct sentences)"
    return tokenizer, source


def peer_comparison(
    model: str | None, abstracts: list[str], batch_size: int, repeat: int, baseline: str | None = None
) -> dict:
    """VANER tagging every type of `model`, VANER tagging its first type, the BERT-base peer (random weights,
    one pass for every type over a joint BIO tag set) and, if `baseline` names a model, that model tagging every
    type of its own, on the same `abstracts`, in turn, best of `repeat` rounds, each from text to labels: VANER's
    whole pipeline call (entities included), the peer's sentence splitting (VANER's own), tokenization, forward and
    argmax (no entity spans: if anything, the peer is favoured).

    Returns:
        `dict`: the settings, `<run>_s` (best seconds of the run over all `abstracts`), `<run>_abstracts_per_s`,
        `vaner_*_vs_peer` (the peer's seconds over VANER's) and, with a baseline, `vaner_all_types_vs_baseline`.
    """
    from transformers import BertConfig, BertForTokenClassification

    from modeling_vaner.loading import load_pipeline
    from modeling_vaner.text_vaner import split_sentences, split_words

    tagger = load_pipeline(model, batch_size=batch_size)  # precision "auto", as users run it
    config = tagger.model.config
    types = list(config.entity_types)
    tokenizer, vocabulary = peer_tokenizer()
    peer_config = BertConfig(
        vocab_size=len(tokenizer), num_labels=2 * len(types) + 1, attn_implementation="sdpa", **PEER_SHAPE
    )
    peer = BertForTokenClassification(peer_config).eval().to(tagger.model.dtype)

    def run_peer() -> int:
        sentences = []
        for text in abstracts:
            spans = split_words(text)
            sentences.extend(text[spans[first][0] : spans[last - 1][1]] for first, last in split_sentences(text, spans))
        sentences.sort(key=len)  # batches of similar lengths, as VANER's rows
        tokens = 0
        autocast = torch.autocast("cpu", torch.bfloat16, enabled=tagger.precision.autocast)
        with torch.inference_mode(), autocast:
            for begin in range(0, len(sentences), PEER_BATCH_SIZE):
                batch = tokenizer(sentences[begin : begin + PEER_BATCH_SIZE], padding=True, truncation=True,
                                  max_length=peer_config.max_position_embeddings, return_tensors="pt")
                peer(**batch).logits.argmax(-1)
                tokens += int(batch["attention_mask"].sum())
        return tokens

    runs = {
        "vaner_all_types": lambda: tagger(abstracts),
        "vaner_one_type": lambda: tagger(abstracts, entity_types=types[:1]),
        "peer": run_peer,
    }
    if baseline:
        baseline_tagger = load_pipeline(baseline, batch_size=batch_size)
        runs["baseline_all_types"] = lambda: baseline_tagger(abstracts)
    warm_up = {name: run() for name, run in runs.items()}  # every batch shape of every run once
    seconds = timed_alternately(runs, repeat)
    result = {
        "model": model or "the embedded default",
        "one_pass": bool(config.one_pass),
        "entity_types": types,
        "one_type": types[0],
        "vaner_passes_per_window": {"all_types": 1 if config.one_pass else len(types), "one_type": 1},
        "precision": tagger.precision.name,
        "batch_size": batch_size,
        "repeat": repeat,
        "abstracts": len(abstracts),
        "abstracts_from": "GENIA dev abstracts (dataset_scripts.corpora.genia_dev_abstracts)",
        "characters_per_abstract": sum(map(len, abstracts)) / len(abstracts),
        "peer": {
            **PEER_SHAPE,
            "weights": "random",
            "labels": peer_config.num_labels,
            "vocab_size": len(tokenizer),
            "vocabulary": f"cased WordPiece, {vocabulary}",
            "batch_size": PEER_BATCH_SIZE,
            "tokens": warm_up["peer"],
        },
    }
    for name, run_seconds in seconds.items():
        result[f"{name}_s"] = run_seconds
        result[f"{name}_abstracts_per_s"] = len(abstracts) / run_seconds
    for name in ("vaner_all_types", "vaner_one_type"):
        result[f"{name}_vs_peer"] = seconds["peer"] / seconds[name]
    if baseline:
        baseline_config = baseline_tagger.model.config
        result["baseline"] = {
            "model": baseline,
            "one_pass": bool(baseline_config.one_pass),
            "entity_types": list(baseline_config.entity_types),
            "precision": baseline_tagger.precision.name,
        }
        result["vaner_all_types_vs_baseline"] = seconds["baseline_all_types"] / seconds["vaner_all_types"]
    return result


def write_peer_results(results: dict, out: Path) -> None:
    """Write the comparison's JSON to `out` and print its summary."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"{results['cpu']}, {results['torch_threads']} threads, {results['precision']}, "
          f"{results['abstracts']} abstracts, one_pass: {results['one_pass']}")
    for name in ("vaner_all_types", "vaner_one_type", "peer", "baseline_all_types"):
        if f"{name}_s" not in results:
            continue
        ratio = f", {results[f'{name}_vs_peer']:.2f}x the peer" if name.startswith("vaner") else ""
        if name == "vaner_all_types" and "baseline" in results:
            ratio += f", {results['vaner_all_types_vs_baseline']:.2f}x the baseline"
        print(f"{name:18} {results[f'{name}_abstracts_per_s']:8.2f} abstracts/s{ratio}")
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder or adapter (default: the embedded vaner-smol)")
    parser.add_argument("--baseline", help="an earlier model folder or adapter to time tagging every type of its own "
                        "beside --model (e.g. vaner-smol 2's adapter)")
    parser.add_argument("--abstracts", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the timed comparison; the best counts")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results/speed_peer_<bf16 kind>.json")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    results = cpu_facts()
    bf16_kind = results["cpu_bf16_kind"].replace("no native bf16", "no_bf16")
    results.update(peer_comparison(
        args.model, load_abstracts(args.abstracts), args.batch_size, args.repeat, args.baseline
    ))
    write_peer_results(results, args.out or REPO / "benchmarks" / "results" / f"speed_peer_{bf16_kind}.json")


if __name__ == "__main__":
    main()
