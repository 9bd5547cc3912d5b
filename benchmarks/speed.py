"""Speed of VANER on this machine, every comparison measured in ONE run (the machine is noisy, ratios are what count).

(a) pipeline throughput (abstracts/s, tokens/s) versus the bare model forward on the very same padded batches:
    the pipeline's overhead (word splitting, tokenization, windows, batching, decoding);
(b) achieved GFLOP/s of the model forward and of a LoRA training step, versus a bf16, an fp32 and an int8 matmul
    measured in the same run: the utilization of the arithmetic ceiling; and the share of the eager forward spent
    in the linear layers (what int8 can speed up);
(c) naive (one text and one entity type per call) versus batched pipeline calls.
The bare forward replays the very batches a pipeline call ran (recorded from it); after the same warm-up the two
are timed in turn, best of --repeat rounds, so that a busy spell of the machine falls on one round of both.

Usage: python benchmarks/speed.py [--model PATH] [--abstracts 32] [--variants ...] [--repeat 2] [--out FILE.json]
(default output: benchmarks/results/speed_amx.json, speed_avx512_bf16.json or speed_no_bf16.json, by the CPU)
Variants: fp32, bf16 and int8 (torchao: int8 weights and dynamically quantized int8 activations in the backbone's
linear layers), each eager and under torch.compile; onnx-fp32 and onnx-int8 (a `vaner export-onnx` file run by ONNX
Runtime: fp32, or int8 weights and per-tensor dynamic activations in the linear layers but the kept ones). By
default the bf16 ones run only where the CPU computes bf16 natively (AVX512_BF16 or AMX); elsewhere oneDNN emulates
bf16, several times slower than fp32, and "auto" precision never picks it. Training: the LoRA step with
configs/smol.yaml's settings and with the speed
settings of the later stages (bf16 frozen weights where bf16 is native, else fp32).
Abstracts: whole GENIA dev abstracts (JNLPBA's shared-task dev file; real MEDLINE text, 237 words on average),
from $VANER_CORPORA_DIR or ../shared/corpora. (Runs before 2026-11-27 read NCBI-disease test "abstracts" whose
files mark none: each of those texts was one sentence.)

The yardstick of issue 33, VANER against a BERT-base-shaped tagger: benchmarks/speed_peer.py.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from modeling_vaner.options_vaner import DEFAULT_BATCH_SIZE

REPO = Path(__file__).resolve().parents[1]


def timed(function, repeat: int = 1) -> float:
    """Best wall-clock seconds of `repeat` calls (the minimum is the least noisy estimate)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def timed_alternately(functions: dict, repeat: int) -> dict[str, float]:
    """Best wall-clock seconds of each of `functions` (name -> callable), called in turn, round after round,
    `repeat` rounds: a busy spell of a noisy machine slows one round of all of them, not the one measurement of
    one of them. Each call starts on a C heap handed back to the system, as every pipeline call after a first one
    does (the pipeline trims it at its end): none runs on memory the one before left warm."""
    from modeling_vaner.runtime_vaner import release_freed_memory

    best = dict.fromkeys(functions, float("inf"))
    for _ in range(repeat):
        for name, function in functions.items():
            release_freed_memory()
            best[name] = min(best[name], timed(function))
    return best


def matmul_gflops(dtype, shape: tuple[int, int, int] = (2048, 2048, 2048), repeat: int = 5) -> float:
    """GFLOP/s (GOP/s for int8: int8 x int8 -> int32 with `torch._int_mm`, as torchao runs it) of an (m, k) @ (k, n)
    matmul."""
    m, k, n = shape
    if dtype == torch.int8:
        a, b = torch.randint(-128, 128, (m, k), dtype=dtype), torch.randint(-128, 128, (k, n), dtype=dtype)
        multiply = torch._int_mm
    else:
        a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
        multiply = torch.matmul
    multiply(a, b)  # warm-up
    return 2 * m * k * n / timed(lambda: multiply(a, b), repeat) / 1e9


# pipeline variants: (precision, torch.compile, ONNX Runtime); the onnx ones run a `vaner export-onnx` file of the
# model, fp32 or with int8 linear layers, and are compared with the ceiling of that precision
VARIANTS = {
    "bf16": ("bf16", False, False),
    "bf16-compiled": ("bf16", True, False),
    "fp32": ("fp32", False, False),
    "fp32-compiled": ("fp32", True, False),
    "int8": ("int8", False, False),
    "int8-compiled": ("int8", True, False),
    "onnx-fp32": ("fp32", False, True),
    "onnx-int8": ("int8", False, True),
}
MATMUL_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "int8": torch.int8}


def cpu_facts() -> dict:
    """The processor and its native bf16 support (what decides the precision "auto" picks)."""
    from modeling_vaner.runtime_vaner import cpu_bf16_kind, native_bf16

    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown")
    flags = set(next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), []))
    return {
        "cpu": name,
        "int8_flags": sorted(flags & {"avx512_vnni", "avx_vnni", "amx_int8"}),  # int8 dot products in hardware
        "torch_threads": torch.get_num_threads(),
        "cpu_bf16_kind": cpu_bf16_kind(),
        "cpu_bf16": native_bf16(torch.device("cpu")),
    }


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
    """The first `limit` whole GENIA dev abstracts (`genia_dev_abstracts`), tokens joined with spaces."""
    from dataset_scripts.corpora import default_corpora_dir, genia_dev_abstracts

    abstracts = genia_dev_abstracts(default_corpora_dir())
    return [" ".join(" ".join(tokens) for tokens in sentences) for sentences in abstracts[:limit]]


def linear_seconds(model, batches: list[dict]) -> float:
    """Seconds the linear layers of `model` take in an eager forward of `batches`: after each batch's forward, each
    layer is re-run on the input it received there (batch by batch, so that inputs are as warm in the caches as in
    the forward). Runs without autocast: the weights must be in the dtype the pipeline runs (as `load_pipeline`
    loads them)."""
    calls = []
    hooks = [
        module.register_forward_hook(lambda layer, inputs, _: calls.append((layer, inputs[0])))
        for module in model.modules()
        if isinstance(module, torch.nn.Linear)
    ]
    seconds = 0.0
    try:
        with torch.inference_mode():
            for batch in batches:
                model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
                seconds += timed(lambda: [layer.forward(inputs) for layer, inputs in calls])  # .forward: no hooks
                calls.clear()
    finally:
        for hook in hooks:
            hook.remove()
    return seconds


def pipeline_batches(tagger, abstracts: list[str], batch_size: int) -> list[dict]:
    """The padded batches (`pad_batch`'s dicts) that a pipeline call on `abstracts` runs, in its order, recorded
    from that call: the bare forward replays exactly these, whatever the pipeline's batching does."""
    batches = []
    forward = tagger._forward

    def recording_forward(model_inputs: dict) -> dict:
        batches.append(model_inputs)
        return forward(model_inputs)

    tagger._forward = recording_forward  # an instance attribute over the method, for this one call
    try:
        tagger(abstracts, batch_size=batch_size)
    finally:
        del tagger._forward
    return batches


def pipeline_steps(tagger, abstracts: list[str], batch_size: int) -> dict[str, float]:
    """Seconds of each step of a pipeline call on `abstracts`, run one by one as `tag_texts` runs them: where the
    pipeline's time goes beyond its forward (`predict_rows` holds the forward)."""
    from modeling_vaner.runtime_vaner import release_freed_memory

    options = tagger.call_options(batch_size=batch_size)
    items = []
    steps = {
        "preprocess": lambda: items.extend(tagger.preprocess(text, options) for text in abstracts),
        "predict_rows": lambda: tagger.predict_rows(items, options.batch_size),
        "postprocess": lambda: [tagger.postprocess(item, options) for item in items],
        "release_freed_memory": release_freed_memory,
    }
    return {name: timed(step) for name, step in steps.items()}


def bench_pipeline(tagger, abstracts: list[str], batch_size: int, repeat: int) -> dict:
    """(a) and (c); for an eager model also the linear layers' share of the bare forward. The pipeline and the bare
    forward of its own batches are timed in turn, best of `repeat` rounds, both warm; then, once, each step of the
    pipeline (`pipeline_steps`)."""
    types = list(tagger.model.config.entity_types)
    started = time.perf_counter()
    tagger(abstracts[:2], batch_size=batch_size)  # warm-up (and, compiled, the compilation)
    tagger(abstracts[0], entity_types=types[:1], batch_size=1)
    warm_up = time.perf_counter() - started
    # a whole call, untimed: every batch shape has run once before either path is timed
    batches = pipeline_batches(tagger, abstracts, batch_size)
    rows = sum(len(batch["input_ids"]) for batch in batches)
    real_tokens = sum(int(batch["attention_mask"].sum()) for batch in batches)
    padded_tokens = sum(batch["input_ids"].numel() for batch in batches)

    def bare_forward():
        for batch in batches:
            tagger._forward(batch)

    seconds = timed_alternately(
        {"bare": bare_forward, "pipeline": lambda: tagger(abstracts, batch_size=batch_size)}, repeat
    )
    bare, batched = seconds["bare"], seconds["pipeline"]
    naive_texts = abstracts[: max(2, len(abstracts) // 4)]  # naive is slow: time a quarter, scale per abstract
    naive = timed(lambda: [tagger(text, entity_types=[t], batch_size=1) for text in naive_texts for t in types])
    flops = sum(forward_flops(tagger.model.config, batch) for batch in batches)
    # hooks do not fire inside a compiled graph
    linear_share = None if tagger.forward_model is not tagger.model else linear_seconds(tagger.model, batches) / bare
    return {
        "linear_layers_share_of_forward": linear_share,
        "warm_up_s": warm_up,
        "abstracts": len(abstracts),
        "entity_types": len(types),
        "rows": rows,
        "repeat": repeat,
        "real_tokens": real_tokens,
        "padded_share": 1 - real_tokens / padded_tokens,
        "bare_forward_s": bare,
        "pipeline_s": batched,
        "pipeline_abstracts_per_s": len(abstracts) / batched,
        "pipeline_tokens_per_s": real_tokens / batched,
        "bare_abstracts_per_s": len(abstracts) / bare,
        "pipeline_vs_bare": bare / batched,
        "pipeline_steps_s": pipeline_steps(tagger, abstracts, batch_size),  # once, after the timed rounds
        "forward_gflops_per_s": flops / bare / 1e9,
        "naive_abstracts_per_s": len(naive_texts) / naive,
        "batched_vs_naive_speedup": (len(abstracts) / batched) / (len(naive_texts) / naive),
    }


def onnx_pipeline(model: str | None, int8: bool, batch_size: int):
    """The pipeline on a `vaner export-onnx` file of `model` (the export is part of its load time; ONNX Runtime
    has read the file once the pipeline exists)."""
    from modeling_vaner.loading import load_vaner
    from modeling_vaner.onnx_export import export_onnx
    from modeling_vaner.pipeline_vaner import VanerTokenClassificationPipeline

    loaded, tokenizer, _ = load_vaner(model, dtype=torch.float32)
    with tempfile.TemporaryDirectory() as folder:
        path = export_onnx(loaded, Path(folder) / "model.onnx", int8=int8)
        return VanerTokenClassificationPipeline(
            model=loaded.eval(),
            tokenizer=tokenizer,
            precision="fp32",
            batch_size=batch_size,
            onnx_model=path,
            task="token-classification",
        )


def lora_settings(native_bf16: bool) -> dict:
    """configs/smol.yaml (stage 1) versus the speed settings of the later stages: LoRA dropout 0, eager attention,
    and, where bf16 is native, frozen weights stored in bf16 (configs/smol-stage2.yaml) else fp32 throughout
    (configs/smol-stage3.yaml)."""
    return {
        "stage1": {"lora_dropout": 0.05, "attn_implementation": "sdpa", "frozen_dtype": "float32"},
        "fast": {"lora_dropout": 0.0, "attn_implementation": "eager",
                 "frozen_dtype": "bfloat16" if native_bf16 else "float32"},
    }


def bench_lora_step(settings: dict, autocast_bf16: bool, batch_size: int = 8, length: int = 128) -> dict:
    """(b) for training: one LoRA (r=16, all linear layers) forward+backward+AdamW step (under bf16 autocast if
    `autocast_bf16`), built as `vaner train` builds it on the embedded backbone (the step time does not depend on
    the weights)."""
    from modeling_vaner.training import ModelArguments, build_model

    lora, _ = build_model(ModelArguments(**settings), length)
    lora.train()
    optimizer = torch.optim.AdamW([p for p in lora.parameters() if p.requires_grad], lr=1e-4)
    input_ids = torch.randint(100, lora.config.vocab_size, (batch_size, length))
    labels = torch.randint(0, 3, (batch_size, length))
    batch = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}

    def step():
        with torch.autocast("cpu", torch.bfloat16, enabled=autocast_bf16):
            loss = lora(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    step()  # warm-up
    seconds = timed(step, repeat=3)
    # forward + backward through frozen weights (input gradients only) ~ 2x forward; LoRA's own work is small.
    flops = 2 * forward_flops(lora.config, batch)
    return {"settings": settings, "bf16_autocast": autocast_bf16, "lora_step_s": seconds,
            "lora_step_gflops_per_s": flops / seconds / 1e9, "batch": [batch_size, length]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder or adapter (default: the embedded vaner-smol)")
    parser.add_argument("--abstracts", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS),
                        help="default: all where the CPU computes bf16 natively, else the fp32 ones")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of the timed comparisons; the best counts")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results/speed_<bf16 kind>.json, where the kind "
                        "is amx, avx512_bf16 or no_bf16 (results differ most between them)")
    args = parser.parse_args(argv)

    from modeling_vaner.loading import load_pipeline

    torch.manual_seed(0)
    results = cpu_facts()
    native_bf16 = results["cpu_bf16"]
    bf16_kind = results["cpu_bf16_kind"].replace("no native bf16", "no_bf16")
    out = args.out or REPO / "benchmarks" / "results" / f"speed_{bf16_kind}.json"
    variants = args.variants or [
        name for name, (precision, *_) in VARIANTS.items() if native_bf16 or precision != "bf16"
    ]
    for precision, dtype in MATMUL_DTYPES.items():
        results[f"matmul_{precision}_gflops_per_s"] = matmul_gflops(dtype)
    # for reference: the model's own largest matmul (2048 tokens x hidden 576 -> intermediate 1536)
    results["matmul_bf16_model_shape_gflops_per_s"] = matmul_gflops(torch.bfloat16, shape=(2048, 576, 1536))
    abstracts = load_abstracts(args.abstracts)
    results["abstracts_from"] = "GENIA dev abstracts (dataset_scripts.corpora.genia_dev_abstracts)"
    results["characters_per_abstract"] = sum(map(len, abstracts)) / len(abstracts)
    for variant in variants:
        precision, compile, onnx = VARIANTS[variant]
        started = time.perf_counter()
        if onnx:
            tagger = onnx_pipeline(args.model, int8=precision == "int8", batch_size=args.batch_size)
        else:
            tagger = load_pipeline(args.model, precision=precision, batch_size=args.batch_size, compile=compile)
        load_seconds = time.perf_counter() - started
        measured = bench_pipeline(tagger, abstracts, args.batch_size, args.repeat)
        measured["load_and_warm_up_s"] = load_seconds + measured.pop("warm_up_s")
        ceiling = results[f"matmul_{precision}_gflops_per_s"]
        measured["forward_utilization"] = measured["forward_gflops_per_s"] / ceiling  # of its own precision's
        results[variant] = measured
        del tagger
    results["training"] = {
        name: bench_lora_step(settings, autocast_bf16=native_bf16)
        for name, settings in lora_settings(native_bf16).items()
    }
    training_precision = "bf16" if native_bf16 else "fp32"
    for training in results["training"].values():
        training["lora_step_utilization"] = (
            training["lora_step_gflops_per_s"] / results[f"matmul_{training_precision}_gflops_per_s"]
        )
    results["training_fast_vs_stage1"] = (
        results["training"]["stage1"]["lora_step_s"] / results["training"]["fast"]["lora_step_s"]
    )
    for precision in MATMUL_DTYPES:
        if precision in results and f"{precision}-compiled" in results:
            results[f"compiled_vs_eager_{precision}"] = (
                results[precision]["bare_forward_s"] / results[f"{precision}-compiled"]["bare_forward_s"]
            )
    # issue 22's measure: int8 against the faster of fp32 and bf16 (eager against eager, compiled against compiled;
    # the ONNX Runtime file against the eager PyTorch floats)
    for int8, suffix in (("int8", ""), ("int8-compiled", "-compiled"), ("onnx-int8", "")):
        floats = [
            results[name]["pipeline_abstracts_per_s"] for name in (f"fp32{suffix}", f"bf16{suffix}") if name in results
        ]
        if int8 in results and floats:
            results[f"{int8}_vs_fastest_float"] = results[int8]["pipeline_abstracts_per_s"] / max(floats)

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"{results['cpu']}, {results['torch_threads']} threads, native bf16: {native_bf16}")
    print(f"matmul ceiling: fp32 {results['matmul_fp32_gflops_per_s']:.0f} GFLOP/s, "
          f"bf16 {results['matmul_bf16_gflops_per_s']:.0f} GFLOP/s (2048^3), "
          f"bf16 {results['matmul_bf16_model_shape_gflops_per_s']:.0f} GFLOP/s (2048x576x1536), "
          f"int8 {results['matmul_int8_gflops_per_s']:.0f} GOP/s (2048^3)")
    print(f"{'variant':14} {'abstracts/s':>11} {'tokens/s':>9} {'pipe/bare':>9} {'GFLOP/s':>8} {'util':>5} "
          f"{'linear':>6} {'batched/naive':>13} {'padded':>6} {'load+warm-up':>12}")
    for variant in variants:
        r = results[variant]
        share = r["linear_layers_share_of_forward"]
        print(f"{variant:14} {r['pipeline_abstracts_per_s']:11.2f} {r['pipeline_tokens_per_s']:9.0f} "
              f"{r['pipeline_vs_bare']:9.1%} {r['forward_gflops_per_s']:8.0f} {r['forward_utilization']:5.0%} "
              f"{'-' if share is None else f'{share:.0%}':>6} "
              f"{r['batched_vs_naive_speedup']:12.1f}x {r['padded_share']:6.1%} {r['load_and_warm_up_s']:11.1f}s")
    for name, value in results.items():
        if name.startswith(("compiled_vs_eager_", "int8", "onnx")) and isinstance(value, float):
            print(f"{name}: {value:.2f}x")
    for name, training in results["training"].items():
        print(f"LoRA training step, {name} settings {training['settings']} ({training_precision}, 8x128): "
              f"{training['lora_step_s']:.2f} s, {training['lora_step_gflops_per_s']:.0f} GFLOP/s = "
              f"{training['lora_step_utilization']:.0%} of the {training_precision} matmul")
    print(f"training step, fast / stage-1 settings: {results['training_fast_vs_stage1']:.2f}x")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
