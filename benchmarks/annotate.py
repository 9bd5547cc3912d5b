"""`vaner annotate` against the pipeline, and its memory as the collection grows, measured in ONE run.

(a) documents/s of `vaner annotate` (reading a text file, tagging chunk by chunk, the journal, the final output)
    against one pipeline call on the same documents with the same loaded model, in alternating rounds (target:
    the median ratio at least 90%), and the share of `vaner annotate`'s time spent in the pipeline's calls;
(b) peak resident memory of `vaner annotate` on 1,000 and on 10,000 documents, each in a fresh process (target:
    within 10% of each other: memory is bounded by a chunk, not the collection);
(c) `vaner annotate` on the 1,000 documents as one process with 2 threads against `torchrun` with two processes
    of 1 thread each (wall time of the whole command, start-up and model loading included).

Documents: BC2GM training sentences (one sentence per document; `vaner data` corpora from $VANER_CORPORA_DIR or
../shared/corpora), one entity type (Gene), the embedded model, precision "auto".

Usage: python benchmarks/annotate.py [--model DIR] [--documents 1000] [--large 10000] [--rounds 5] [--out FILE.json]
(default output: benchmarks/results/annotate.json)
(on a GPU machine: add --device cuda for documents/s in bf16 there).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENTITY_TYPE = "Gene"


def sentences(count: int) -> list[str]:
    """The first `count` BC2GM training sentences as plain text (words joined by spaces)."""
    from dataset_scripts.corpora import default_corpora_dir, read_corpus

    rows = read_corpus("bc2gm", "train", default_corpora_dir())
    texts = [" ".join(row["tokens"]) for row in rows]
    if len(texts) < count:
        raise ValueError(f"BC2GM train has {len(texts)} sentences, fewer than {count}")
    return texts[:count]


def annotate_args(source: Path, output: Path, model: str | None) -> list[str]:
    model_args = ["--model", model] if model else []
    return ["annotate", str(source), str(output), "--types", ENTITY_TYPE, "--overwrite", *model_args]


class TimedTagger:
    """The pipeline, counting the seconds spent in its calls (what `vaner annotate` adds is the rest)."""

    def __init__(self, tagger):
        self.tagger, self.seconds = tagger, 0.0

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.tagger(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started

    def __getattr__(self, name):
        return getattr(self.tagger, name)


def compare_speed(texts: list[str], model: str | None, device: str | None, folder: Path, rounds: int) -> dict:
    """Documents/s of the pipeline and of `vaner annotate` on the same documents, model loaded once, in `rounds`
    alternating rounds (pipeline, annotate, pipeline, ...) so that a slow spell of a shared machine hits both; the
    ratio reported is the median of the rounds' ratios. Also the share of `vaner annotate`'s time spent inside
    the pipeline's calls (the rest is reading, the journal and the output: what it adds, free of the machine's
    noise between rounds)."""
    from modeling_vaner import loading
    from modeling_vaner.cli import main

    tagger = loading.load_pipeline(model, device=device)
    tagger(texts, entity_types=[ENTITY_TYPE])  # warm-up on every batch shape both will see
    source = write_documents(texts, folder / "speed.txt")
    pipeline_s, annotate_s, inside_s = [], [], []
    load_pipeline = loading.load_pipeline
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            tagger(texts, entity_types=[ENTITY_TYPE])
            pipeline_s.append(time.perf_counter() - started)
            timed_tagger = TimedTagger(tagger)
            loading.load_pipeline = lambda *args, loaded=timed_tagger, **kwargs: loaded  # loading is not timed
            started = time.perf_counter()
            if main(annotate_args(source, folder / "speed.jsonl", model)) != 0:
                raise RuntimeError("vaner annotate failed")
            annotate_s.append(time.perf_counter() - started)
            inside_s.append(timed_tagger.seconds)
    finally:
        loading.load_pipeline = load_pipeline
    ratios = [p / a for p, a in zip(pipeline_s, annotate_s)]
    return {
        "documents": len(texts),
        "rounds": rounds,
        "pipeline_documents_per_s": [len(texts) / s for s in pipeline_s],
        "annotate_documents_per_s": [len(texts) / s for s in annotate_s],
        "annotate_vs_pipeline_per_round": ratios,
        "annotate_vs_pipeline": statistics.median(ratios),
        "annotate_share_in_pipeline_calls": sum(inside_s) / sum(annotate_s),
    }


def write_documents(texts: list[str], path: Path) -> Path:
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path


def peak_memory(texts: list[str], model: str | None, folder: Path) -> dict:
    """Run `vaner annotate` on `texts` in a fresh process; its peak resident memory (MiB)."""
    source = write_documents(texts, folder / f"memory-{len(texts)}.txt")
    child = (
        "import json, resource, sys, time; from modeling_vaner.cli import main; t = time.perf_counter(); "
        "code = main(sys.argv[1:]); "
        "print(json.dumps({'code': code, 's': time.perf_counter() - t, "
        "'maxrss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
    )
    arguments = annotate_args(source, folder / "memory.jsonl", model)
    completed = subprocess.run([sys.executable, "-c", child, *arguments], capture_output=True, text=True, check=True)
    measured = json.loads(completed.stdout.strip().splitlines()[-1])
    return {"documents": len(texts), "peak_rss_mib": measured["maxrss_mib"], "seconds": measured["s"]}


def compare_processes(texts: list[str], model: str | None, folder: Path) -> dict:
    """Wall seconds of the whole `vaner annotate` command: 1 process x 2 threads against 2 processes x 1 thread."""
    source = write_documents(texts, folder / "processes.txt")
    arguments = annotate_args(source, folder / "processes.jsonl", model)
    torchrun = [str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc-per-node", "2"]
    runs = {
        "1x2": ([sys.executable, "-m", "modeling_vaner.cli", *arguments], "2"),
        "2x1": ([*torchrun, "-m", "modeling_vaner.cli", *arguments], "1"),
    }
    seconds = {}
    for name, (command, threads) in runs.items():
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, env={**os.environ, "OMP_NUM_THREADS": threads})
        seconds[name] = time.perf_counter() - started
    return {
        "documents": len(texts),
        "seconds": seconds,
        "documents_per_s": {name: len(texts) / value for name, value in seconds.items()},
        "2x1_vs_1x2": seconds["1x2"] / seconds["2x1"],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder (default: the embedded vaner-smol)")
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5, help="alternating speed rounds (default 5)")
    parser.add_argument("--device", help="e.g. cuda (default: CPU)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "annotate.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    import torch

    from modeling_vaner.runtime_vaner import native_bf16, resolve_precision

    result = {
        "torch_threads": torch.get_num_threads(),
        "cpu_bf16": native_bf16(torch.device("cpu")),
        "precision": resolve_precision("auto", torch.device(args.device or "cpu")).name,
        "entity_types": [ENTITY_TYPE],
    }
    texts = sentences(max(args.documents, args.large))
    with tempfile.TemporaryDirectory() as folder:
        result["speed"] = compare_speed(texts[: args.documents], args.model, args.device, Path(folder), args.rounds)
        if args.device is None:
            small = peak_memory(texts[: args.documents], args.model, Path(folder))
            large = peak_memory(texts[: args.large], args.model, Path(folder))
            result["memory"] = {
                "small": small,
                "large": large,
                "large_vs_small": large["peak_rss_mib"] / small["peak_rss_mib"],
            }
            result["processes"] = compare_processes(texts[: args.documents], args.model, Path(folder))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
