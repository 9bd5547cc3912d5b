"""The real embedded backbone: GGUF conversion, bidirectionality, fresh-process load of a staged folder."""

import json

import torch
from test_export import check_folder_round_trip

from modeling_vaner.backbone import build_vaner_model, embedded_backbone_dir


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
