"""The paper's claims tested at small scale: removing the causal mask helps NER (`unmasking`); DBR helps (`dbr`).

On NCBI-disease, with the same budget (steps, seed, LoRA, learning rate, and the same data but for what the arm
changes), train the embedded SmolLM2-135M twice, the two arms of one ablation, and score both on the test split
(entity-level F1, every word through the pipeline's windowing). Writes benchmarks/results/ablation_<name>.json.
- unmasking: bidirectional (`is_causal=False`, VANER) against causal (`is_causal=True`), both without DBR;
- dbr: bidirectional with DBR sentences (`dbr_variant=dbr`) against without (`dbr_variant=none`).

    python benchmarks/ablation.py unmasking --corpora-dir /work/shared/corpora --max-steps 500   # 10-20 min a run
    python benchmarks/ablation.py dbr --max-steps 20 --test-limit 50 --backbone DIR               # a smoke run
    python benchmarks/ablation.py dbr --arms dbr --max-steps 1000 --output FILE.json              # one arm only

`--arms` runs some arms only (e.g. the DBR arm with twice the steps, so that it sees as many gold sentences as the
other arm did: half of its rows are DBR sentences); the report then has no gain, compare the JSON files.

Each run goes through `vaner train`'s own code (`modeling_vaner.training`), from configs/smol.yaml with the
overrides below; only the arm's own setting differs between the two runs.
"""

import argparse
import json
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ablation: (claim, {arm: its own overrides}); the first arm is VANER's setting
ABLATIONS = {
    "unmasking": (
        "removing the causal mask (bidirectional attention) improves entity-level F1",
        {"bidirectional": {"is_causal": False}, "causal": {"is_causal": True}},
    ),
    "dbr": (
        "adding DBR sentences (knowledge-base entities retrieved per sentence) improves entity-level F1",
        {"dbr": {"dbr_variant": "dbr"}, "none": {"dbr_variant": "none"}},
    ),
}
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ablation", choices=ABLATIONS)
    parser.add_argument("--backbone", default="smollm2-135m", help="Llama folder, or the embedded smollm2-135m")
    parser.add_argument("--corpora-dir", help="local corpora directory (default: $VANER_CORPORA_DIR)")
    parser.add_argument("--corpus", default="ncbi")
    parser.add_argument("--arms", nargs="+", help="run only these arms (default: both)")
    parser.add_argument("--max-steps", type=int, default=1200, help="training steps of batch 8 for each run")
    parser.add_argument("--train-limit", type=int, help="first N training sentences (default: the whole split)")
    parser.add_argument("--test-limit", type=int, help="random N test sentences (default: the whole split)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--precision", choices=("auto", "bf16", "fp32"), default="auto",
        help="the same for both arms; auto: bf16 (autocast, frozen weights in bf16) where the CPU has it, else fp32",
    )
    parser.add_argument("--work-dir", type=Path, help="default: runs/ablation_<name>")
    parser.add_argument("--output", type=Path, help="default: benchmarks/results/ablation_<name>.json")
    args = parser.parse_args(argv)
    arms = ABLATIONS[args.ablation][1]
    args.arms = args.arms or list(arms)
    unknown = sorted(set(args.arms) - set(arms))
    if unknown:
        parser.error(f"unknown arms of {args.ablation}: {', '.join(unknown)} (choose from {', '.join(arms)})")
    args.work_dir = args.work_dir or ROOT / "runs" / f"ablation_{args.ablation}"
    args.output = args.output or ROOT / "benchmarks" / "results" / f"ablation_{args.ablation}.json"
    return args


def run_overrides(args, arm: str, arm_overrides: dict) -> dict:
    from modeling_vaner.training import precision_overrides

    return {
        "backbone": args.backbone,
        "is_causal": False,
        "corpora": [args.corpus],
        "corpora_dir": args.corpora_dir,
        "dbr_variant": "none",
        **arm_overrides,
        "lora_dropout": 0.0,
        "attn_implementation": "eager",
        **precision_overrides(args.precision),
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
        "output_dir": str(args.work_dir / arm),
    }


def main(argv=None) -> int:
    from modeling_vaner.training import parse_config, run_training

    args = parse_args(argv)
    claim, arms = ABLATIONS[args.ablation]
    results = {}
    for arm in args.arms:
        arm_overrides = arms[arm]
        overrides = run_overrides(args, arm, arm_overrides)
        resume = Path(overrides["output_dir"]).is_dir() and any(Path(overrides["output_dir"]).glob("checkpoint-*"))
        started = time.perf_counter()
        summary = run_training(*parse_config(ROOT / "configs" / "smol.yaml", overrides), resume=resume)
        scores = summary["evaluation"]["corpora"][args.corpus]
        results[arm] = {
            **arm_overrides,
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
        "claim": claim,
        "corpus": args.corpus,
        "backbone": args.backbone,
        "budget": {"max_steps": args.max_steps, "batch_size": 8, "train_limit": args.train_limit, "seed": args.seed,
                   "precision": args.precision},
        "test_limit": args.test_limit,
        "results": results,
        "machine": platform.platform(),
    }
    if len(results) == len(arms):
        vaner_arm, other_arm = arms
        report[f"f1_gain_{vaner_arm}_minus_{other_arm}"] = results[vaner_arm]["test_f1"] - results[other_arm]["test_f1"]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    for name, result in results.items():
        print(f"{name:<14} test F1 {100 * result['test_f1']:.2f}  ({result['steps']} steps, {result['seconds']} s)")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
