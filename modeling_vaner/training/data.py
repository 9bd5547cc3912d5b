"""`vaner train`'s data: the training records (built-in corpora with their DBR sentences, and users' files), the dev
records, their encoding into model rows with the pipeline's own functions (so that training and inference see
identical inputs; a sentence longer than `max_length` becomes overlapping windows, each word labelled in the one
window that owns it and -100 elsewhere: no word is dropped), and the collator that pads a batch.
"""

from dataclasses import dataclass

from .args import DataArguments, source_name


def file_source_records(source: dict, role: str = "train") -> list[dict]:
    """The records of one file source (one per sentence and type, as the built-in corpora's), each with
    `instruction_dataset` its dataset name (None: the type-only instruction).

    Args:
        source (`dict`): A checked `train_files` / `dev_files` entry (`check_file_source`).
        role (`str`): "train" or "dev", for the error message.

    Returns:
        `list[dict]`: the records, per type in the order of `source["types"]`.

    Raises:
        ValueError: the file yields no entity of a type it is read for (the file and type named): an empty file, or
            every tag O; a model trained or scored on it would learn or measure nothing of the type. And what
            `read_tagged_file` raises (malformed lines, named `file:line`).
    """
    from dataset_scripts.tagged_files import read_tagged_file

    from ..processing_vaner import LABEL_B

    records = []
    for entity_type in source["types"] or [None]:
        found = read_tagged_file(
            source["path"], entity_type, source_name(source), type_map=source["type_map"], file_format=source["format"]
        )
        if not any(LABEL_B in record["ner_tags"] for record in found):
            if found:
                detail = f"its {len(found)} sentence{'s' if len(found) > 1 else ''} tag every word O"
            else:  # read without a type, a file of O tags only yields no record either
                detail = "no sentence read from it" + ("" if entity_type else ", or every tag O")
            kind = f"{entity_type} entity" if entity_type else "entity"
            purpose = "to learn from" if role == "train" else "to score"
            raise ValueError(f"{role} file {source['path']}: no {kind} {purpose} ({detail})")
        records += found
    return [{**record, "instruction_dataset": source["dataset"]} for record in records]


def add_file_types(config, data: DataArguments, records: list[dict]) -> None:
    """Make the model know the types and dataset names of the file sources among the training `records`
    (`entity_types`, `corpus_types`), so that the saved model's pipeline tags them by default and accepts the
    dataset names."""
    datasets = {source_name(source): source["dataset"] for source in data.train_files}
    types: dict[str, list[str]] = {}
    for record in records:
        if record["corpus"] in datasets:
            types.setdefault(record["corpus"], []).append(record["entity_type"])
    for name, found in types.items():
        found = list(dict.fromkeys(found))
        config.entity_types = list(dict.fromkeys([*config.entity_types, *found]))
        if datasets[name]:
            config.corpus_types = {**config.corpus_types, datasets[name]: ", ".join(found)}


def training_records(data: DataArguments, seed: int) -> list[dict]:
    """The multi-corpus training mixture: per corpus its first `train_limits[corpus]` (else
    `train_limit_per_corpus`) sentences, and for the corpora in `train_with_dev` their whole dev split too, each
    sentence `train_repeats[corpus]` times, plus their DBR sentences once; and every sentence of `train_files`.
    A random `type_only_share` of each corpus's (and named file source's) sentences get the type-only
    instruction (`instruction_dataset` None, as DBR sentences have), and with `type_only_gold` "guideline" every
    type-only row of a corpus follows the type-only guideline (`apply_type_only_guideline`: labels converted where
    the corpus table says so; no type-only row for a "dataset-only" corpus); what the guideline changed is printed
    on stderr. A user's file keeps its own labels.

    The corpora are read from `corpora_dir` (else $VANER_CORPORA_DIR: resolved here). With neither, a corpus's first
    sentences come from the package's copy where it holds them (`rehearsal.py`: the rehearsal corpora whose licence
    allows it, without DBR), others are downloaded; with `train_files` (a fine-tune: the corpora rehearse), the
    package's copy also stands in for a corpus the directory lacks, and a corpus the package does not ship that
    cannot be downloaded (offline, or the download failed) is left out with a notice on stderr.

    Raises:
        ValueError: a user's file that is malformed or yields no entity (`file_source_records`).
        CorpusUnavailableError: a corpus file is missing (but for the rehearsal case above).
    """
    import random
    import sys
    from collections import Counter

    from dataset_scripts.corpora import CORPORA, CorpusUnavailableError, hub_offline, resolve_corpora_dir
    from dataset_scripts.guideline import type_only_policy

    from ..dbr.mixture import apply_type_only_guideline, build_training_mixture, load_builder, mixture_records
    from .rehearsal import shipped_corpora, shipped_rehearsal

    records = []
    for source in data.train_files:  # first: a bad file fails before the corpora are read
        found = file_source_records(source, "train")
        if source["dataset"]:
            type_only = random.Random(f"{seed}:{source_name(source)}").sample(
                range(len(found)), round(data.type_only_share * len(found))
            )
            for index in type_only:
                found[index] = {**found[index], "instruction_dataset": None}
        records += found
    corpora_dir = resolve_corpora_dir(data.corpora_dir)
    # A fine-tune's corpora rehearse: without a corpora directory, the ones the package does not ship are read from
    # their URLs, and left out with a notice where they cannot be (offline, or the download failed).
    optional = [] if not data.train_files or corpora_dir else [n for n in data.corpora if n not in shipped_corpora()]
    skipped, guideline = {}, {}
    guided = data.type_only_gold == "guideline"
    builder = None if data.dbr_variant == "none" or not data.corpora else load_builder(corpora_dir, seed=seed)
    for corpus in data.corpora:
        limits = {"train": data.train_limits.get(corpus, data.train_limit_per_corpus)}
        if corpus in data.train_with_dev:
            limits["validation"] = None
        mixture = []
        for split, limit in limits.items():
            # the package's copy where it holds the sentences (the same rows, no download): without a corpora
            # directory, and in a fine-tune whose directory lacks the corpus (the added ones are not in ../shared)
            covered = split == "train" and data.dbr_variant == "none"
            shipped = shipped_rehearsal(corpus, limit) if covered else None
            if shipped is not None and corpora_dir is None:
                mixture += mixture_records(shipped, corpus)
                continue
            try:
                mixture += build_training_mixture(
                    [corpus],
                    split=split,
                    variant=data.dbr_variant,
                    corpora_dir=corpora_dir,
                    seed=seed,
                    limit=limit,
                    builder=builder,
                )
            except CorpusUnavailableError as error:
                if shipped is not None and data.train_files:
                    mixture += mixture_records(shipped, corpus)
                    continue
                if corpus not in optional:
                    raise
                why = "offline" if hub_offline() else f"its download failed: {type(error.__cause__).__name__}"
                skipped[corpus] = f"licence {CORPORA[corpus].licence!r}: not shipped with the package; {why}"
                break
        if corpus in skipped:
            continue
        # a dataset-only corpus gets no type-only row (`apply_type_only_guideline` also moves its dense sentences to
        # the dataset instruction); the others' draw is unchanged by the guideline: the same seeded rows
        sentences = [index for index, record in enumerate(mixture) if record["source"] == "corpus"]
        share = 0.0 if guided and type_only_policy(corpus) == "dataset-only" else data.type_only_share
        for index in random.Random(f"{seed}:{corpus}").sample(sentences, round(share * len(sentences))):
            mixture[index] = {**mixture[index], "instruction_dataset": None}
        if guided:
            mixture, counts = apply_type_only_guideline(mixture, corpus)
            if any(counts[key] for key in ("trimmed", "dropped", "added", "dataset_instruction")):
                guideline[corpus] = counts
        repeats = data.train_repeats.get(corpus, 1)
        records += [copy for record in mixture for copy in [record] * (repeats if record["source"] == "corpus" else 1)]
    if data.train_files and (rehearsed := Counter(r["corpus"] for r in records if r["corpus"] in data.corpora)):
        print(f"vaner train: rehearsal, so that the types the model knows are not forgotten: {rehearsed.total()} "
              "sentences (" + ", ".join(f"{name} {count}" for name, count in rehearsed.items()) + ")", file=sys.stderr)
    if guideline:
        print("vaner train: type-only rows under the guideline (docs/GUIDELINES.md): " + "; ".join(
            f"{name} {counts['rows']} rows, entities trimmed {counts['trimmed']}, dropped {counts['dropped']}, added "
            f"{counts['added']}" if counts["rows"] else f"{name} dataset-only: {counts['dataset_instruction']} dense "
            "sentences given the dataset instruction" for name, counts in guideline.items()
        ), file=sys.stderr)
    if skipped:
        names = "; ".join(f"{name} ({why})" for name, why in skipped.items())
        them = "it" if len(skipped) == 1 else "them"
        print(f"vaner train: rehearsal without {names}: set corpora_dir or $VANER_CORPORA_DIR to a corpora directory "
              f"to include {them}", file=sys.stderr)
    return records


HELD_OUT_PREFIX = "held_out_"  # the dev-set key of a held-out corpus: eval_held_out_<name>_f1


def dev_records(data: DataArguments, seed: int) -> dict[str, list[dict]]:
    """The dev sentences of each corpus of `eval_corpora` (default `corpora`) not in `train_with_dev`, subsampled
    to `eval_limits[corpus]` (else `eval_limit_per_corpus`), and of every `dev_files` source, whole; and, under
    `HELD_OUT_PREFIX + name`, the train and validation sentences of each of `held_out_corpora`, subsampled alike,
    with the type-only instruction (`instruction_dataset` None) and the guideline's gold (`guideline_records`)."""
    from dataset_scripts.corpora import read_corpus
    from dataset_scripts.guideline import guideline_records

    from ..evaluation import subsample

    scored = data.corpora if data.eval_corpora is None else data.eval_corpora
    held_out = [name for name in scored if name not in data.train_with_dev]
    limits = {name: data.eval_limits.get(name, data.eval_limit_per_corpus) for name in held_out}
    dev = {
        name: subsample(read_corpus(name, "validation", data.corpora_dir), limit, seed)
        for name, limit in limits.items()
    }
    for name in data.held_out_corpora:
        splits = (read_corpus(name, split, data.corpora_dir) for split in ("train", "validation"))
        sentences = [record for records in splits for record in records]
        sentences = subsample(sentences, data.eval_limits.get(name, data.eval_limit_per_corpus), seed)
        converted, _ = guideline_records(sentences, name)
        dev[HELD_OUT_PREFIX + name] = [{**record, "instruction_dataset": None} for record in converted]
    return dev | {source_name(source): file_source_records(source, "dev") for source in data.dev_files}


def instruction_dataset(record: dict, dataset_in_instruction: bool) -> str | None:
    """The corpus name for the instruction of a training record (None: type-only, always for VANER_adapt)."""
    return record.get("instruction_dataset", record["corpus"]) if dataset_in_instruction else None


def row_groups(records: list[dict], config, dataset_in_instruction: bool) -> list[tuple]:
    """The training records grouped into model inputs: `(instruction type, instruction dataset, tokens, {head:
    ner_tags})`. A per-type model gets one group per record (its type in the instruction, head 0). For a one-pass
    model (`config.one_pass`) records of the same tokens and instruction dataset share one group, each filling its
    type's head (e.g. BC5CDR's chemical and disease labels of a sentence, both under the type-only instruction),
    so that one row teaches what both corpora annotate; a record of a type already in the group (a repeat) opens
    another.

    Raises:
        ValueError: a record of a type without a head in a one-pass model.
    """
    groups, open_groups = [], {}
    for record in records:
        dataset = instruction_dataset(record, dataset_in_instruction)
        if not config.one_pass:
            groups.append((record["entity_type"], dataset, record["tokens"], {0: record["ner_tags"]}))
            continue
        head, key = config.head_index(record["entity_type"]), (tuple(record["tokens"]), dataset)
        if key not in open_groups or head in open_groups[key][3]:
            open_groups[key] = (None, dataset, record["tokens"], {})
            groups.append(open_groups[key])
        open_groups[key][3][head] = record["ner_tags"]
    return groups


def encode_records(records: list[dict], tokenizer, config, max_length: int, dataset_in_instruction: bool) -> list[dict]:
    """Model rows {input_ids, labels} for training records (grouped into inputs by `row_groups`); a sentence longer
    than the window budget (`max_length` minus the instruction) becomes several rows, each word labelled in the
    window that owns it. `labels` holds one label per token for a per-type model, and for a one-pass model one list
    per token of one label per head, -100 for the heads of types the row's records do not annotate.

    Raises:
        ValueError: a record of a type without a head in a one-pass model.
    """
    from tqdm.auto import tqdm

    from ..processing_vaner import (
        IGNORE_INDEX,
        assign_words_to_windows,
        build_input,
        encode_instruction,
        encode_words,
        split_into_windows,
    )

    instructions: dict[tuple, list[int]] = {}
    rows = []
    for entity_type, dataset, tokens, tags in tqdm(
        row_groups(records, config, dataset_in_instruction), desc="encode", unit="sentence", mininterval=2
    ):
        key = (entity_type, dataset)
        if key not in instructions:
            instructions[key] = encode_instruction(tokenizer, config.instruction(*key), config.keep_instruction_space)
        instruction_ids = instructions[key]
        pieces = encode_words(tokenizer, tokens)
        windows = split_into_windows([len(ids) for ids in pieces], max_length - len(instruction_ids))
        owners = assign_words_to_windows(windows, len(pieces))
        for index, (first, last) in enumerate(windows):
            row = build_input(instruction_ids, pieces[first:last])
            labels = [[IGNORE_INDEX] * config.num_tagging_heads for _ in row["input_ids"]]
            for head, ner_tags in tags.items():
                for position, word in zip(row["first_token_positions"], range(first, last)):
                    if owners[word] == index:
                        labels[position][head] = ner_tags[word]
            # a per-type model's labels have no type axis, as its logits have none
            labels = labels if config.one_pass else [token_labels[0] for token_labels in labels]
            rows.append({"input_ids": row["input_ids"], "labels": labels})
    return rows


@dataclass
class PaddingCollator:
    """Pads a batch of rows to its longest row: input_ids with the pad token, labels (per token a label, or a
    one-pass model's list of one label per head) with -100."""

    pad_token_id: int

    def __call__(self, rows: list[dict]) -> dict:
        from ..processing_vaner import IGNORE_INDEX
        from ..runtime_vaner import pad_sequences

        input_ids, attention_mask = pad_sequences([row["input_ids"] for row in rows], self.pad_token_id)
        labels, _ = pad_sequences([row["labels"] for row in rows], IGNORE_INDEX)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
