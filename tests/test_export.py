"""A saved folder is self-contained: a fresh process without this package loads it and gets the same logits."""

import json
import subprocess
import sys
from pathlib import Path

import torch

from modeling_vaner.export import CODE_FILES, save_vaner_folder
from modeling_vaner.pipeline_vaner import VanerTokenClassificationPipeline

FRESH_PROCESS = Path(__file__).with_name("fresh_process.py")
TEXT = "Mutations in BRCA1 cause breast cancer in α-synuclein–positive  patients."


def load_in_fresh_process(folder: Path, input_ids: list[list[int]], tmp_path: Path) -> dict:
    output = tmp_path / "fresh.json"
    completed = subprocess.run(
        [sys.executable, str(FRESH_PROCESS), str(folder), json.dumps(input_ids), str(output), TEXT],
        cwd=tmp_path,  # the repository is not on the path
        capture_output=True,
        text=True,
        env={"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "PATH": "/usr/bin:/bin"},
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(output.read_text())


def check_folder_round_trip(model, tokenizer, folder: Path, tmp_path: Path) -> dict:
    save_vaner_folder(model, tokenizer, folder)
    config = json.loads((folder / "config.json").read_text())
    assert config["auto_map"]["AutoModelForTokenClassification"] == "modeling_vaner.VanerForTokenClassification"
    assert config["custom_pipelines"]["token-classification"]["impl"].startswith("pipeline_vaner.")
    # transformers looks the task up in custom_pipelines before resolving aliases: "ner" must be listed itself
    assert config["custom_pipelines"]["ner"] == config["custom_pipelines"]["token-classification"]
    assert all((folder / name).is_file() for name in CODE_FILES)
    input_ids = [tokenizer(" Mutations in BRCA1 cause breast cancer")["input_ids"]]
    fresh = load_in_fresh_process(folder, input_ids, tmp_path)
    with torch.no_grad():
        expected = model(torch.tensor(input_ids)).logits
    assert torch.allclose(torch.tensor(fresh["logits"]), expected.float(), atol=1e-5)  # fp32 weights, no autocast
    assert fresh["model_class"] == "VanerForTokenClassification"
    assert fresh["pipeline_class"] == "VanerTokenClassificationPipeline"
    local = VanerTokenClassificationPipeline(
        model=model, tokenizer=tokenizer, task="token-classification", precision="fp32"
    )
    expected_entities = local(TEXT, entity_types=["Disease", "Gene"])
    assert [(e["start"], e["end"], e["entity_group"]) for e in fresh["entities"]] == [
        (e["start"], e["end"], e["entity_group"]) for e in expected_entities
    ]
    assert all(TEXT[e["start"] : e["end"]] == e["word"] for e in fresh["entities"])
    assert fresh["constructed_types"] == [e for e in fresh["entities"] if e["entity_group"] == "Disease"]
    assert fresh["streamed"] == [fresh["entities"]] * 2
    assert fresh["ner_pipeline_class"] == fresh["object_pipeline_class"] == "VanerTokenClassificationPipeline"
    assert fresh["ner_entities"] == fresh["object_entities"] == fresh["entities"]
    assert fresh["object_without_class"] == "TokenClassificationPipeline"  # transformers offers no hook: documented
    return fresh


def test_saved_folder_loads_without_the_package(tiny_vaner, tmp_path):
    model, tokenizer = tiny_vaner
    with torch.no_grad():  # a head that is not near-uniform, so that entities appear
        model.score.bias.copy_(torch.tensor([0.0, 0.5, 0.0]))
    fresh = check_folder_round_trip(model, tokenizer, tmp_path / "vaner-tiny", tmp_path)
    assert fresh["is_causal"] is False and fresh["entities"]
