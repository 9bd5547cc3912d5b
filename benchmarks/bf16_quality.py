"""Does bf16 inference cost accuracy? NCBI-disease test F1 (all sentences) of one model loaded several ways, in ONE
run: fp32 (the reference), bf16 with the LoRA merged into the weights, bf16 with the LoRA kept beside them; plus
fp32 with per-word argmax labels instead of the pipeline's Viterbi decoding (what the decoding adds).

Usage: python benchmarks/bf16_quality.py [--model PATH] [--corpus ncbi] [--out benchmarks/results/bf16_quality.json]
"""

import argparse
import json
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
# name: (weights dtype, merge the LoRA into the weights, decoding)
VARIANTS = {
    "fp32": (torch.float32, True, "viterbi"),
    "bf16-merged": (torch.bfloat16, True, "viterbi"),
    "bf16-unmerged": (torch.bfloat16, False, "viterbi"),
    "fp32-argmax": (torch.float32, True, "argmax"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="adapter folder (default: the embedded vaner-smol)")
    parser.add_argument("--corpus", default="ncbi")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "bf16_quality.json")
    args = parser.parse_args()

    from dataset_scripts.corpora import resolve_corpora_dir
    from modeling_vaner.evaluation import evaluate_corpora
    from modeling_vaner.loading import load_vaner
    from modeling_vaner.pipeline_vaner import VanerTokenClassificationPipeline

    corpora_dir = resolve_corpora_dir() or REPO.parent / "shared" / "corpora"
    results = {"model": args.model or "vaner-smol (embedded)", "corpus": args.corpus, "split": "test"}
    for name, (dtype, merge, decoding) in VARIANTS.items():
        model, tokenizer, _ = load_vaner(args.model, dtype=dtype, merge=merge)
        tagger = VanerTokenClassificationPipeline(
            model=model.eval(), tokenizer=tokenizer, precision="fp32", decoding=decoding, task="token-classification"
        )  # precision "fp32": no autocast, the model runs in the dtype it was loaded in
        started = time.perf_counter()
        report = evaluate_corpora(tagger, [args.corpus], "test", corpora_dir, batch_size=args.batch_size)
        scores = report["corpora"][args.corpus]
        results[name] = {**scores, "seconds": time.perf_counter() - started}
        print(f"{name:14} P {100 * scores['precision']:.2f}  R {100 * scores['recall']:.2f}  "
              f"F1 {100 * scores['f1']:.2f}  ({results[name]['seconds']:.0f} s)", flush=True)
    for name in VARIANTS:
        results[name]["f1_minus_fp32"] = results[name]["f1"] - results["fp32"]["f1"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
