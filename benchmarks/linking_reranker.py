"""Issue 32's last method to measure: the VANER backbone as a re-ranker of the linker's candidates, on DEV only.

For each mention of the BioSyn-protocol dev splits (NCBI-disease, BC5CDR-disease; `modeling_vaner.linking.evaluation`),
the linker's `--depth` best concepts (character TF-IDF with its exact, compact and order-free lookups) are re-scored
as  linker score + w * cosine(mention, concept),  the cosine being the best over the concept's dictionary names of
the mean-pooled hidden states (one layer of the VANER model: its unmasked backbone, bidirectional, LoRA merged) of
the mention and of the name, each given alone. The layer and w are chosen on the even-numbered mentions of each dev
split and scored on the odd-numbered ones (a choice seen once), then on the whole dev split; w = 0 is the linker.
Nothing here touches a test split.

Usage: OMP_NUM_THREADS=1 python benchmarks/linking_reranker.py [--model PATH] [--linking-dir DIR] [--depth 10]
    [--tasks biosyn-ncbi-disease ...] [--out benchmarks/results/linking_reranker_dev.json]
"""

import argparse
import json
import time
from pathlib import Path

import torch

from modeling_vaner.dbr.text import fingerprint
from modeling_vaner.linking.evaluation import _gold_set, read_biosyn_dictionary, read_biosyn_queries
from modeling_vaner.linking.linker import (
    DICTIONARY_FORMAT_VERSION,
    TypeLinker,
    code_signature,
    linking_cache_dir,
    make_search,
)
from modeling_vaner.linking.tasks import BIOSYN_TASKS
from modeling_vaner.linking.text import name_key

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 1000.0)  # 1000: the cosine alone, the linker's order breaking ties
MAX_NAMES = 30  # names of a concept embedded (its dictionary keys, in order): a concept with more keeps the first


class Embedder:
    """Mean-pooled hidden states of the VANER model for short texts, at every fourth layer and the last, cached by
    text."""

    def __init__(self, model: str | None, batch_size: int = 64):
        from modeling_vaner.loading import load_pipeline

        tagger = load_pipeline(model)
        self.model, self.tokenizer = tagger.model.eval(), tagger.tokenizer
        count = self.model.config.num_hidden_layers
        self.layers, self.batch_size, self.cache = sorted({*range(4, count + 1, 4), count}), batch_size, {}

    def __call__(self, texts: list[str]) -> dict[int, torch.Tensor]:
        """{layer: (len(texts), hidden) unit vectors}."""
        todo = sorted({t for t in texts if t not in self.cache}, key=len)
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start:start + self.batch_size]
            encoded = self.tokenizer(batch, padding=True, return_tensors="pt")
            with torch.inference_mode():
                states = self.model.model(**encoded, output_hidden_states=True).hidden_states
            mask = encoded["attention_mask"].unsqueeze(-1).to(states[0].dtype)
            for layer in self.layers:
                pooled = (states[layer] * mask).sum(1) / mask.sum(1)
                pooled = torch.nn.functional.normalize(pooled.float(), dim=-1)
                for text, vector in zip(batch, pooled):
                    self.cache.setdefault(text, {})[layer] = vector
        return {layer: torch.stack([self.cache[t][layer] for t in texts]) for layer in self.layers}


def candidates(task: str, linking_dir: Path, depth: int) -> tuple[list[dict], dict]:
    """Per dev mention part: its gold ids, the linker's `depth` best concepts with scores and names."""
    directory = linking_dir / "biosyn" / BIOSYN_TASKS[task]
    path = directory / "dev_dictionary.txt"
    dictionary = read_biosyn_dictionary(path)
    key = fingerprint("biosyn", DICTIONARY_FORMAT_VERSION, code_signature(), path.read_bytes())
    linker = TypeLinker(dictionary, make_search(dictionary, key, linking_cache_dir()))
    names: dict[tuple, list[str]] = {}
    for row, concepts in enumerate(dictionary.key_concepts):
        for _, index in concepts:
            names.setdefault(dictionary.concepts[index], []).append(dictionary.keys[row])
    mentions = []
    for number, (mention, ids) in enumerate(read_biosyn_queries(directory / "processed_dev")):
        parts = [name_key(part) for part in mention.replace("+", "|").split("|")]
        ranked = linker.rank(parts, top_k=depth)
        mentions.append({"number": number, "gold": _gold_set(ids, "Disease"), "parts": [
            {"key": part, "candidates": [(concept, score, names[concept][:MAX_NAMES]) for concept, score in found]}
            for part, found in zip(parts, ranked)]})
    return mentions, {"dictionary": str(path), "names": len(dictionary), "concepts": len(dictionary.concepts)}


def cosines(mentions: list[dict], embed: Embedder) -> None:
    """Adds to each candidate its best cosine with the part, per layer."""
    for mention in mentions:
        for part in mention["parts"]:
            texts = [part["key"]] + [name for _, _, names in part["candidates"] for name in names]
            vectors = embed(texts)
            for layer, matrix in vectors.items():
                similarity = matrix[1:] @ matrix[0]
                start = 0
                part.setdefault("cosine", {})[layer] = best = []
                for _, _, names in part["candidates"]:
                    best.append(float(similarity[start:start + len(names)].max()) if names else -1.0)
                    start += len(names)


def right_at_1(mention: dict, layer: int, weight: float) -> bool:
    for part in mention["parts"]:
        if not part["candidates"]:
            return False
        scored = [(score + weight * cosine, -rank, concept) for rank, ((concept, score, _), cosine)
                  in enumerate(zip(part["candidates"], part["cosine"][layer]))]
        if not mention["gold"] & set(max(scored)[2]):
            return False
    return True


def accuracy(mentions: list[dict], layer: int, weight: float) -> float:
    return round(100 * sum(right_at_1(m, layer, weight) for m in mentions) / max(len(mentions), 1), 2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder or adapter (default: the embedded vaner-smol)")
    parser.add_argument("--linking-dir", type=Path, default=REPO.parent / "linking_data")
    parser.add_argument("--depth", type=int, default=10, help="candidates re-ranked per mention")
    parser.add_argument("--tasks", nargs="+", choices=list(BIOSYN_TASKS), default=list(BIOSYN_TASKS))
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "linking_reranker_dev.json")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    embed = Embedder(args.model)
    results = {"protocol": __doc__.split("\n\n")[1].replace("\n", " "), "model": args.model or "the embedded default",
               "layers": embed.layers, "depth": args.depth, "weights": WEIGHTS, "max_names_per_concept": MAX_NAMES,
               "tasks": {}}
    for task in args.tasks:
        mentions, dictionary = candidates(task, args.linking_dir, args.depth)
        cosines(mentions, embed)
        choose, check = mentions[::2], mentions[1::2]
        grid = {(layer, w): accuracy(choose, layer, w) for layer in embed.layers for w in WEIGHTS}
        layer, weight = max(grid, key=lambda lw: (grid[lw], -lw[1]))  # ties: the smaller weight
        results["tasks"][task] = {
            **dictionary,
            "mentions": len(mentions),
            "linker_accuracy@1": accuracy(mentions, embed.layers[0], 0.0),
            f"linker_accuracy@{args.depth}": round(100 * sum(all(
                any(m["gold"] & set(c) for c, _, _ in p["candidates"]) for p in m["parts"]) for m in mentions)
                / len(mentions), 2),
            "choice_half": {f"layer {lay}, w {w}": acc for (lay, w), acc in grid.items()},
            "chosen": {"layer": layer, "weight": weight},
            "check_half": {"linker": accuracy(check, layer, 0.0), "reranked": accuracy(check, layer, weight)},
            "whole_dev": {"linker": accuracy(mentions, layer, 0.0), "reranked": accuracy(mentions, layer, weight)},
        }
        print(task, json.dumps({k: v for k, v in results["tasks"][task].items() if k != "choice_half"}))
    results["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
