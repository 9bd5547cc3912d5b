"""Does a cheaper precision cost accuracy? Full test-split F1 of one model run several ways, in ONE run: fp32 (the
reference), bf16 with the LoRA merged into the weights, bf16 with the LoRA kept beside them, int8 (torchao: the
backbone's linear layers with int8 weights and dynamically quantized int8 activations); plus fp32 with per-word
argmax labels instead of the pipeline's Viterbi decoding (what the decoding adds).

Usage: python benchmarks/precision_quality.py [--model PATH] [--corpus ncbi bc5cdr-chem] [--variants fp32 int8]
    [--out benchmarks/results/int8_quality.json]
(`benchmarks/results/bf16_quality.json`: --corpus ncbi --variants fp32 bf16-merged bf16-unmerged fp32-argmax)
"""

import argparse
import json
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
# name: (weights dtype, merge the LoRA into the weights, decoding, the pipeline's precision)
VARIANTS = {
    "fp32": (torch.float32, True, "viterbi", "fp32"),
    "bf16-merged": (torch.bfloat16, True, "viterbi", "fp32"),
    "bf16-unmerged": (torch.bfloat16, False, "viterbi", "fp32"),
    "int8": (torch.float32, True, "viterbi", "int8"),
    "fp32-argmax": (torch.float32, True, "argmax", "fp32"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="adapter folder (default: the embedded vaner-smol)")
    parser.add_argument("--corpus", nargs="+", default=["ncbi"])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["fp32", "int8"],
                        help="fp32 first: the others are compared with it")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "int8_quality.json")
    args = parser.parse_args()
    if args.variants[0] != "fp32":
        parser.error("--variants must start with fp32, the reference")

    from dataset_scripts.corpora import resolve_corpora_dir
    from modeling_vaner.evaluation import cpu_kind, evaluate_corpora
    from modeling_vaner.loading import load_vaner
    from modeling_vaner.pipeline_vaner import VanerTokenClassificationPipeline

    corpora_dir = resolve_corpora_dir() or REPO.parent / "shared" / "corpora"
    results = {"model": args.model or "vaner-smol (embedded)", "split": "test", "cpu": cpu_kind(),
               "torch_threads": torch.get_num_threads(), "instruction": "dataset"}
    for name in args.variants:
        dtype, merge, decoding, precision = VARIANTS[name]
        model, tokenizer, _ = load_vaner(args.model, dtype=dtype, merge=merge)
        tagger = VanerTokenClassificationPipeline(
            model=model.eval(), tokenizer=tokenizer, precision=precision, decoding=decoding, task="token-classification"
        )  # "fp32": no autocast, the model runs in the dtype it was loaded in
        started = time.perf_counter()
        report = evaluate_corpora(tagger, args.corpus, "test", corpora_dir, batch_size=args.batch_size)
        results[name] = {"seconds": time.perf_counter() - started, **report["corpora"]}
        for corpus, scores in report["corpora"].items():
            scores["f1_minus_fp32"] = scores["f1"] - results["fp32"][corpus]["f1"]
            print(f"{name:14} {corpus:14} {scores['sentences']:>5} sentences  P {100 * scores['precision']:.2f}  "
                  f"R {100 * scores['recall']:.2f}  F1 {100 * scores['f1']:.2f}  "
                  f"({100 * scores['f1_minus_fp32']:+.2f} vs fp32)", flush=True)
        print(f"{name:14} {results[name]['seconds']:.0f} s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
