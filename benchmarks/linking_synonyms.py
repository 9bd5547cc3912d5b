"""The synonym lookup of the linker (lookup 5 of `modeling_vaner/linking/linker.py`), its settings chosen on dev:

(a) BioSyn's NCBI-disease and BC5CDR-disease dev mentions, accuracy@1, for each minimum number of name pairs that
    make two words synonyms (`dictionaries.SYNONYM_MIN_PAIRS`) and each score under which the lookup runs and which
    its hits take (`linker.SUBSTITUTION_SCORE`), and without the lookup;
(b) every dev task of `vaner evaluate-linking` with the lookup for every type against the package's choice
    (`dictionaries.SYNONYM_TYPES`): which types it helps. Each setting builds its dictionaries into a cache of its own.

Dev splits only (GNormPlus: its train split, as `vaner evaluate-linking` does); never a test split.

Usage: python benchmarks/linking_synonyms.py [--kb-dir DIR] [--linking-dir DIR] [--skip-types] [--out FILE.json]
(default output: benchmarks/results/linking_synonyms_dev.json; directories as `vaner evaluate-linking` reads them)
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MIN_PAIRS = (1, 2, 3, 4)
SCORES = (0.8, 0.85, 0.9, 0.95)
ALL_TYPES = ("Disease", "Chemical", "Gene", "Species")


def with_settings(min_pairs: int | None = None, score: float | None = None, types: tuple[str, ...] | None = None):
    """Set the lookup's module constants (None: keep the package's); returns the previous values."""
    from modeling_vaner.linking import dictionaries, linker

    previous = (dictionaries.SYNONYM_MIN_PAIRS, linker.SUBSTITUTION_SCORE, dictionaries.SYNONYM_TYPES)
    if min_pairs is not None:
        dictionaries.SYNONYM_MIN_PAIRS = min_pairs
    if score is not None:
        linker.SUBSTITUTION_SCORE = score
    if types is not None:
        dictionaries.SYNONYM_TYPES = types
    return previous


def biosyn_sweep(data_dir: Path, cache_dir: Path) -> dict:
    """(a): accuracy@1 per (min pairs, score) on both BioSyn disease dev tasks; "off": no synonym lookup."""
    from modeling_vaner.linking.evaluation import evaluate_biosyn

    def both() -> dict:
        return {task: evaluate_biosyn(task, "dev", data_dir, cache_dir, ks=(1,))["accuracy@1"]
                for task in ("biosyn-ncbi-disease", "biosyn-bc5cdr-disease")}

    default = with_settings()
    results = {}
    try:
        with_settings(types=())
        results["off"] = both()
        with_settings(types=default[2])
        for min_pairs in MIN_PAIRS:
            for score in SCORES:
                with_settings(min_pairs, score)
                results[f"min_pairs={min_pairs} score={score}"] = both()
                print(min_pairs, score, results[f"min_pairs={min_pairs} score={score}"], flush=True)
    finally:
        with_settings(*default)
    return results


def types_sweep(kb_dir, linking_dir, folder: Path) -> dict:
    """(b): accuracy@1 of every dev task with the lookup on every type, and with the package's types."""
    from modeling_vaner.linking.dictionaries import SYNONYM_TYPES
    from modeling_vaner.linking.evaluation import evaluate_linking

    results = {}
    for name, types in (("all types", ALL_TYPES), (f"package ({', '.join(SYNONYM_TYPES)})", SYNONYM_TYPES),
                        ("none", ())):
        default = with_settings(types=types)
        try:
            evaluated = evaluate_linking("dev", kb_dir=kb_dir, linking_dir=linking_dir, ks=(1,),
                                         cache_dir=folder / name.split()[0])
        finally:
            with_settings(*default)
        results[name] = {task: result["accuracy@1"] for task, result in evaluated["tasks"].items()}
        print(name, results[name], flush=True)
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kb-dir", default=None)
    parser.add_argument("--linking-dir", default=None)
    parser.add_argument("--skip-types", action="store_true", help="leave out (b), the per-type comparison")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "linking_synonyms_dev.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from modeling_vaner.linking.sources import resolve_linking_paths

    paths = resolve_linking_paths(args.kb_dir, args.linking_dir)
    if paths.data_dir is None:
        parser.error("no linking data directory: pass --linking-dir or set VANER_LINKING_DIR")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        results = {"split": "dev", "biosyn_accuracy@1": biosyn_sweep(paths.data_dir, folder / "biosyn")}
        if not args.skip_types:
            results["accuracy@1_by_types"] = types_sweep(args.kb_dir, args.linking_dir, folder)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
