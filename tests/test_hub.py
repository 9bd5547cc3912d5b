"""`vaner stage` / `vaner push`: the staged folders are checked the way the Hub would serve them (fresh-process
`from_pretrained(folder, trust_remote_code=True)`, `pipeline`, `load_dataset(folder, config)`); `push` is
tested through `--dry-run` and its token check, offline. Nothing is mocked and the Hub is never contacted."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from test_export import load_in_fresh_process

from modeling_vaner.cli import main as vaner
from modeling_vaner.export import save_vaner_folder
from modeling_vaner.hub import MANIFEST, stage
from modeling_vaner.hub_card import hub_settings

NAMESPACE = "test-org"
BASE_MODEL = "test-org/tiny-llama"
EVALUATION = {
    "split": "test",
    "instruction": "dataset",
    "limit_per_corpus": 50,
    "corpora": {
        "ncbi": {"precision": 0.8, "recall": 0.7, "f1": 0.746667, "true_positives": 35, "predicted_entities": 44,
                 "gold_entities": 50, "sentences": 50},
        "s800": {"precision": 0.5, "recall": 0.25, "f1": 0.333333, "true_positives": 5, "predicted_entities": 10,
                 "gold_entities": 20, "sentences": 50},
    },
    "overall": {"precision": 0.740741, "recall": 0.571429, "f1": 0.645161, "true_positives": 40,
                "predicted_entities": 54, "gold_entities": 70, "sentences": 100},
    "mean_f1": 0.54,
}
TYPE_ONLY = {**EVALUATION, "instruction": "type-only", "corpora": {
    "ncbi": {**EVALUATION["corpora"]["ncbi"], "f1": 0.7}, "s800": EVALUATION["corpora"]["s800"]}}
GUIDELINE = {**TYPE_ONLY, "gold": "guideline", "corpora": {
    "ncbi": {**EVALUATION["corpora"]["ncbi"], "f1": 0.72}, "s800": EVALUATION["corpora"]["s800"]}}
TRAIN_CONFIG = {"model": {"lora_r": 16, "lora_alpha": 32},
                "data": {"corpora": ["ncbi", "s800"], "type_only_gold": "guideline"},
                "training": {"learning_rate": 0.0002, "num_train_epochs": 3},
                "init_adapter_recipe": {"model": {"lora_r": 16}, "training": {"learning_rate": 0.0003}}}


def front_matter(readme) -> dict:
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


@pytest.fixture
def tiny_model_folder(tiny_vaner, tmp_path):
    """A tiny VANER folder (head biased so that entities appear) holding a run's evaluation files and
    train_config.json, as `vaner train` and `vaner evaluate --output` leave them in its adapter folder."""
    model, tokenizer = tiny_vaner
    with torch.no_grad():
        model.score.bias.copy_(torch.tensor([0.0, 0.5, 0.0]))
    folder = save_vaner_folder(model, tokenizer, tmp_path / "run" / "model")
    (folder / "evaluation.json").write_text(json.dumps(EVALUATION))
    (folder / "evaluation_type_only.json").write_text(json.dumps(TYPE_ONLY))
    (folder / "evaluation_type_only_guideline.json").write_text(json.dumps(GUIDELINE))
    (folder / "train_config.json").write_text(json.dumps(TRAIN_CONFIG))
    return folder


@pytest.fixture
def staged_model(tiny_model_folder, tmp_path):
    out = tmp_path / "hub"
    stage(out, NAMESPACE, model=str(tiny_model_folder), name="vaner-tiny", base_model=BASE_MODEL, parts=("model",))
    return out


def test_staged_model_card_comes_from_the_json(staged_model):
    folder = staged_model / "vaner-tiny"
    metadata = front_matter(folder / "README.md")
    card = (folder / "README.md").read_text()
    assert "link=True" in card and "NCBIGene:672" in card and "U.S. National Library of Medicine" in card
    assert metadata["pipeline_tag"] == "token-classification" and metadata["library_name"] == "transformers"
    assert metadata["base_model"] == BASE_MODEL
    assert metadata["datasets"] == [f"{NAMESPACE}/vaner-corpora", f"{NAMESPACE}/vaner-dbr"]
    assert metadata["license"] == "other"  # a backbone hub.yaml does not list: the card points to its own licence
    assert metadata["language"] == ["en"] and "biomedical" in metadata["tags"]
    (index,) = metadata["model-index"]
    assert index["name"] == "vaner-tiny"
    scores = [(r["dataset"]["config"], {m["type"]: m["value"] for m in r["metrics"]}) for r in index["results"]]
    assert scores == [("ncbi", {"precision": 80.0, "recall": 70.0, "f1": 74.67}),
                      ("s800", {"precision": 50.0, "recall": 25.0, "f1": 33.33}),
                      ("ncbi", {"precision": 80.0, "recall": 70.0, "f1": 70.0}),
                      ("s800", {"precision": 50.0, "recall": 25.0, "f1": 33.33}),
                      ("ncbi", {"precision": 80.0, "recall": 70.0, "f1": 72.0}),
                      ("s800", {"precision": 50.0, "recall": 25.0, "f1": 33.33})]
    assert all(r["dataset"]["type"] == f"{NAMESPACE}/vaner-corpora" for r in index["results"])
    assert index["results"][0]["dataset"]["name"] == "ncbi (Disease, test, 50 sentences, dataset instruction)"
    assert index["results"][2]["dataset"]["name"] == "ncbi (Disease, test, 50 sentences, type-only instruction)"
    assert index["results"][4]["dataset"]["name"] == (
        "ncbi (Disease, test, 50 sentences, type-only instruction, guideline gold)")
    card = (folder / "README.md").read_text()
    assert "| ncbi | Disease | 50 | 80.00 | 70.00 | **74.67** | 88.03 | -13.36 |" in card
    assert "| ncbi | Disease | 50 | 80.00 | 70.00 | **70.00** | 88.03 | -18.03 |" in card
    # against the guideline's gold the paper's F1 (other labels) is left out
    assert "| ncbi | Disease | 50 | 80.00 | 70.00 | **72.00** | - | - |" in card
    assert card.count("against each corpus's own gold") == 2 and card.count("which the paper\ndid not score") == 1
    assert ("from `evaluation.json`, `evaluation_type_only.json`, `evaluation_type_only_guideline.json` in this "
            "repository") in card
    assert "This model's types: Disease, Chemical, Gene, Species, CellLine;" in card  # the model's config
    assert card.index("**dataset** instruction") < card.index("**type-only** instruction")
    assert "| `learning_rate` | 0.0002 |" in card and "untrained head" not in card
    assert "| `type_only_gold` | guideline |" in card
    assert 'as Species); gold written under another guideline scores it lower.\n- Scores are measured' in card
    assert card.index("Stage 1:") < card.index("| `learning_rate` | 0.0003 |") < card.index("Stage 2:")
    assert f'model="{NAMESPACE}/vaner-tiny"' in card
    assert "see the base model's card" in card and "NCBI-disease `cc0-1.0`" in card and "s800 `other`" in card
    chart = hub_settings()["model"]["chart"]
    assert f"]({chart})" in card and (folder / chart).read_bytes().startswith(b"\x89PNG")
    assert json.loads((folder / "evaluation.json").read_text()) == EVALUATION
    assert json.loads((folder / "evaluation_type_only.json").read_text()) == TYPE_ONLY
    assert json.loads((folder / "evaluation_type_only_guideline.json").read_text()) == GUIDELINE
    manifest = json.loads((staged_model / MANIFEST).read_text())
    assert manifest == {"namespace": NAMESPACE, "repos": {"model": {
        "repo_id": f"{NAMESPACE}/vaner-tiny", "repo_type": "model", "folder": "vaner-tiny", "trained": True}}}


def test_staged_model_loads_in_a_fresh_process_in_bf16(staged_model, tiny_model_folder, tmp_path):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    folder = staged_model / "vaner-tiny"
    config = json.loads((folder / "config.json").read_text())
    assert config["dtype"] == "bfloat16" and "auto_map" in config and "custom_pipelines" in config
    tokenizer = AutoTokenizer.from_pretrained(folder)
    input_ids = [tokenizer(" Mutations in BRCA1 cause breast cancer")["input_ids"]]
    fresh = load_in_fresh_process(folder, input_ids, tmp_path)
    bf16 = AutoModelForTokenClassification.from_pretrained(tiny_model_folder, trust_remote_code=True)
    with torch.no_grad():
        expected = bf16.to(torch.bfloat16).eval()(torch.tensor(input_ids)).logits.float()
    assert torch.allclose(torch.tensor(fresh["logits"]), expected, atol=1e-2)
    assert fresh["pipeline_class"] == "VanerTokenClassificationPipeline" and fresh["entities"]


def test_model_card_usage_snippets_run_without_the_package(staged_model, tmp_path):
    """Every python block of the card, with the repository id pointing at the staged folder."""
    folder = staged_model / "vaner-tiny"
    card = (folder / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", card, flags=re.S)
    assert len(blocks) == 3  # the pipeline, a model object with pipeline_class=, the model alone
    script = "import sys\nsys.modules['modeling_vaner'] = None\n" + "\n".join(blocks)
    script = script.replace(f"{NAMESPACE}/vaner-tiny", str(folder))
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "PATH": "/usr/bin:/bin"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert re.search(r"^(Disease|Gene|Chemical) ", completed.stdout, flags=re.M)


def test_stage_argument_errors(tmp_path, tiny_model_folder):
    with pytest.raises(ValueError, match="base-model"):
        stage(tmp_path, NAMESPACE, model=str(tiny_model_folder), parts=("model",))
    with pytest.raises(ValueError, match="namespace"):
        stage(tmp_path, "a/b", model=str(tiny_model_folder), base_model=BASE_MODEL, parts=("model",))


def test_staged_datasets_load_with_load_dataset(tiny_corpora_dir, tmp_path):
    from datasets import load_dataset

    out = tmp_path / "hub"
    manifest = stage(out, NAMESPACE, corpora=["ncbi"], corpora_dir=tiny_corpora_dir, dbr_variant="none", dbr_limit=5,
                     parts=("corpora", "dbr"))
    cache = str(tmp_path / "hf-cache")  # the datasets cache keys local folders by name: one per run
    assert {kind: repo["repo_type"] for kind, repo in manifest["repos"].items()} == {"corpora": "dataset",
                                                                                      "dbr": "dataset"}
    corpora = load_dataset(str(out / "vaner-corpora"), "ncbi", cache_dir=cache)
    assert set(corpora) == {"train", "validation", "test"} and corpora["test"][0]["entity_type"] == "Disease"
    assert f"{NAMESPACE}/vaner-corpora" in (out / "vaner-corpora" / "README.md").read_text()
    assert "org/vaner-corpora" not in (out / "vaner-corpora" / "README.md").read_text().replace(NAMESPACE, "")
    dbr = load_dataset(str(out / "vaner-dbr"), "ncbi", split="train", cache_dir=cache)
    assert len(dbr) == 5 and set(dbr["source"]) == {"corpus"}
    assert f"{NAMESPACE}/vaner-dbr" in (out / "vaner-dbr" / "README.md").read_text()


def test_staged_space(tmp_path):
    out = tmp_path / "hub"
    stage(out, NAMESPACE, parts=("space",))
    folder = out / "vaner-demo"
    settings = hub_settings()["space"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*settings["files"], "README.md", "screenshot.png", settings["model_file"]]
    )
    metadata = front_matter(folder / "README.md")
    assert metadata["sdk"] == "gradio" and metadata["app_file"] == "app.py"
    assert metadata["models"] == [f"{NAMESPACE}/vaner-smol"]
    import gradio

    assert metadata["sdk_version"] == gradio.__version__  # the Space runs the gradio the app is tested with
    assert json.loads((folder / settings["model_file"]).read_text()) == {"model": f"{NAMESPACE}/vaner-smol"}
    assert "](screenshot.png)" in (folder / "README.md").read_text()


def test_push_dry_run_lists_files_and_sizes(staged_model, capsys):
    assert vaner(["push", "--namespace", NAMESPACE, "--staged", str(staged_model), "--dry-run", "--private"]) == 0
    listing = capsys.readouterr().out
    assert re.search(rf"^model {NAMESPACE}/vaner-tiny \(private\): \d+ files, [\d.]+ [kM]B$", listing, flags=re.M)
    for name in ("README.md", "config.json", "model.safetensors", "modeling_vaner.py", "tokenizer.json"):
        assert re.search(rf"^ +[\d.]+ [kM]?B  {re.escape(name)}$", listing, flags=re.M), name


def test_push_without_token_fails_clearly_offline(staged_model, tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))  # no `hf auth login` token either
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert vaner(["push", "--namespace", NAMESPACE, "--staged", str(staged_model)]) == 2
    assert "no Hugging Face token: set HF_TOKEN or run `hf auth login`" in capsys.readouterr().err
    assert vaner(["push", "--namespace", "other-org", "--staged", str(staged_model)]) == 2
    assert "staged for namespace 'test-org'" in capsys.readouterr().err
    manifest = json.loads((staged_model / MANIFEST).read_text())
    manifest["repos"]["model"]["trained"] = False
    (staged_model / MANIFEST).write_text(json.dumps(manifest))
    assert vaner(["push", "--namespace", NAMESPACE, "--staged", str(staged_model)]) == 2
    assert "untrained head" in capsys.readouterr().err


@pytest.mark.slow
def test_embedded_vaner_smol_stages_to_a_bf16_folder(smollm2_backbone, tmp_path):
    """The real model (untrained head until the adapter lands): about 270 MB, and the fresh-process logits are the
    in-process bf16 model's."""
    from transformers import AutoModelForTokenClassification

    from modeling_vaner.loading import load_vaner

    out = tmp_path / "hub"
    torch.manual_seed(0)  # an untrained head is drawn at random: the same one for the stage and the reference
    manifest = stage(out, NAMESPACE, allow_untrained=True, parts=("model",))
    folder = out / manifest["repos"]["model"]["folder"]
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    assert 200e6 < size < 330e6, size
    torch.manual_seed(0)
    model, tokenizer, trained = load_vaner(None)
    assert manifest["repos"]["model"]["trained"] is trained
    input_ids = torch.tensor([tokenizer(" Mutations in BRCA1 cause breast cancer")["input_ids"]])
    fresh = torch.tensor(load_in_fresh_process(folder, input_ids.tolist(), tmp_path)["logits"])
    with torch.no_grad():
        staged = AutoModelForTokenClassification.from_pretrained(folder, trust_remote_code=True).eval()
        assert staged.dtype == torch.bfloat16
        assert torch.allclose(fresh, staged(input_ids).logits.float(), atol=1e-5)  # what users load, exactly
        # the merged model cast in memory: bf16 rounding over 30 layers (and bf16 rotary buffers) only
        cast = model.to(torch.bfloat16).eval()(input_ids).logits.float()
    assert torch.allclose(fresh, cast, atol=0.2) and torch.equal(fresh.argmax(-1), cast.argmax(-1))


def test_stage_from_a_built_wheel(tiny_model_folder, tmp_path):
    """The wheel carries the card templates and the Space: staging works outside the source tree."""
    import zipfile

    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "wheel"), str(root)], check=True, cwd=tmp_path, timeout=300)
    (wheel,) = (tmp_path / "wheel").glob("vaner-*.whl")
    assert "modeling_vaner/training/rehearsal.jsonl" in zipfile.ZipFile(wheel).namelist()  # fine-tunes without corpora
    installed = tmp_path / "installed"
    zipfile.ZipFile(wheel).extractall(installed)
    out = tmp_path / "hub"
    script = (
        "import sys, modeling_vaner\n"
        f"assert modeling_vaner.__file__.startswith({str(installed)!r}), modeling_vaner.__file__\n"
        "from modeling_vaner.cli import main\n"
        f"sys.exit(main(['stage', '--out', {str(out)!r}, '--namespace', {NAMESPACE!r}, '--model', "
        f"{str(tiny_model_folder)!r}, '--name', 'vaner-tiny', '--base-model', {BASE_MODEL!r}, '--skip-datasets'"
        "]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(installed)}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Stage 1:" in (out / "vaner-tiny" / "README.md").read_text()
    assert (out / "vaner-demo" / "screenshot.png").is_file() and (out / "vaner-demo" / "app.py").is_file()
