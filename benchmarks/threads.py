"""`vaner annotate` beside another CPU-bound process, in ONE run: how its threads setting holds up under load.

Users run taggers beside other work. On 2 cores, torch's default of one intra-op thread per core spins against a
competing process (measured 2026-12-05: a `vaner evaluate` of 46 s took 628 s beside one). This runs the same
`vaner annotate` (BC2GM training sentences as one-line documents, one entity type, the embedded model, precision
"auto"; start-up and model loading included) alone and beside one busy process (a pure-Python loop, one core),
for each setting:
- `default`: what `vaner` does when the user sets nothing;
- `threads-1`, `threads-2`: `--threads 1` / `--threads 2`;
- `threads-2-active`: 2 threads with OpenMP's active wait (`OMP_WAIT_POLICY=ACTIVE`: threads spin between
  parallel regions; torch's behaviour before `vaner` chose its default);
- `threads-2-passive`: 2 threads with OpenMP's passive wait (`OMP_WAIT_POLICY=PASSIVE`: idle threads sleep).
Each setting's ratio is its time beside the busy process over the `default` time alone (target: the default at
most 2.5x). Settings are run in alternating order (alone, busy, alone, busy...) so that a slow spell of the shared
machine hits all.

Usage: python benchmarks/threads.py [--documents 200] [--settings default threads-1 ...]
    [--out benchmarks/results/threads.json]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENTITY_TYPE = "Gene"
# setting: (extra `vaner annotate` arguments, environment overrides)
SETTINGS = {
    "default": ([], {}),
    "threads-1": (["--threads", "1"], {}),
    "threads-2": (["--threads", "2"], {}),
    "threads-2-active": (["--threads", "2"], {"OMP_WAIT_POLICY": "ACTIVE"}),
    "threads-2-passive": (["--threads", "2"], {"OMP_WAIT_POLICY": "PASSIVE"}),
}
BUSY_LOOP = "import time\nend = time.time() + 3600\nwhile time.time() < end:\n    pass\n"


def write_documents(count: int, path: Path) -> Path:
    """The first `count` BC2GM training sentences, one document per line."""
    from dataset_scripts.corpora import default_corpora_dir, read_corpus

    rows = read_corpus("bc2gm", "train", default_corpora_dir())[:count]
    path.write_text("".join(" ".join(row["tokens"]) + "\n" for row in rows), encoding="utf-8")
    return path


def run_annotate(source: Path, output: Path, setting: str) -> float:
    """Wall seconds of one `vaner annotate` run with `setting`, in a fresh process."""
    arguments, overrides = SETTINGS[setting]
    environment = {key: value for key, value in os.environ.items() if key not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    command = [sys.executable, "-m", "modeling_vaner.cli", "annotate", str(source), str(output),
               "--types", ENTITY_TYPE, "--overwrite", *arguments]
    started = time.perf_counter()
    subprocess.run(command, env={**environment, **overrides}, check=True, capture_output=True, cwd=REPO)
    return time.perf_counter() - started


def measure(source: Path, folder: Path, settings: list[str]) -> dict:
    """Seconds per setting alone and beside one busy process, alternating."""
    seconds = {}
    for setting in settings:
        alone = run_annotate(source, folder / "alone.jsonl", setting)
        busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
        try:
            time.sleep(1)  # the competitor is running before the tagger starts
            beside = run_annotate(source, folder / "busy.jsonl", setting)
        finally:
            busy.kill()
            busy.wait()
        seconds[setting] = {"alone_s": round(alone, 1), "beside_busy_s": round(beside, 1)}
        print(f"{setting:18} alone {alone:7.1f} s   beside a busy process {beside:7.1f} s", flush=True)
    return seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "threads.json")
    args = parser.parse_args(argv)
    if args.settings[0] != "default":
        parser.error("--settings must start with default, the reference")
    sys.path.insert(0, str(REPO))
    from modeling_vaner.runtime_vaner import cpu_bf16_kind

    with tempfile.TemporaryDirectory() as folder:
        source = write_documents(args.documents, Path(folder) / "documents.txt")
        seconds = measure(source, Path(folder), args.settings)
    reference = seconds["default"]["alone_s"]
    for row in seconds.values():
        row["beside_busy_vs_default_alone"] = round(row["beside_busy_s"] / reference, 2)
    result = {
        "documents": args.documents,
        "entity_types": [ENTITY_TYPE],
        "cores": os.cpu_count(),
        "cpu_bf16_kind": cpu_bf16_kind(),
        "settings": seconds,
        "target": "default beside one busy process <= 2.5x default alone",
        "target_met": seconds["default"]["beside_busy_vs_default_alone"] <= 2.5,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
