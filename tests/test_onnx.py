"""`vaner export-onnx` and the pipeline running its files in ONNX Runtime (`onnx_model=`, `--onnx`)."""

import json

import onnx
import pytest
import torch

from modeling_vaner.onnx_export import export_onnx, fp32_nodes
from modeling_vaner.pipeline_vaner import VanerTokenClassificationPipeline

from probability_checks import assert_int8_stays_near, compare_word_probabilities

SENTENCES = [
    "Mutations in BRCA1 and BRCA2 raise the risk of breast and ovarian cancer in women .".split(),
    "Tamoxifen and cisplatin were given to mice infected with Escherichia coli .".split(),
    "Interleukin-2 receptor alpha expression in human T cells requires NF-kappa B .".split(),
    "Patients with Huntington disease showed reduced levels of brain-derived neurotrophic factor .".split(),
]


def pipelines(model, tokenizer, onnx_path):
    """The torch fp32 pipeline and the same model's pipeline on `onnx_path` (fp32 stated: exact comparisons)."""
    common = {"model": model, "tokenizer": tokenizer, "task": "token-classification", "precision": "fp32"}
    return VanerTokenClassificationPipeline(**common), VanerTokenClassificationPipeline(**common, onnx_model=onnx_path)


def probability_differences(reference, other, entity_types) -> torch.Tensor:
    """|p_reference - p_other| over every word of SENTENCES and every type, (words x 3) rows concatenated."""
    return compare_word_probabilities(reference, other, SENTENCES, entity_types)[0]


def test_fp32_file_gives_the_torch_probabilities(tiny_vaner, tmp_path):
    """fp32 export run by ONNX Runtime against the fp32 torch forward: word probabilities within 1e-4, batches of
    several widths with padding (the file's batch and token axes are dynamic)."""
    model, tokenizer = tiny_vaner
    path = export_onnx(model, tmp_path / "tiny.onnx")
    reference, exported = pipelines(model, tokenizer, path)
    differences = probability_differences(reference, exported, ["Disease", "Gene"])
    assert differences.max() <= 1e-4, differences.max()
    text = "BRCA1 mutations cause breast cancer. Mice were treated with tamoxifen for 12 weeks."
    assert [entity["word"] for entity in exported(text)] == [entity["word"] for entity in reference(text)]
    assert json.loads(onnx.load(str(path)).metadata_props[0].value)["hidden_size"] == model.config.hidden_size


def test_int8_file_quantizes_the_linear_layers_but_the_kept_ones(tiny_vaner, tmp_path):
    model, tokenizer = tiny_vaner
    path = export_onnx(model, tmp_path / "tiny-int8.onnx", int8=True)
    graph = onnx.load(str(path)).graph
    kept = {node.name for node in graph.node if node.op_type == "MatMul"}
    layers = model.config.num_hidden_layers
    # per layer: down_proj and the two attention products stay fp32, and the head
    assert len(kept) == 3 * layers + 1 and all("q_proj" not in name for name in kept)
    assert any(node.op_type in ("MatMulInteger", "DynamicQuantizeMatMul") for node in graph.node)
    reference, quantized = pipelines(model, tokenizer, path)
    assert probability_differences(reference, quantized, ["Disease"]).mean() <= 0.01


def test_a_file_from_another_model_or_bad_settings_are_refused(tiny_vaner, tmp_path):
    model, tokenizer = tiny_vaner
    path = export_onnx(model, tmp_path / "tiny.onnx")
    with torch.no_grad():
        model.score.weight.add_(0.01)  # another adapter of the same backbone: same config, another head
    with pytest.raises(ValueError, match="was not exported from this model .they differ in head_sha256."):
        pipelines(model, tokenizer, path)
    model.config.entity_types = ["Disease"]
    with pytest.raises(ValueError, match="differ in entity_types, head_sha256"):
        pipelines(model, tokenizer, path)
    common = {"model": model, "tokenizer": tokenizer, "task": "token-classification", "onnx_model": path}
    for setting in ({"precision": "bf16"}, {"compile": True}):
        with pytest.raises(ValueError, match="an ONNX model runs on the CPU in the precision it was exported in"):
            VanerTokenClassificationPipeline(**common, **setting)
    with pytest.raises(FileNotFoundError, match="no such ONNX file"):
        VanerTokenClassificationPipeline(**{**common, "onnx_model": tmp_path / "missing.onnx"})
    (tmp_path / "not.onnx").write_text("not a model")
    with pytest.raises(ValueError, match="ONNX Runtime cannot load it"):
        VanerTokenClassificationPipeline(**{**common, "onnx_model": tmp_path / "not.onnx"})


def test_fp32_nodes_are_attention_products_down_projections_and_head(tiny_vaner, tmp_path):
    model, _ = tiny_vaner
    path = export_onnx(model, tmp_path / "tiny.onnx")
    names = fp32_nodes(path)
    assert sum("/mlp/down_proj/" in name for name in names) == model.config.num_hidden_layers
    assert sum("/score/" in name for name in names) == 1
    assert sum("/self_attn/MatMul" in name for name in names) == 2 * model.config.num_hidden_layers


def test_int8_file_of_vaner_smol_stays_near_fp32(tmp_path):
    """vaner-smol exported with int8 linear layers, run by ONNX Runtime, against the fp32 torch forward (both
    stated): over every word and type of four sentences, as `assert_int8_stays_near` says (vaner-smol 2 on an AMX
    CPU: mean 0.0021, max 0.179; vaner-smol 3's step 8,000 on an AVX512_BF16 CPU: mean 0.0013, max 0.33); the fp32
    file stays within 1e-4."""
    from modeling_vaner.loading import load_vaner

    model, tokenizer, _ = load_vaner(None, dtype=torch.float32)
    reference, quantized = pipelines(model, tokenizer, export_onnx(model, tmp_path / "int8.onnx", int8=True))
    _, exported = pipelines(model, tokenizer, export_onnx(model, tmp_path / "fp32.onnx"))
    entity_types = list(model.config.entity_types)
    assert probability_differences(reference, exported, entity_types).max() <= 1e-4
    differences, kept, clear = compare_word_probabilities(reference, quantized, SENTENCES, entity_types, margin=0.2)
    assert_int8_stays_near(differences, kept, clear)
