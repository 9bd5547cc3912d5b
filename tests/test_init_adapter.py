"""`init_adapter` of another LoRA rank: fitted to the run's (`adapter.fit_lora_rank`), each layer's update kept."""

import torch

from modeling_vaner.training import ModelArguments, build_model


def lora_updates(model) -> dict:
    """Each LoRA layer's update, scale * B @ A, of shape (out, in)."""
    return {name: module.scaling["default"] * module.lora_B["default"].weight @ module.lora_A["default"].weight
            for name, module in model.named_modules() if hasattr(module, "lora_A") and "default" in module.lora_A}


def test_init_adapter_of_another_rank_keeps_the_update(tiny_backbone, random_adapter, caplog):
    first, folder = random_adapter
    updates = lora_updates(first)
    assert updates
    heads = {name: p for name, p in first.named_parameters() if p.requires_grad and "lora_" not in name}
    # a higher rank, another scale: the same update (float32, to 1e-5), the extra rows of A trainable from LoRA's init
    higher, _ = build_model(ModelArguments(backbone=str(tiny_backbone), lora_r=8, lora_alpha=4,
                                           init_adapter=str(folder)), 64)
    assert "has LoRA rank 4: fitted to this run's rank 8" in caplog.text
    for name, update in lora_updates(higher).items():
        torch.testing.assert_close(update, updates[name], rtol=1e-5, atol=1e-5)
    assert all(torch.equal(p, heads[name]) for name, p in higher.named_parameters() if name in heads)
    # a lower rank: the best rank-2 approximation of each update (float32, to 1e-4)
    lower, _ = build_model(ModelArguments(backbone=str(tiny_backbone), lora_r=2, lora_alpha=4,
                                          init_adapter=str(folder)), 64)
    for name, update in lora_updates(lower).items():
        u, singular, vh = torch.linalg.svd(updates[name], full_matrices=False)
        torch.testing.assert_close(update, (u[:, :2] * singular[:2]) @ vh[:2], rtol=1e-4, atol=1e-4)
        assert torch.linalg.matrix_rank(update) <= 2
