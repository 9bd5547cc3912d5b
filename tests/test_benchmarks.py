"""Benchmark scripts run end to end on a tiny model (their numbers come from real runs; see the README)."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dbr_ablation_trains_both_arms_on_the_same_budget(tmp_path, tiny_backbone, corpora_dir):
    ablation = load_script("ablation")
    output = tmp_path / "ablation_dbr.json"
    ablation.main(["dbr", "--backbone", str(tiny_backbone), "--corpora-dir", str(corpora_dir), "--max-steps", "2",
                   "--train-limit", "8", "--test-limit", "4", "--precision", "fp32",
                   "--work-dir", str(tmp_path / "runs"), "--output", str(output)])
    report = json.loads(output.read_text())
    assert list(report["results"]) == ["dbr", "none"]
    assert [arm["dbr_variant"] for arm in report["results"].values()] == ["dbr", "none"]
    assert all(arm["steps"] == 2 and arm["test_sentences"] == 4 for arm in report["results"].values())
    dbr, none = (report["results"][arm]["test_f1"] for arm in ("dbr", "none"))
    assert report["f1_gain_dbr_minus_none"] == dbr - none
