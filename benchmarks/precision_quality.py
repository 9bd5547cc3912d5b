"""Does a cheaper precision cost accuracy? Full test-split (or dev-split) F1 of one model run several ways, in ONE
run: fp32 (the reference), bf16 with the LoRA merged into the weights, bf16 with the LoRA kept beside them, int8
(torchao: the backbone's linear layers with int8 weights and dynamically quantized int8 activations); plus fp32 with
per-word argmax labels instead of the pipeline's Viterbi decoding (what the decoding adds); and `vaner export-onnx`
files run by ONNX Runtime (onnx-fp32, onnx-int8; onnx-int8-down-proj, the dev ablation behind its fp32 layers).

Usage: python benchmarks/precision_quality.py [--model PATH] [--corpus ncbi bc5cdr-chem] [--variants fp32 int8]
    [--split test] [--out benchmarks/results/int8_quality.json]
(`benchmarks/results/bf16_quality.json`: --corpus ncbi --variants fp32 bf16-merged bf16-unmerged fp32-argmax;
`benchmarks/results/pipeline_auto_precision_dev.json`: --split validation --corpus ncbi bc5cdr-chem --variants fp32
fp32-weights-bf16-autocast bf16, what one meaning of precision "auto" moved on the `pipeline()` route)
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from modeling_vaner.options_vaner import DEFAULT_BATCH_SIZE

REPO = Path(__file__).resolve().parents[1]
# name: (weights dtype, merge the LoRA into the weights, decoding, the pipeline's precision, ONNX Runtime file: None,
# "fp32" or "int8"); "fp32" runs the model in the dtype it was loaded in, with no autocast
VARIANTS = {
    "fp32": (torch.float32, True, "viterbi", "fp32", None),
    # precision "auto" where bf16 is native: bf16 weights under bf16 autocast (the pipeline casts fp32 weights)
    "bf16": (torch.float32, True, "viterbi", "bf16", None),
    # what `pipeline()`'s "auto" ran before precision had one meaning: fp32 weights under bf16 autocast
    "fp32-weights-bf16-autocast": (torch.float32, True, "viterbi", "fp32", None),
    "bf16-merged": (torch.bfloat16, True, "viterbi", "fp32", None),
    "bf16-unmerged": (torch.bfloat16, False, "viterbi", "fp32", None),
    "int8": (torch.float32, True, "viterbi", "int8", None),
    "fp32-argmax": (torch.float32, True, "argmax", "fp32", None),
    "onnx-fp32": (torch.float32, True, "viterbi", "fp32", "fp32"),
    "onnx-int8": (torch.float32, True, "viterbi", "fp32", "int8"),
    # the ablation behind FP32_MODULES: the MLP down projections quantized too (only the head kept in fp32)
    "onnx-int8-down-proj": (torch.float32, True, "viterbi", "fp32", "int8-down-proj"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="adapter folder (default: the embedded vaner-smol)")
    parser.add_argument("--corpus", nargs="+", default=["ncbi"])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["fp32", "int8"],
                        help="fp32 first: the others are compared with it")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--split", choices=("validation", "test"), default="test",
                        help="validation to choose settings (e.g. the ONNX int8 ablation), test to report them")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "int8_quality.json")
    args = parser.parse_args()
    if args.variants[0] != "fp32":
        parser.error("--variants must start with fp32, the reference")

    from dataset_scripts.corpora import default_corpora_dir
    from modeling_vaner.evaluation import evaluate_corpora
    from modeling_vaner.loading import load_vaner
    from modeling_vaner.onnx_export import FP32_MODULES, export_onnx
    from modeling_vaner.pipeline_vaner import VanerTokenClassificationPipeline
    from modeling_vaner.runtime_vaner import cpu_bf16_kind

    corpora_dir = default_corpora_dir()
    results = {"model": args.model or "vaner-smol (embedded)", "split": args.split, "cpu": cpu_bf16_kind(),
               "torch_threads": torch.get_num_threads(), "instruction": "dataset"}
    for name in args.variants:
        dtype, merge, decoding, precision, onnx_file = VARIANTS[name]
        model, tokenizer, _ = load_vaner(args.model, dtype=dtype, merge=merge)
        with tempfile.TemporaryDirectory() as folder:  # ONNX Runtime has read the file once the pipeline exists
            onnx_model = onnx_file and export_onnx(
                model,
                Path(folder) / "model.onnx",
                int8=onnx_file.startswith("int8"),
                fp32_modules=("/score/",) if onnx_file == "int8-down-proj" else FP32_MODULES,
            )
            tagger = VanerTokenClassificationPipeline(
                model=model.eval(),
                tokenizer=tokenizer,
                precision=precision,
                decoding=decoding,
                onnx_model=onnx_model,
                task="token-classification",
            )  # "fp32": no autocast, the model runs in the dtype it was loaded in
        started = time.perf_counter()
        autocast = torch.autocast("cpu", torch.bfloat16, enabled=name == "fp32-weights-bf16-autocast")
        with autocast:  # the pipeline in fp32 adds no autocast context: this one applies
            report = evaluate_corpora(tagger, args.corpus, args.split, corpora_dir, batch_size=args.batch_size)
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
