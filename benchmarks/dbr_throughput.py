"""DBR building throughput (sentences/s) on NCBI-disease train: mining + retrieval + assembly, shard cache off.

The knowledge base and the retrieval index are loaded from (or built into) the cache first and timed separately.

    .venv/bin/python benchmarks/dbr_throughput.py --corpora-dir ../shared/corpora [--limit N] [--repeats 3]

Writes benchmarks/results/dbr_throughput.json and prints a table.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    from dataset_scripts.corpora import default_corpora_dir

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora-dir", default=default_corpora_dir(),
                        help="default: $VANER_CORPORA_DIR, else ../shared/corpora")
    parser.add_argument("--corpus", default="ncbi")
    parser.add_argument("--variant", default="dbr", choices=("dbr", "random"))
    parser.add_argument("--encoder", default="tfidf")
    parser.add_argument("--limit", type=int, help="first N sentences only")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache-dir", help="KB/index cache (default: $VANER_CACHE/dbr or ~/.cache/vaner/dbr)")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "dbr_throughput.json"))
    args = parser.parse_args(argv)

    from modeling_vaner.dbr.mixture import corpus_records, load_builder

    start = time.perf_counter()
    builder = load_builder(corpora_dir=args.corpora_dir, encoder=args.encoder, cache_dir=args.cache_dir, progress=False)
    setup_seconds = time.perf_counter() - start
    sentences = corpus_records(args.corpus, "train", args.corpora_dir, args.limit)
    timings, built = [], 0
    for repeat in range(args.repeats):
        start = time.perf_counter()
        built = len(builder.build(sentences, f"{args.corpus}-train", args.variant, seed=repeat, use_cache=False,
                                  progress=False))
        timings.append(time.perf_counter() - start)
    best, median = min(timings), statistics.median(timings)
    result = {
        "corpus": args.corpus, "split": "train", "variant": args.variant, "encoder": args.encoder,
        "sentences": len(sentences), "dense_sentences": built, "kb_names": len(builder.kb),
        "index": type(builder.retriever.index).__name__, "setup_seconds_kb_and_index": round(setup_seconds, 2),
        "seconds": [round(t, 3) for t in timings], "sentences_per_second_best": round(len(sentences) / best, 1),
        "sentences_per_second_median": round(len(sentences) / median, 1),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "note": "2 shared CPU cores; other jobs may run concurrently. Shard cache off; KB and index cached.",
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print("| corpus | sentences | dense | KB names | index | best s | sent/s (best) | sent/s (median) |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {args.corpus} train | {len(sentences)} | {built} | {len(builder.kb)} | {result['index']} | {best:.2f} | "
          f"{result['sentences_per_second_best']} | {result['sentences_per_second_median']} |")
    print(f"(KB + index load/build: {setup_seconds:.1f} s; written to {args.output})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
