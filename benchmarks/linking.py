"""The concept linker's cost, measured in ONE run (`modeling_vaner.linking`):

(a) building: each type's dictionary and index built from the sources into an empty cache, in a fresh process
    (seconds, peak resident memory, size of what the cache keeps);
(b) start-up from the cache: a fresh process loading every type's dictionary and index and linking one mention
    (seconds, and resident memory added over the process before it);
(c) `vaner annotate` on the 1,000 documents of benchmarks/annotate.py (BC2GM training sentences, one per document)
    with and without `--link`, in alternating rounds, each a fresh process (wall time of the whole command, start-up
    and model loading included; peak resident memory): documents/s with `--link` over documents/s without (target:
    at least 0.5) and the peak memory `--link` adds.

Dictionaries: the shipped bundle, plus `--kb-dir` (default $VANER_KB_DIR, else <corpora>/kb) and `--linking-dir`
(default $VANER_LINKING_DIR, else ../linking_data beside the repository); `--bundle-only`: the bundle alone, what a
fresh install links with (run it with those variables unset).

Usage: python benchmarks/linking.py [--bundle-only] [--types Gene] [--documents 1000] [--rounds 2] [--out FILE.json]
(default output: benchmarks/results/linking_speed.json)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TYPES = ("Disease", "Chemical", "Gene", "Species")
PROBES = {"Disease": "breast cancer", "Chemical": "tamoxifen", "Gene": "BRCA1", "Species": "mice"}

# A child process: link one mention of each given type, report seconds, peak and added resident memory.
LINK_CHILD = """
import json, resource, sys, time
def rss_mib():
    with open('/proc/self/statm') as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20
import sklearn, numpy, scipy.sparse  # what the linker imports, loaded before the baseline
from modeling_vaner.linking import Linker
kb, data, types, probes, cache = sys.argv[1], sys.argv[2], sys.argv[3].split(','), json.loads(sys.argv[4]), sys.argv[5]
bundle = sys.argv[6] if len(sys.argv) > 6 else ''
before = rss_mib()
linker = Linker(kb_dir=kb or None, linking_dir=data or None, cache_dir=cache or None, bundle_dir=bundle or None)
per_type = {}
for entity_type in types:
    start = time.perf_counter()
    result = linker.link([probes[entity_type]], entity_type)
    per_type[entity_type] = {'seconds': time.perf_counter() - start, 'result': result[0]}
print(json.dumps({'per_type': per_type, 'rss_added_mib': rss_mib() - before,
                  'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
# A child process: `vaner annotate ARGS`, report its seconds and peak resident memory.
ANNOTATE_CHILD = """
import json, resource, sys, time
from modeling_vaner.cli import main
start = time.perf_counter()
code = main(sys.argv[1:])
print(json.dumps({'code': code, 'seconds': time.perf_counter() - start,
                  'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_child(code: str, arguments: list[str]) -> dict:
    completed = subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True, text=True, cwd=REPO)
    if completed.returncode != 0:
        raise RuntimeError(f"child process failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def directory_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def measure_build(kb: str, data: str, folder: Path, bundle: str = "") -> dict:
    """(a): each type into an empty cache of its own (`bundle`: a linking bundle other than the package's)."""
    results = {}
    for entity_type in TYPES:
        cache = folder / f"cache-{entity_type}"
        measured = run_child(LINK_CHILD, [kb, data, entity_type, json.dumps(PROBES), str(cache), bundle])
        results[entity_type] = {"seconds": round(measured["per_type"][entity_type]["seconds"], 1),
                                "peak_rss_mib": round(measured["peak_rss_mib"]),
                                "cache_mib": round(directory_mib(cache), 1),
                                "probe": [PROBES[entity_type], measured["per_type"][entity_type]["result"]]}
    return results


def measure_startup(kb: str, data: str) -> dict:
    """(b): every type from the package's cache (`linking_cache_dir()`, which `vaner annotate --link` reads),
    warmed first."""
    run_child(LINK_CHILD, [kb, data, ",".join(TYPES), json.dumps(PROBES), ""])
    measured = run_child(LINK_CHILD, [kb, data, ",".join(TYPES), json.dumps(PROBES), ""])
    return {"seconds_per_type": {t: round(v["seconds"], 2) for t, v in measured["per_type"].items()},
            "seconds": round(sum(v["seconds"] for v in measured["per_type"].values()), 2),
            "rss_added_mib": round(measured["rss_added_mib"]), "peak_rss_mib": round(measured["peak_rss_mib"])}


def measure_annotate(texts: list[str], types: list[str], kb: str, data: str, folder: Path, rounds: int,
                     model: str | None) -> dict:
    """(c): alternating rounds of `vaner annotate` without and with `--link`, each a fresh process."""
    source = folder / "documents.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    base = ["annotate", str(source), str(folder / "out.pubtator"), "--types", *types, "--overwrite"]
    base += ["--model", model] if model else []
    link = ["--link"] + (["--kb-dir", kb, "--linking-dir", data] if kb else [])
    runs = {"plain": [], "link": []}
    for _ in range(rounds):
        for name, extra in (("plain", []), ("link", link)):
            measured = run_child(ANNOTATE_CHILD, base + extra)
            if measured["code"] != 0:
                raise RuntimeError(f"vaner annotate {name} exited {measured['code']}")
            runs[name].append(measured)
    per_s = {name: [len(texts) / m["seconds"] for m in measured] for name, measured in runs.items()}
    peak = {name: max(m["peak_rss_mib"] for m in measured) for name, measured in runs.items()}
    ratios = [with_link / plain for plain, with_link in zip(per_s["plain"], per_s["link"])]
    return {"documents": len(texts), "types": types, "rounds": rounds,
            "documents_per_s": {name: [round(v, 2) for v in values] for name, values in per_s.items()},
            "link_vs_plain_per_round": [round(r, 3) for r in ratios],
            "link_vs_plain": round(statistics.median(ratios), 3),
            "peak_rss_mib": {name: round(value) for name, value in peak.items()},
            "link_adds_peak_rss_mib": round(peak["link"] - peak["plain"])}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kb-dir", default=None)
    parser.add_argument("--linking-dir", default=None)
    parser.add_argument("--bundle-only", action="store_true",
                        help="link with the shipped bundle alone (no --kb-dir/--linking-dir): a fresh install")
    parser.add_argument("--types", nargs="+", default=["Gene"])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default=None)
    parser.add_argument("--skip-build", action="store_true", help="leave out (a), the builds from empty caches")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "linking_speed.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from benchmarks.annotate import sentences
    from dataset_scripts.corpora import default_corpora_dir

    if args.bundle_only:
        if args.kb_dir or args.linking_dir or any(os.environ.get(v) for v in ("VANER_KB_DIR", "VANER_LINKING_DIR")):
            parser.error("--bundle-only: give no --kb-dir/--linking-dir and unset VANER_KB_DIR/VANER_LINKING_DIR")
        kb = data = ""
    else:
        kb = args.kb_dir or os.environ.get("VANER_KB_DIR") or str(default_corpora_dir() / "kb")
        data = args.linking_dir or os.environ.get("VANER_LINKING_DIR") or str(REPO.parent / "linking_data")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        results = {"threads": os.environ.get("OMP_NUM_THREADS"), "kb_dir": kb, "linking_dir": data}
        if not args.skip_build:
            results["build"] = measure_build(kb, data, folder)
        results["startup"] = measure_startup(kb, data)
        results["annotate"] = measure_annotate(sentences(args.documents), args.types, kb, data, folder, args.rounds,
                                               args.model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
