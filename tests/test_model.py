"""The model: bidirectional attention (and the causal ablation), padding invariance, loss, config.

Precision: fp32 throughout (the tiny models are built in fp32 and run without autocast), so the comparisons hold to
1e-5 on every CPU."""

import re

import pytest
import torch

from modeling_vaner.configuration_vaner import VanerConfig
from modeling_vaner.modeling_vaner import VanerForTokenClassification

from conftest import tiny_llama_config


def tiny_model(is_causal=False, attn_implementation="sdpa"):
    torch.manual_seed(0)
    fields = tiny_llama_config(vocab_size=100).to_dict()
    for key in ("model_type", "architectures", "transformers_version", "id2label", "label2id"):
        fields.pop(key, None)
    config = VanerConfig(**fields, is_causal=is_causal)
    config._attn_implementation = attn_implementation
    return VanerForTokenClassification(config).eval()


def first_token_change(model, attention_mask: bool) -> float:
    """How much token 0's logits move when only the LAST token changes."""
    ids = torch.tensor([[5, 17, 42, 8, 23, 61]])
    changed = ids.clone()
    changed[0, -1] = 77
    kwargs = {"attention_mask": torch.ones_like(ids)} if attention_mask else {}
    with torch.no_grad():
        return (model(ids, **kwargs).logits[0, 0] - model(changed, **kwargs).logits[0, 0]).abs().max().item()


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
@pytest.mark.parametrize("attention_mask", [True, False], ids=["with-mask", "batch1-no-mask"])
def test_bidirectional_sees_the_future_and_causal_does_not(attn_implementation, attention_mask):
    assert first_token_change(tiny_model(False, attn_implementation), attention_mask) > 1e-4
    assert first_token_change(tiny_model(True, attn_implementation), attention_mask) == 0.0


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("side", ["left", "right"])
def test_junk_in_pad_slots_does_not_change_real_tokens(attn_implementation, is_causal, side):
    # Mixed lengths in one batch; RoPE is relative, so left padding's shifted positions change nothing either.
    model = tiny_model(is_causal, attn_implementation)
    generator = torch.Generator().manual_seed(1)
    sentences = [torch.randint(2, 100, (n,), generator=generator) for n in (7, 4, 2)]
    width = 9
    ids = torch.randint(2, 100, (len(sentences), width), generator=generator)  # junk in every pad slot
    mask = torch.zeros_like(ids)
    spans = [slice(width - len(s), width) if side == "left" else slice(0, len(s)) for s in sentences]
    for row, (sentence, span) in enumerate(zip(sentences, spans)):
        ids[row, span], mask[row, span] = sentence, 1
    with torch.no_grad():
        batched = model(ids, attention_mask=mask).logits
        for row, (sentence, span) in enumerate(zip(sentences, spans)):
            alone = model(sentence[None], attention_mask=torch.ones(1, len(sentence), dtype=torch.long)).logits[0]
            assert (batched[row, span] - alone).abs().max() < 1e-5


def test_loss_is_cross_entropy_over_labelled_tokens_only():
    model = tiny_model()
    ids = torch.tensor([[5, 17, 42, 8, 23]])
    labels = torch.tensor([[-100, 1, 2, -100, 0]])
    output = model(ids, labels=labels)
    kept = labels[0] != -100
    expected = torch.nn.functional.cross_entropy(output.logits[0][kept], labels[0][kept])
    assert torch.allclose(output.loss, expected)


def test_config_defaults_and_round_trip(tmp_path):
    config = VanerConfig(vocab_size=100, hidden_size=32, num_attention_heads=4, num_hidden_layers=1)
    assert config.model_type == "vaner" and config.is_causal is False
    assert config.id2label == {0: "O", 1: "B", 2: "I"}
    assert config.instruction("Disease", "ncbi").startswith("If any Disease entity is mentioned in the ncbi input")
    assert "dataset" not in config.instruction("Gene") and "##input:" in config.instruction("Gene")
    config.save_pretrained(tmp_path)
    again = VanerConfig.from_pretrained(tmp_path)
    assert again.to_dict() == config.to_dict()
    with pytest.raises(ValueError, match="entity type"):
        config.instruction("  ")
    assert VanerConfig(is_causal=True).is_causal is True


def test_hub_files_check_the_transformers_version():
    from modeling_vaner.configuration_vaner import TRANSFORMERS_REQUIREMENT, check_transformers_version

    check_transformers_version("5.23.0")
    check_transformers_version("5.30.0.dev0")
    for version in ("4.57.1", "6.0.0"):
        with pytest.raises(ImportError, match=re.escape(f'pip install "transformers{TRANSFORMERS_REQUIREMENT}"')):
            check_transformers_version(version)
