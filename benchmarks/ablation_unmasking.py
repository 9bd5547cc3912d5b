"""The paper's central claim at small scale: removing the causal mask helps NER.

On NCBI-disease, with the same budget (data, steps, seed, LoRA, learning rate), train the embedded SmolLM2-135M
twice, bidirectional (`is_causal=False`, VANER) and causal (`is_causal=True`), and score both on the test split
(entity-level F1, every word through the pipeline's windowing). Writes benchmarks/results/ablation_unmasking.json.

    python benchmarks/ablation_unmasking.py --corpora-dir /work/shared/corpora            # ~1 h on 2 CPU cores
    python benchmarks/ablation_unmasking.py --max-steps 20 --test-limit 50 --backbone DIR # a smoke run

Each run goes through `vaner train`'s own code (`modeling_vaner.training`), from configs/smol.yaml with the
overrides below; only `is_causal` differs between the two runs.
"""

import argparse
import json
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", default="smollm2-135m", help="Llama folder, or the embedded smollm2-135m")
    parser.add_argument("--corpora-dir", help="local corpora directory (default: $VANER_CORPORA_DIR)")
    parser.add_argument("--corpus", default="ncbi")
    parser.add_argument("--max-steps", type=int, default=1200, help="training steps of batch 8 for each run")
    parser.add_argument("--train-limit", type=int, help="first N training sentences (default: the whole split)")
    parser.add_argument("--test-limit", type=int, help="random N test sentences (default: the whole split)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work-dir", type=Path, default=ROOT / "runs" / "ablation_unmasking")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "ablation_unmasking.json")
    return parser.parse_args(argv)


def run_overrides(args, is_causal: bool) -> dict:
    name = "causal" if is_causal else "bidirectional"
    return {
        "backbone": args.backbone,
        "is_causal": is_causal,
        "corpora": [args.corpus],
        "corpora_dir": args.corpora_dir,
        "dbr_variant": "none",
        # configs/smol-stage2.yaml's CPU speed settings (the same for both arms)
        "lora_dropout": 0.0,
        "attn_implementation": "eager",
        "frozen_dtype": "bfloat16",
        "train_limit_per_corpus": args.train_limit,
        "final_eval_split": "test",
        "final_eval_limit_per_corpus": args.test_limit,
        "max_steps": args.max_steps,
        "num_train_epochs": 1000,  # max_steps decides
        "eval_strategy": "no",
        "save_strategy": "steps",
        "save_steps": max(1, args.max_steps // 4),
        "load_best_model_at_end": False,
        "seed": args.seed,
        "output_dir": str(args.work_dir / name),
    }


def main(argv=None) -> int:
    from modeling_vaner.training import parse_config, run_training

    args = parse_args(argv)
    results = {}
    for is_causal in (False, True):
        overrides = run_overrides(args, is_causal)
        resume = Path(overrides["output_dir"]).is_dir() and any(Path(overrides["output_dir"]).glob("checkpoint-*"))
        started = time.perf_counter()
        summary = run_training(*parse_config(ROOT / "configs" / "smol.yaml", overrides), resume=resume)
        scores = summary["evaluation"]["corpora"][args.corpus]
        results["causal" if is_causal else "bidirectional"] = {
            "is_causal": is_causal,
            "test_precision": scores["precision"],
            "test_recall": scores["recall"],
            "test_f1": scores["f1"],
            "gold_entities": scores["gold_entities"],
            "test_sentences": scores["sentences"],
            "steps": summary["global_step"],
            "seconds": round(time.perf_counter() - started, 1),
            "adapter": summary["adapter"],
        }
    report = {
        "claim": "removing the causal mask (bidirectional attention) improves entity-level F1",
        "corpus": args.corpus,
        "backbone": args.backbone,
        "budget": {"max_steps": args.max_steps, "batch_size": 8, "train_limit": args.train_limit, "seed": args.seed},
        "test_limit": args.test_limit,
        "results": results,
        "f1_gain_bidirectional_minus_causal": results["bidirectional"]["test_f1"] - results["causal"]["test_f1"],
        "machine": platform.platform(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    for name, result in results.items():
        print(f"{name:<14} test F1 {100 * result['test_f1']:.2f}  ({result['steps']} steps, {result['seconds']} s)")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
