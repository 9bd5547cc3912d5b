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

# CellLine: issue 33 (BioID, CLL and GENIA's cell lines). GENIA's CellType is a corpus-table row only: on dev it
# learnt to 58.75 F1 and cost CellLine 4-10 points (docs/RESULTS.md, "CellType").
VANER_ENTITY_TYPES = ("Disease", "Chemical", "Gene", "Species", "CellLine")
DATASET_INSTRUCTION = "If any {entity_type} entity is mentioned in the {dataset} input, extract it. ##input: "
TYPE_ONLY_INSTRUCTION = "If any {entity_type} entity is mentioned in the input, extract it. ##input: "
# A one-pass model's instructions name no type: every type has its own head, all read from one forward.
ONE_PASS_DATASET_INSTRUCTION = "Extract every biomedical entity mentioned in the {dataset} input. ##input: "
ONE_PASS_TYPE_ONLY_INSTRUCTION = "Extract every biomedical entity mentioned in the input. ##input: "


@strict(accept_kwargs=True)
class VanerConfig(LlamaConfig):
    r"""
    Configuration of a VANER tagger: every [`LlamaConfig`] field, plus

    is_causal (`bool`, defaults to `False`):
        `False` removes the causal mask in every layer (padding stays masked); `True` gives the causal ablation.
    entity_types (`list[str]`):
        The entity types the model was trained on; the pipeline asks for all of them by default. A one-pass model
        has one head per type, in this order.
    one_pass (`bool`, defaults to `False`):
        `False` (the paper's per-type form): one O/B/I head, the instruction names the type, one forward per type.
        `True` (VANER2's form): one O/B/I head per entity type, the instruction names the dataset or nothing, one
        forward tags every type; `logits` gain a type axis (see `VanerForTokenClassification`).
    corpus_types (`dict[str, str]`, defaults to `{}`):
        Known corpus names (as written in the instruction) and the entity type each annotates; `build_vaner_model`
        fills it from the package's corpus table, and a saved model keeps its own.
    dataset_instruction / type_only_instruction (`str`):
        Instruction templates, with `{entity_type}` (and `{dataset}`) placeholders, prepended to every sentence.
    one_pass_dataset_instruction / one_pass_type_only_instruction (`str`):
        A one-pass model's instruction templates: with a `{dataset}` placeholder, and without.
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
    one_pass: bool = False
    one_pass_dataset_instruction: str = ONE_PASS_DATASET_INSTRUCTION
    one_pass_type_only_instruction: str = ONE_PASS_TYPE_ONLY_INSTRUCTION
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

    @property
    def num_tagging_heads(self) -> int:
        """O/B/I heads: one per entity type for a one-pass model, else one."""
        return len(self.entity_types) if self.one_pass else 1

    def head_index(self, entity_type: str) -> int:
        """The head of `entity_type` in a one-pass model: its index in `entity_types`.

        Raises:
            ValueError: a type without a head (no head can tag an untrained type in one pass).
        """
        if entity_type not in self.entity_types:
            raise ValueError(
                f"entity type {entity_type!r} has no head in this one-pass model (heads: "
                f"{', '.join(self.entity_types)}): it tags only the types it was trained on"
            )
        return self.entity_types.index(entity_type)

    def instruction(self, entity_type: str | None, dataset: str | None = None) -> str:
        """The instruction of one model input: with the dataset name when given, else the type-only form. A
        per-type model's names `entity_type`; a one-pass model's names no type (`entity_type` None).

        Raises:
            ValueError: an empty or non-string entity type or dataset name, a type for a one-pass model, or None
                for a per-type model.
        """
        if self.one_pass:
            if entity_type is not None:
                raise ValueError(f"a one-pass model's instruction names no entity type, got {entity_type!r}")
        elif not isinstance(entity_type, str) or not entity_type.strip():
            raise ValueError(f"entity type must be a non-empty string, got {entity_type!r}")
        if dataset is not None and (not isinstance(dataset, str) or not dataset.strip()):
            raise ValueError(f"dataset name must be a non-empty string or None, got {dataset!r}")
        if dataset is not None:
            dataset = self.instruction_dataset_names.get(dataset.strip(), dataset.strip())
        if self.one_pass:
            template = self.one_pass_type_only_instruction if dataset is None else self.one_pass_dataset_instruction
            return template.format(dataset=dataset)
        template = self.type_only_instruction if dataset is None else self.dataset_instruction
        return template.format(entity_type=entity_type.strip(), dataset=dataset)


__all__ = ["VanerConfig"]
