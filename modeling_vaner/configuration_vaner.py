"""VANER configuration: a LLaMA configuration with the causal mask off and an O/B/I tagging head.

Self-contained (transformers only) so that it can be copied to a Hub repository as it is.
"""

import transformers
from huggingface_hub.dataclasses import strict
from packaging.specifiers import SpecifierSet
from transformers import LlamaConfig

from .options_vaner import drop_import_noise
from .processing_vaner import IOB2_LABELS

drop_import_noise()  # loaded first by transformers' remote-code route, before the model code imports torchao

# The transformers these Hub files are written and tested for (setup.py reads this line for the package's pin).
TRANSFORMERS_REQUIREMENT = ">=5.23,<6"


def check_transformers_version(version: str = transformers.__version__) -> None:
    """Raises:
        ImportError: `version` is outside TRANSFORMERS_REQUIREMENT; the message says which versions work.
    """
    if not SpecifierSet(TRANSFORMERS_REQUIREMENT).contains(version, prereleases=True):
        raise ImportError(
            f"VANER's model code needs transformers{TRANSFORMERS_REQUIREMENT}, found {version}: "
            f'pip install "transformers{TRANSFORMERS_REQUIREMENT}"'
        )


check_transformers_version()

VANER_ENTITY_TYPES = ("Disease", "Chemical", "Gene", "Species")
DATASET_INSTRUCTION = "If any {entity_type} entity is mentioned in the {dataset} input, extract it. ##input: "
TYPE_ONLY_INSTRUCTION = "If any {entity_type} entity is mentioned in the input, extract it. ##input: "


@strict(accept_kwargs=True)
class VanerConfig(LlamaConfig):
    r"""
    Configuration of a VANER tagger: every [`LlamaConfig`] field, plus

    is_causal (`bool`, defaults to `False`):
        `False` removes the causal mask in every layer (padding stays masked); `True` gives the causal ablation.
    entity_types (`list[str]`):
        The entity types the model was trained on; the pipeline asks for all of them by default.
    corpus_types (`dict[str, str]`, defaults to `{}`):
        Known corpus names (as written in the instruction) and the entity type each annotates; `build_vaner_model`
        fills it from the package's corpus table, and a saved model keeps its own.
    dataset_instruction / type_only_instruction (`str`):
        Instruction templates, with `{entity_type}` (and `{dataset}`) placeholders, prepended to every sentence.
    instruction_dataset_names (`dict[str, str]`, defaults to `{}`):
        The name a corpus goes by inside the instruction where it differs from its `corpus_types` key (a converted
        release writes "BC5CDR-disease" where this package writes "bc5cdr-disease").
    keep_instruction_space (`bool`, defaults to `False`):
        Tokenize the instruction with its trailing space, as the authors' released models were trained; models
        trained here strip it.
    max_window_tokens (`int`, defaults to 256):
        Longest input the pipeline feeds the model; longer text is split into sentences, then overlapping windows.
    classifier_dropout (`float`, defaults to 0.0):
        Dropout before the linear O/B/I head.
    """

    model_type = "vaner"

    is_causal: bool = False
    entity_types: list[str] | None = None
    corpus_types: dict[str, str] | None = None
    dataset_instruction: str = DATASET_INSTRUCTION
    type_only_instruction: str = TYPE_ONLY_INSTRUCTION
    instruction_dataset_names: dict[str, str] | None = None
    keep_instruction_space: bool = False
    max_window_tokens: int = 256
    classifier_dropout: float = 0.0

    def __post_init__(self, **kwargs):
        if self.id2label is None:
            self.id2label = dict(enumerate(IOB2_LABELS))
            self.label2id = {label: index for index, label in self.id2label.items()}
        if self.entity_types is None:
            self.entity_types = list(VANER_ENTITY_TYPES)
        if self.corpus_types is None:
            self.corpus_types = {}
        if self.instruction_dataset_names is None:
            self.instruction_dataset_names = {}
        super().__post_init__(**kwargs)

    def instruction(self, entity_type: str, dataset: str | None = None) -> str:
        """The instruction for one entity type: with the dataset name when given, else the type-only form.

        Raises:
            ValueError: an empty or non-string entity type or dataset name.
        """
        if not isinstance(entity_type, str) or not entity_type.strip():
            raise ValueError(f"entity type must be a non-empty string, got {entity_type!r}")
        if dataset is None:
            return self.type_only_instruction.format(entity_type=entity_type.strip())
        if not isinstance(dataset, str) or not dataset.strip():
            raise ValueError(f"dataset name must be a non-empty string or None, got {dataset!r}")
        dataset = self.instruction_dataset_names.get(dataset.strip(), dataset.strip())
        return self.dataset_instruction.format(entity_type=entity_type.strip(), dataset=dataset)


__all__ = ["VanerConfig"]
