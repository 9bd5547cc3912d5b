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
    """VANER tagger: a linear O/B/I head (labels O=0, B=1, I=2) on every token of the unmasked backbone.

    The per-type form (`config.one_pass=False`, the paper's) has one head; the instruction names the type. The
    one-pass form (`config.one_pass=True`, VANER2's) has one head per `config.entity_types` entry, in that order,
    so that one forward tags every type.
    """

    def __init__(self, config: VanerConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.model = VanerModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        # one-pass: the heads side by side in one linear layer, output feature `type * num_labels + label`
        self.score = nn.Linear(config.hidden_size, config.num_tagging_heads * config.num_labels)
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
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch, tokens)`): The instruction's and the words' token ids.
            attention_mask (`torch.Tensor` of shape `(batch, tokens)`, *optional*): 1 on tokens, 0 on padding.
            position_ids, inputs_embeds: as [`LlamaModel`]'s.
            labels (`torch.LongTensor`, *optional*): Of shape `(batch, tokens)` for the per-type form, `(batch,
                tokens, types)` for the one-pass form; -100 where a token has no label (instruction, special tokens,
                padding, non-first sub-tokens) and, one-pass, where the row's corpus does not annotate the type.

        Returns:
            [`TokenClassifierOutput`]: `logits` of shape `(batch, tokens, num_labels)` (per-type) or `(batch, tokens,
            types, num_labels)` (one-pass); with `labels`, `loss`: the mean cross-entropy over the labelled entries.
        """
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
        if self.config.one_pass:
            logits = logits.unflatten(-1, (self.config.num_tagging_heads, self.num_labels))
        loss = None
        if labels is not None:  # one code path: the type axis, where there is one, flattens with the tokens
            loss = nn.functional.cross_entropy(
                logits.float().reshape(-1, self.num_labels), labels.reshape(-1).to(logits.device), ignore_index=-100
            )
        return TokenClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


VanerConfig.register_for_auto_class()
VanerModel.register_for_auto_class("AutoModel")
VanerForTokenClassification.register_for_auto_class("AutoModelForTokenClassification")

__all__ = ["VanerPreTrainedModel", "VanerModel", "VanerForTokenClassification"]
