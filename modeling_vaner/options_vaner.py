"""VANER's pipeline options: every choice, default and check of a call, and the one reference text that documents
them (rendered into the pipeline's docstring, the README and the model card).

Self-contained and torch-free (the standard library only) so that it is copied to a Hub repository beside the
pipeline, which imports it, and so that command lines can offer the choices without importing torch. Being the one
such file, it also holds the filter of torch's optional libraries' import noise (`drop_import_noise`), which must be
set before anything imports transformers' models.
"""

import dataclasses
import logging
import textwrap
import warnings
from collections.abc import Mapping

# What transformers' model code imports with it where torchao is installed (it is, for precision "int8"): on a
# CPU-only torch torchao's CUDA kernels fail to load and torch objects to how torchao registers its enums, on every
# start and harmless. (logger, part of the message) of each; `drop_import_noise` drops those messages only.
IMPORT_NOISE = (("torchao", "Failed to load "), ("torch.utils._pytree", "is an Enum subclass"))


def drop_import_noise() -> None:
    """Filter the messages of `IMPORT_NOISE` out of their loggers (nothing else; once per copy of this module).
    Called by the package on import and by `configuration_vaner`, the first of these files that transformers'
    remote-code route (`AutoModelForTokenClassification`, `trust_remote_code=True`) loads. `from transformers import
    pipeline` imports torchao itself, before any of these files runs: that route keeps the two messages."""
    if getattr(drop_import_noise, "done", False):
        return
    for name, text in IMPORT_NOISE:
        logging.getLogger(name).addFilter(lambda record, text=text: text not in record.getMessage())
    drop_import_noise.done = True


# How word labels are decoded: the most probable valid IOB2 sequence, or each word's most probable label.
DECODINGS = ("viterbi", "argmax")
# The arithmetic of the forward ("auto": bf16 where the hardware computes it natively, else fp32; "int8": int8
# weights and activations in the backbone's linear layers).
PRECISIONS = ("auto", "bf16", "fp32", "int8")
# How batches are padded: "masked" (right padding no token attends to, the default) or "visible" (the authors'
# released inference: each row left-padded to the window with the unknown token, padding attended like text).
PADDINGS = ("masked", "visible")
# Where the forward runs, as the commands name it ("auto": CUDA where torch sees a GPU, else the CPU); the pipeline
# also takes any device torch names ("cuda:1"), checked by `runtime_vaner.resolve_device`.
DEVICES = ("auto", "cpu", "cuda")
# How `aggregation_strategy` groups a model that labels words (each word is read at its first token): "none" gives
# one dict per (word, entity type) labelled B or I; the others group words into entities, and they coincide here
# because there are no sub-word scores to combine. Accepted so that code written for BERT pipelines runs as it is.
AGGREGATION_STRATEGIES = ("simple", "first", "average", "max", "none")
# Rows (one window of one text, for one entity type or, one-pass, all of them) per forward, and texts per chunk
# when the pipeline streams a generator or dataset or `vaner annotate` tags a collection: memory is bounded by a
# chunk, not the collection, and a chunk's rows are batched by length (larger chunks pad less). The one default of
# every entry point (`pipeline()`, `load_pipeline`, `vaner extract`, `evaluate`, `annotate`, evaluation during
# training).
DEFAULT_BATCH_SIZE = 8
DEFAULT_CHUNK_SIZE = 256

# The call arguments, documented once: (name, description). `render_call_arguments` writes them as a Markdown
# list for the pipeline's docstring, the README and the model card.
CALL_ARGUMENTS = (
    (
        "entity_types",
        "the types to tag (default: all the model's types, `config.entity_types`); a string is one type; a "
        "per-type model (the default form) takes any non-empty string (an untrained one gets a warning, once per "
        "pipeline) and runs one model pass per type; a one-pass model (`config.one_pass`) tags its trained types "
        "only (another is an error naming them), all in one pass",
    ),
    (
        "dataset",
        "a corpus the model knows (`config.corpus_types`), for the instruction with the dataset name, to follow "
        "that corpus's annotation guideline; default None: the type-only instruction (the paper's VANER_adapt "
        "form), best for text from an unknown source",
    ),
    (
        "threshold",
        "entities (words, for \"none\") scoring below it are left out (default 0: all are kept)",
    ),
    (
        "decoding",
        "\"viterbi\" (default: the most probable valid IOB2 label sequence per sentence) or \"argmax\" (each "
        "word's most probable label)",
    ),
    (
        "aggregation_strategy",
        "\"simple\" (default), \"first\", \"average\" and \"max\" return entities and coincide (VANER labels "
        "words, each read at its first token, not sub-word tokens); \"none\" returns one `{entity: \"B-Disease\", "
        "score, index, word, start, end}` per B/I word and type, `index` the word's index in the text",
    ),
    (
        "batch_size",
        f"rows (one window of one sentence, for one type or, one-pass, all of them) per forward (default "
        f"{DEFAULT_BATCH_SIZE})",
    ),
    (
        "chunk_size",
        f"texts tagged together when the input streams (default {DEFAULT_CHUNK_SIZE}): memory is bounded by a "
        "chunk, not the collection",
    ),
    (
        "sentence_split",
        "False when each input is already one sentence (default True: the pipeline finds sentence ends itself; "
        "entities never cross a sentence)",
    ),
    (
        "strict_types",
        "True: a type outside `config.entity_types` is an error, not a warning (default False; a one-pass model "
        "always refuses one)",
    ),
    (
        "link",
        "True: each entity gains `id`, a concept identifier (`MESH:D001943`, `NCBIGene:672`, `NCBITaxon:10090`), "
        "and `id_score`, or None for both where no dictionary name is close enough (`modeling_vaner.linking`: "
        "needs the `vaner` package and its dictionaries; an error says so elsewhere); default False",
    ),
)


class UntrainedEntityTypeWarning(UserWarning):
    """An entity type asked for that the model was never trained on (not in `config.entity_types`): the instruction
    is free text, so it is tagged, but its entities may be partial or wrong. `strict_types=True` makes it an error."""


def check_trained_types(entity_types, trained, strict: bool, warned: set, stacklevel: int) -> None:
    """Check the types asked for against a model's trained types (`config.entity_types`): an untrained type is tagged
    (the instruction is free text) after an `UntrainedEntityTypeWarning` naming the trained ones, once per type per
    `warned` set (a pipeline's), or is an error with `strict`.

    Args:
        entity_types: the types asked for.
        trained: the model's trained types.
        strict: `strict_types` (`--strict-types`).
        warned: the types already warned about; updated.
        stacklevel: the warning's, counted from the caller of this function.

    Raises:
        ValueError: an untrained type with `strict`.
    """
    trained = tuple(trained)
    for entity_type in (entity_type for entity_type in entity_types if entity_type not in trained):
        same_but_case = [name for name in trained if name.casefold() == entity_type.casefold()]
        hint = f"; did you mean {same_but_case[0]!r}?" if same_but_case else ""
        described = f"entity type {entity_type!r} is not one this model was trained on ({', '.join(trained)}{hint})"
        if strict:
            raise ValueError(f"{described}, and strict_types (--strict-types) is set")
        if entity_type not in warned:
            warned.add(entity_type)
            warnings.warn(
                f"{described}: its entities may be partial or wrong (strict_types=True, --strict-types on the "
                "command line, makes this an error)",
                UntrainedEntityTypeWarning,
                stacklevel=stacklevel + 1,
            )


def input_texts(inputs):
    """The texts of a pipeline call's `inputs`, checked: a string stays a string, a list or tuple becomes a list,
    and any other iterable (a generator, a `KeyDataset`, a `datasets.Dataset`'s "text" column, read in batches)
    an iterator of its texts.

    Raises:
        TypeError: a dict or bytes (iterated, a dict gives its keys and bytes their integers: tagged as texts, that
            is a wrong answer), or anything that cannot be iterated.
        ValueError: a `datasets.Dataset` without a "text" column.
    """
    if isinstance(inputs, Mapping):
        raise TypeError(
            f"inputs must be a string, a list of strings, or a datasets.Dataset (a \"text\" column) or KeyDataset, "
            f"not a {type(inputs).__name__}: pass its text, e.g. tagger(record[\"text\"])"
        )
    if isinstance(inputs, (bytes, bytearray)):
        raise TypeError(f"inputs must be a string, not {type(inputs).__name__}: decode it first")
    if isinstance(inputs, str):
        return inputs
    if isinstance(inputs, (list, tuple)):
        return list(inputs)
    column_names = getattr(inputs, "column_names", None)
    if column_names is not None and hasattr(inputs, "iter"):  # a datasets.Dataset: its rows are dicts
        if "text" not in column_names:
            raise ValueError(
                f"the dataset has no 'text' column (columns: {', '.join(column_names)}); pass "
                "KeyDataset(dataset, 'your_column') from transformers.pipelines.pt_utils"
            )
        return (text for batch in inputs.iter(batch_size=DEFAULT_CHUNK_SIZE) for text in batch["text"])
    try:
        return iter(inputs)
    except TypeError:
        raise TypeError(
            f"inputs must be a string, a list of strings or an iterable of strings, got {type(inputs).__name__}"
        ) from None


def render_call_arguments(indent: str = "", width: int = 116) -> str:
    """The call arguments as a Markdown list, one item per argument, each line prefixed with `indent` and wrapped
    at `width` characters."""
    return "\n".join(
        textwrap.fill(f"- `{name}`: {description}.", width, initial_indent=indent, subsequent_indent=f"{indent}  ")
        for name, description in CALL_ARGUMENTS
    )


def check_choice(name: str, value, choices: tuple):
    """`value` itself if it is one of `choices`.

    Raises:
        ValueError: another value, named with the choices.
    """
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_positive_int(name: str, value) -> int:
    """`value` itself if it is a positive integer (not a bool).

    Raises:
        ValueError: anything else, named.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def check_entity_types(entity_types) -> tuple[str, ...] | None:
    """The entity types as a tuple of stripped names (a string is one type), or None (the model's own).

    Raises:
        ValueError: an empty list, or a type that is not a non-empty string.
    """
    if entity_types is None:
        return None
    if isinstance(entity_types, str):
        entity_types = [entity_types]
    entity_types = list(entity_types)
    if not entity_types:
        raise ValueError("entity_types is empty: name at least one type, e.g. ['Disease']")
    for entity_type in entity_types:
        if not isinstance(entity_type, str) or not entity_type.strip():
            raise ValueError(f"entity type must be a non-empty string, got {entity_type!r}")
    return tuple(entity_type.strip() for entity_type in entity_types)


@dataclasses.dataclass(frozen=True)
class CallOptions:
    """The options of one pipeline call, checked once when built (see `CALL_ARGUMENTS`). The pipeline builds one
    from the arguments given at construction and overrides it with those given to a call (`replace`).
    `entity_types` None and `dataset` names are resolved against the model by the pipeline.

    Raises:
        ValueError: a bad value, named with what is allowed.
    """

    entity_types: tuple[str, ...] | None = None
    dataset: str | None = None
    threshold: float = 0.0
    decoding: str = DECODINGS[0]
    aggregation_strategy: str = AGGREGATION_STRATEGIES[0]
    batch_size: int = DEFAULT_BATCH_SIZE
    chunk_size: int = DEFAULT_CHUNK_SIZE
    sentence_split: bool = True
    strict_types: bool = False
    link: bool = False

    def __post_init__(self):
        object.__setattr__(self, "entity_types", check_entity_types(self.entity_types))
        if self.dataset is not None and (not isinstance(self.dataset, str) or not self.dataset):
            raise ValueError(f"dataset must be a corpus name or None, got {self.dataset!r}")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)):
            raise ValueError(f"threshold must be a number from 0 to 1, got {self.threshold!r}")
        if not 0 <= self.threshold <= 1:
            raise ValueError(f"threshold must be a number from 0 to 1, got {self.threshold!r}")
        check_choice("decoding", self.decoding, DECODINGS)
        check_choice("aggregation_strategy", self.aggregation_strategy, AGGREGATION_STRATEGIES)
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("chunk_size", self.chunk_size)
        if not isinstance(self.sentence_split, bool):
            raise ValueError(f"sentence_split must be True or False, got {self.sentence_split!r}")
        if not isinstance(self.strict_types, bool):
            raise ValueError(f"strict_types must be True or False, got {self.strict_types!r}")
        if not isinstance(self.link, bool):
            raise ValueError(f"link must be True or False, got {self.link!r}")
        if self.link and self.aggregation_strategy == "none":
            raise ValueError("link=True gives entities identifiers: it needs an aggregation_strategy other than 'none'")

    @classmethod
    def check_names(cls, given: dict) -> None:
        """Raises TypeError for an argument of `given` that is not a call option, naming the ones there are."""
        names = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise TypeError(f"unexpected arguments: {', '.join(unknown)} (VANER's pipeline takes {', '.join(names)})")

    def replace(self, **given) -> "CallOptions":
        """A copy with the `given` arguments that are not None, checked.

        Raises:
            TypeError: an argument that is not a call option, named with the ones there are.
            ValueError: a bad value.
        """
        self.check_names(given)
        given = {name: value for name, value in given.items() if value is not None}
        return dataclasses.replace(self, **given) if given else self
