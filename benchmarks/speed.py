"""Speed of VANER on this machine, every comparison measured in ONE run (the machine is noisy, ratios are what count).

(a) pipeline throughput (abstracts/s, tokens/s) versus the bare model forward on the very same padded batches:
    the pipeline's overhead (word splitting, tokenization, windows, batching, decoding);
(b) achieved GFLOP/s of the model forward and of a LoRA training step, versus a bf16 and an fp32 matmul measured
    in the same run: the utilization of the arithmetic ceiling;
(c) naive (one text and one entity type per call) versus batched pipeline calls.

Usage: python benchmarks/speed.py [--model PATH] [--abstracts 32] [--out benchmarks/results/speed.json]
Abstracts: NCBI-disease test sentences grouped by document id (real text), from $VANER_CORPORA_DIR or
../shared/corpora.
"""

import argparse
import json
import os
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]


def timed(function, repeat: int = 1) -> float:
    """Best wall-clock seconds of `repeat` calls (the minimum is the least noisy estimate)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def matmul_gflops(dtype, size: int = 2048, repeat: int = 5) -> float:
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b  # warm-up
    return 2 * size**3 / timed(lambda: a @ b, repeat) / 1e9


def forward_flops(config, batch: dict) -> float:
    """Multiply-adds x2 of the decoder forward on the real (unpadded and padded alike: the machine computes all)
    tokens: the linear layers (2 * non-embedding parameters per token) plus attention scores and values."""
    batch_size, width = batch["input_ids"].shape
    hidden, layers = config.hidden_size, config.num_hidden_layers
    head_dim = config.head_dim
    kv = config.num_key_value_heads * head_dim
    per_layer = hidden * (hidden + 2 * kv + hidden) + 3 * hidden * config.intermediate_size
    linear = 2 * batch_size * width * (layers * per_layer + hidden * config.num_labels)
    attention = 2 * 2 * batch_size * layers * config.num_attention_heads * width * width * head_dim
    return linear + attention


def load_abstracts(limit: int) -> list[str]:
    from dataset_scripts.corpora import read_corpus

    corpora_dir = os.environ.get("VANER_CORPORA_DIR") or REPO.parent / "shared" / "corpora"
    documents: dict[str, list[str]] = {}
    for record in read_corpus("ncbi", "test", corpora_dir):
        documents.setdefault(record["document_id"] or record["id"], []).append(" ".join(record["tokens"]))
    return [" ".join(sentences) for sentences in list(documents.values())[:limit]]


def bench_pipeline(tagger, abstracts: list[str], batch_size: int) -> dict:
    """(a) and (c)."""
    types = list(tagger.model.config.entity_types)
    items = [tagger.preprocess(text, types, None) for text in abstracts]
    rows = sorted((row for item in items for row in item["rows"]), key=lambda row: len(row.input_ids))
    batches = [tagger.pad_batch(rows[i : i + batch_size]) for i in range(0, len(rows), batch_size)]
    real_tokens = sum(len(row.input_ids) for row in rows)
    padded_tokens = sum(batch["input_ids"].numel() for batch in batches)

    def bare_forward():
        for batch in batches:
            tagger._forward(batch)

    tagger(abstracts[:2], batch_size=batch_size)  # warm-up
    bare = timed(bare_forward)
    batched = timed(lambda: tagger(abstracts, batch_size=batch_size))
    naive_texts = abstracts[: max(2, len(abstracts) // 4)]  # naive is slow: time a quarter, scale per abstract
    naive = timed(lambda: [tagger(text, entity_types=[t], batch_size=1) for text in naive_texts for t in types])
    flops = sum(forward_flops(tagger.model.config, batch) for batch in batches)
    return {
        "abstracts": len(abstracts),
        "entity_types": len(types),
        "rows": len(rows),
        "real_tokens": real_tokens,
        "padded_share": 1 - real_tokens / padded_tokens,
        "bare_forward_s": bare,
        "pipeline_s": batched,
        "pipeline_abstracts_per_s": len(abstracts) / batched,
        "pipeline_tokens_per_s": real_tokens / batched,
        "bare_abstracts_per_s": len(abstracts) / bare,
        "pipeline_vs_bare": bare / batched,
        "forward_gflops_per_s": flops / bare / 1e9,
        "naive_abstracts_per_s": len(naive_texts) / naive,
        "batched_vs_naive_speedup": (len(abstracts) / batched) / (len(naive_texts) / naive),
    }


def bench_lora_step(model, batch_size: int = 8, length: int = 128) -> dict:
    """(b) for training: one LoRA (r=16, all linear layers) forward+backward+AdamW step under bf16 autocast."""
    from peft import LoraConfig, TaskType, get_peft_model

    lora = get_peft_model(
        model,
        LoraConfig(task_type=TaskType.TOKEN_CLS, r=16, lora_alpha=32, target_modules="all-linear", modules_to_save=["score"]),
    )
    lora.train()
    optimizer = torch.optim.AdamW([p for p in lora.parameters() if p.requires_grad], lr=1e-4)
    input_ids = torch.randint(100, model.config.vocab_size, (batch_size, length))
    labels = torch.randint(0, 3, (batch_size, length))
    batch = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}

    def step():
        with torch.autocast("cpu", torch.bfloat16):
            loss = lora(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    step()  # warm-up
    seconds = timed(step, repeat=2)
    # forward + backward through frozen weights (input gradients only) ~ 2x forward; LoRA's own work is small.
    flops = 2 * forward_flops(model.config, batch)
    lora.unload()
    return {"lora_step_s": seconds, "lora_step_gflops_per_s": flops / seconds / 1e9, "batch": [batch_size, length]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder or adapter (default: the embedded vaner-smol)")
    parser.add_argument("--abstracts", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "speed.json")
    args = parser.parse_args()

    from modeling_vaner.loading import load_pipeline

    torch.manual_seed(0)
    from modeling_vaner.pipeline_vaner import bf16_supported

    results = {"torch_threads": torch.get_num_threads(), "cpu_bf16": bf16_supported(torch.device("cpu"))}
    results["matmul_fp32_gflops_per_s"] = matmul_gflops(torch.float32)
    results["matmul_bf16_gflops_per_s"] = matmul_gflops(torch.bfloat16)
    abstracts = load_abstracts(args.abstracts)
    for precision in ("bf16", "fp32"):
        tagger = load_pipeline(args.model, precision=precision, batch_size=args.batch_size)
        measured = bench_pipeline(tagger, abstracts, args.batch_size)
        ceiling = results[f"matmul_{precision}_gflops_per_s"]
        measured["forward_utilization"] = measured["forward_gflops_per_s"] / ceiling
        results[precision] = measured
    training = bench_lora_step(tagger.model)
    training["lora_step_utilization_bf16"] = training["lora_step_gflops_per_s"] / results["matmul_bf16_gflops_per_s"]
    results["training"] = training

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"matmul ceiling: fp32 {results['matmul_fp32_gflops_per_s']:.0f} GFLOP/s, "
          f"bf16 {results['matmul_bf16_gflops_per_s']:.0f} GFLOP/s ({results['torch_threads']} threads)")
    print(f"{'precision':9} {'abstracts/s':>11} {'tokens/s':>9} {'pipe/bare':>9} {'GFLOP/s':>8} {'util':>5} "
          f"{'batched/naive':>13} {'padded':>6}")
    for precision in ("bf16", "fp32"):
        r = results[precision]
        print(f"{precision:9} {r['pipeline_abstracts_per_s']:11.2f} {r['pipeline_tokens_per_s']:9.0f} "
              f"{r['pipeline_vs_bare']:9.1%} {r['forward_gflops_per_s']:8.0f} {r['forward_utilization']:5.0%} "
              f"{r['batched_vs_naive_speedup']:12.1f}x {r['padded_share']:6.1%}")
    print(f"LoRA training step (bf16 autocast, 8x128): {training['lora_step_s']:.2f} s, "
          f"{training['lora_step_gflops_per_s']:.0f} GFLOP/s = {training['lora_step_utilization_bf16']:.0%} of bf16 matmul")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
