"""The real embedded backbone: GGUF conversion, bidirectionality, fresh-process load of a staged folder."""

import json

import torch
from test_export import check_folder_round_trip

from modeling_vaner.backbone import build_vaner_model, embedded_backbone_dir, publish_folder


def test_embedded_smollm2_end_to_end(smollm2_backbone, tmp_path):
    assert smollm2_backbone == embedded_backbone_dir()
    config = json.loads((smollm2_backbone / "config.json").read_text())
    assert config["model_type"] == "llama" and config["num_hidden_layers"] == 30 and config["hidden_size"] == 576
    torch.manual_seed(0)
    model, tokenizer = build_vaner_model(None)
    model.eval()
    # Word-level input keeps the leading space of every word (ByteLevel add_prefix_space).
    pieces = tokenizer(["in", "BRCA1"], is_split_into_words=True, add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(pieces)[0] == "Ġin"
    ids = tokenizer(" Mutations in BRCA1 cause breast cancer", return_tensors="pt")["input_ids"]
    changed = ids.clone()
    changed[0, -1] = tokenizer(" tumours")["input_ids"][0]
    with torch.no_grad():
        first = model(ids).logits[0, 0]
        assert (first - model(changed).logits[0, 0]).abs().max() > 1e-4  # token 0 sees the last token
    check_folder_round_trip(model, tokenizer, tmp_path / "vaner-smollm2", tmp_path)


def test_a_converted_folder_appears_whole_when_two_processes_convert_at_once(tmp_path):
    """Two conversions at once (two `vaner` commands started together on a fresh machine): the second to finish
    keeps the first's folder instead of failing, and no partial folder is left."""
    target = tmp_path / "backbones" / "model"

    def files(tag):
        def write(folder):
            (folder / "config.json").write_text(tag)
        return write

    def racing(folder):  # the other process finishes while this one writes
        publish_folder(target, False, files("first"))
        files("second")(folder)

    publish_folder(target, False, racing)
    assert (target / "config.json").read_text() == "first"
    publish_folder(target, False, files("third"))  # a whole folder is kept
    assert (target / "config.json").read_text() == "first"
    publish_folder(target, True, files("forced"))  # `vaner` never forces; convert_embedded_backbone(force=True)
    assert (target / "config.json").read_text() == "forced"
    assert [path.name for path in target.parent.iterdir()] == ["model"]
    (target / "config.json").unlink()  # a broken folder (no config.json) is replaced
    publish_folder(target, False, files("fixed"))
    assert (target / "config.json").read_text() == "fixed"
