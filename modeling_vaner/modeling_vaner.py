"""VANER model: a LLaMA decoder with the causal mask removed, and a linear O/B/I head on every token.

Self-contained (transformers and torch only) so that it can be copied to a Hub repository as it is.
"""

import torch
from torch import nn
from transformers import LlamaModel, LlamaPreTrainedModel
from transformers.modeling_outputs import TokenClassifierOutput

from .configuration_vaner import VanerConfig


class VanerPreTrainedModel(LlamaPreTrainedModel):
    config_class = VanerConfig
    base_model_prefix = "model"


class VanerModel(VanerPreTrainedModel, LlamaModel):
    """The LLaMA decoder stack; `config.is_causal=False` (the default) lets every token attend to every
    non-padding token.

    transformers builds a bidirectional (padding-only) mask from `config.is_causal`; each attention layer's own
    `is_causal` flag is set too, because without padding the mask is `None` and sdpa then falls back on that flag.
    """

    def __init__(self, config: VanerConfig):
        super().__init__(config)
        for layer in self.layers:
            layer.self_attn.is_causal = config.is_causal


class VanerForTokenClassification(VanerPreTrainedModel):
    """VANER tagger: `logits` of shape (batch, tokens, num_labels), labels O=0, B=1, I=2.

    `labels` (same shape as `input_ids`) uses -100 for tokens without a label (instruction, special tokens,
    padding, non-first sub-tokens); the loss is the mean token cross-entropy over the others.
    """

    def __init__(self, config: VanerConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.model = VanerModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.score = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def get_input_embeddings(self):
        return self.model.embed_tokens

    def set_input_embeddings(self, value):
        self.model.embed_tokens = value

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
        **kwargs,
    ) -> TokenClassifierOutput:
        outputs = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            use_cache=False,
            **kwargs,
        )
        hidden_states = self.dropout(outputs.last_hidden_state)
        logits = self.score(hidden_states.to(self.score.weight.dtype))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(
                logits.float().view(-1, self.num_labels), labels.view(-1).to(logits.device), ignore_index=-100
            )
        return TokenClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


VanerConfig.register_for_auto_class()
VanerModel.register_for_auto_class("AutoModel")
VanerForTokenClassification.register_for_auto_class("AutoModelForTokenClassification")

__all__ = ["VanerPreTrainedModel", "VanerModel", "VanerForTokenClassification"]
