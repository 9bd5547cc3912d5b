"""Tag whole collections: `annotate_file` (`vaner annotate INPUT OUTPUT`: resumable, splits the input between the
processes of `torchrun` or `accelerate launch`) and `annotate_dataset` (entity columns on a `datasets.Dataset`).

A run keeps its progress in OUTPUT.parts/, one journal per process: a settings line (the command's settings and
the input's size and SHA-256), then one JSON line per input record it owns (record i belongs to process
i % processes), appended a chunk at a time. Started again with the same command on the same input it continues
after the last complete line (a line cut by a kill is discarded); an input that changed in between is refused,
since the saved records would not fit it. When every process is done, the first merges the journals in input
order into OUTPUT, written under a temporary name and renamed, so OUTPUT is either absent or complete.
"""

import heapq
import json
import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from .document_writers import OUTPUT_FORMATS, open_writer
from .documents import INPUT_FORMATS, BadRecord, Document, read_documents, scan_input
from .options_vaner import DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_SIZE

EXTENSION_FORMATS = {
    ".jsonl": "jsonl",
    ".pubtator": "pubtator",
    ".xml": "bioc-xml",
    ".json": "bioc-json",
    ".txt": "text",
}
ON_ERROR = ("skip", "fail")


def format_from_extension(path: Path, choices: tuple, default: str) -> str:
    guessed = EXTENSION_FORMATS.get(path.suffix.lower(), default)
    return guessed if guessed in choices else default


def document_entities(document: Document, passage_entities: list[list[dict]]) -> list[dict]:
    """The entities of a document's passages, moved to document offsets, sorted by start."""
    entities = [
        {**entity, "start": entity["start"] + passage.offset, "end": entity["end"] + passage.offset}
        for passage, found in zip(document.passages, passage_entities)
        for entity in found
    ]
    return sorted(entities, key=lambda entity: (entity["start"], entity["end"], entity["entity_group"]))


def annotate_records(
    tagger,
    records: Iterable[tuple[int, Document | BadRecord]],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_error: str = "skip",
    linker=None,
    **call_arguments,
) -> Iterator[list[dict]]:
    """Tag numbered records chunk by chunk.

    Args:
        tagger: a `VanerTokenClassificationPipeline`.
        records: `(index, Document or BadRecord)` pairs, e.g. from `read_documents`.
        chunk_size: documents tagged together (their rows batched by length).
        on_error: "skip" (a bad record becomes `{"index", "skipped": "file:line: problem"}`, and is reported on
            standard error) or "fail".
        linker: a `modeling_vaner.linking.Linker`: each entity gains `id` and `id_score`, linked with its whole
            document as context (an abbreviation defined in the title serves the abstract); None: no identifiers.
        call_arguments: passed to the pipeline (`entity_types`, `dataset`, `threshold`...).

    Returns:
        An iterator of lists, one per chunk, of `{"index", "id", "passages": [{"offset", "text", "infons"}],
        "entities": [...]}` with entity offsets counting over the document.

    Raises:
        ValueError: a bad record with `on_error="fail"`.
    """
    chunk = []
    for index, record in records:
        if isinstance(record, BadRecord):
            if on_error == "fail":
                raise ValueError(f"{record} (--on-error skip reads on)")
            print(f"vaner annotate: skipped {record}", file=sys.stderr)
        chunk.append((index, record))
        if len(chunk) == chunk_size:
            yield tag_chunk(tagger, chunk, call_arguments, linker)
            chunk = []
    if chunk:
        yield tag_chunk(tagger, chunk, call_arguments, linker)


def tag_chunk(tagger, chunk: list[tuple[int, Document | BadRecord]], call_arguments: dict, linker=None) -> list[dict]:
    documents = [document for _, document in chunk if isinstance(document, Document)]
    found = iter(tagger([passage.text for document in documents for passage in document.passages], **call_arguments))
    tagged = []
    for index, record in chunk:
        if isinstance(record, BadRecord):
            tagged.append({"index": index, "skipped": str(record)})
            continue
        entities = document_entities(record, [next(found) for _ in record.passages])
        if linker is not None:
            entities = linker.link_entities(record.text(), entities)
        passages = [{"offset": p.offset, "text": p.text, "infons": p.infons} for p in record.passages]
        tagged.append({"index": index, "id": record.id, "passages": passages, "entities": entities})
    return tagged


class Interrupted(KeyboardInterrupt):
    """Ctrl-C while `annotate_file` tagged or wrote: `str()` says what was saved and how to resume."""


class Journal:
    """One process's progress file: a settings line, then one complete JSON line per record it has done
    (`done` of them, once `resume` has read it)."""

    def __init__(self, parts_dir: Path, rank: int, processes: int, settings: dict):
        self.path = parts_dir / f"rank-{rank}-of-{processes}.jsonl"
        self.settings = settings
        self.done = 0

    def resume(self) -> int:
        """Prepare the file (created, or cut after its last complete line) and return the input index to continue
        from: one past the last record done.

        Raises:
            ValueError: the file was written by a command with other settings, or for an input that has changed
                since (its size or its content), naming what differs and how to start again.
        """
        if not self.path.exists():
            self.path.write_text(json.dumps({"settings": self.settings}) + "\n", encoding="utf-8")
            self.done = 0
            return 0
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) < len(data):  # the process was killed while writing this line
            with open(self.path, "r+b") as handle:
                handle.truncate(len(complete))
        lines = complete.decode("utf-8").splitlines()
        saved = json.loads(lines[0])["settings"] if lines else None
        if saved != self.settings:
            parts = self.path.parent
            changed = input_change(saved or {}, self.settings)
            if changed:
                raise ValueError(
                    f"{self.settings['input']} has changed since the run saved in {parts}/ began ({changed}): its "
                    f"saved records would not fit it; delete {parts}/ to start again, or choose another OUTPUT"
                )
            changed = sorted(key for key in self.settings if (saved or {}).get(key) != self.settings[key])
            raise ValueError(
                f"{parts} holds a run with other settings ({', '.join(changed)}): run the same command to "
                "continue it, or delete that folder to start again"
            )
        self.done = len(lines) - 1
        return json.loads(lines[-1])["index"] + 1 if len(lines) > 1 else 0

    def append(self, records: list[dict]) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
        self.done += len(records)

    def records(self) -> Iterator[dict]:
        with open(self.path, encoding="utf-8") as handle:
            next(handle)
            for line in handle:
                yield json.loads(line)


def input_change(saved: dict, settings: dict) -> str:
    """How the same input file differs from when `saved` was recorded: "size: ..." or "content: ...", or "" (the
    same, another file, or a journal from before sizes were recorded)."""
    if saved.get("input") != settings["input"] or "input_size" not in saved:
        return ""
    if saved["input_size"] != settings["input_size"]:
        return f"size: {saved['input_size']:,} bytes then, {settings['input_size']:,} now"
    if saved.get("input_sha256") != settings["input_sha256"]:
        return "content: the same size, another SHA-256"
    return ""


def process_state():
    """accelerate's view of the launch: `process_index`, `num_processes`, `device` (CUDA when present, else CPU)
    and `wait_for_everyone()`; one process when not launched by torchrun or accelerate."""
    import torch
    from accelerate import PartialState

    # without cpu=True accelerate only sees a multi-process launch on accelerators
    return PartialState(cpu=not torch.cuda.is_available())


def process_device(device: str | None, state):
    """This process's device for `device`: for "auto" or None accelerate's (`process_state`: under torchrun one GPU
    per process), and for "cuda" the same where it is a GPU; else `device` as it is ("cpu", or "cuda" on a machine
    without one, which `load_pipeline` refuses in one line)."""
    if device in (None, "auto") or device == "cuda" and state.device.type == "cuda":
        return state.device
    return device


def annotate_file(
    input_path,
    output,
    *,
    input_format: str | None = None,
    output_format: str | None = None,
    id_field: str = "id",
    text_field: str = "text",
    model: str | None = None,
    precision: str = "auto",
    batch_size: int = DEFAULT_BATCH_SIZE,
    compile: bool = False,
    onnx_model=None,
    device: str | None = None,
    verbose: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_error: str = "skip",
    overwrite: bool = False,
    linker=None,
    **call_arguments,
) -> dict | None:
    """Tag every document of a file and write them with their entities (`vaner annotate`): resumable, and shared
    between the processes of `torchrun` or `accelerate launch` (see the module docstring).

    Args:
        input_path: the collection to tag.
        output: where to write it with its entities (written whole at the end, by the first process).
        input_format, output_format: `documents.INPUT_FORMATS` / `OUTPUT_FORMATS`; None: from the extension
            (`EXTENSION_FORMATS`; else text in, jsonl out).
        id_field, text_field: JSONL input: the id and text fields.
        model, precision, batch_size, compile, onnx_model, verbose: passed to `load_pipeline`.
        device: "cpu", "cuda" or "auto"/None (each process on its own GPU where there are GPUs, else the CPU;
            `process_device`).
        chunk_size: documents tagged and saved together.
        on_error: "skip" (a bad record is reported, counted and left out) or "fail".
        overwrite: replace `output` if it exists.
        linker: a `modeling_vaner.linking.Linker` (`vaner annotate --link`): entities gain `id` and `id_score`
            (PubTator's identifier column, BioC's `identifier` infon, JSONL fields); None: no identifiers.
        call_arguments: passed to the pipeline (`entity_types`, `dataset`, `threshold`).

    Returns:
        On the first process, `{"documents", "skipped", "entities": {type: count}, "output_format"}` (see
        `write_output`); None on the others.

    Raises:
        ValueError: a bad chunk size, `output` exists (without `overwrite`), OUTPUT.parts/ holds a run with other
            settings or of an input that has changed since, an input that is not UTF-8, or a bad record with
            `on_error="fail"`.
        FileNotFoundError: no such input file or model.
        IsADirectoryError: the input is a directory.
        Interrupted: Ctrl-C once OUTPUT.parts/ exists; its message says what was saved and how to resume.
    """
    from tqdm.auto import tqdm

    from .loading import load_pipeline

    input_path, output = Path(input_path), Path(output)
    state = process_state()
    rank, processes = state.process_index, state.num_processes
    input_format = input_format or format_from_extension(input_path, INPUT_FORMATS, "text")
    output_format = output_format or format_from_extension(output, OUTPUT_FORMATS, "jsonl")
    if chunk_size < 1:
        raise ValueError(f"--chunk-size must be positive, got {chunk_size}")
    parts_dir = output.with_name(output.name + ".parts")
    if output.exists() and not parts_dir.exists() and not overwrite:
        raise ValueError(f"{output} exists: pass --overwrite to replace it")
    scan = scan_input(input_path, input_format)  # one read: what a resumed run checks, and the bar's total
    settings = {
        "input": str(input_path.resolve()),
        "input_size": scan.size,
        "input_sha256": scan.sha256,
        "input_format": input_format,
        "id_field": id_field,
        "text_field": text_field,
        "output_format": output_format,
        "model": model,
        "precision": precision,
        "onnx": onnx_model and str(Path(onnx_model).resolve()),
        "types": call_arguments.get("entity_types"),
        "dataset": call_arguments.get("dataset"),
        "threshold": call_arguments.get("threshold", 0.0),
        "processes": processes,
        **({"link": True} if linker is not None else {}),
        **{k: v for k, v in call_arguments.items() if k not in ("entity_types", "dataset", "threshold")},
    }
    records = read_documents(input_path, input_format, id_field=id_field, text_field=text_field)
    journal = Journal(parts_dir, rank, processes, settings)
    start = journal.resume() if journal.path.exists() else None  # refused (changed input...) before the model loads
    # loaded before OUTPUT.parts/ exists: a bad model or setting leaves nothing behind to block the corrected command
    tagger = load_pipeline(
        model,
        device=process_device(device, state),
        precision=precision,
        batch_size=batch_size,
        compile=compile,
        onnx_model=onnx_model,
        verbose=verbose,
    )
    tagger.call_options(**call_arguments)  # a bad call argument (an untrained type with strict_types) fails here too
    parts_dir.mkdir(parents=True, exist_ok=True)
    if start is None:
        start = journal.resume()
    who = f"process {rank}/{processes}" if processes > 1 else "annotate"
    if journal.done:
        process = f" (process {rank}/{processes})" if processes > 1 else ""
        saved = f"{journal.done:,} documents saved in {parts_dir}/"
        print(f"vaner annotate{process}: resuming after {saved}", file=sys.stderr)
    mine = ((index, record) for index, record in enumerate(records) if index % processes == rank and index >= start)
    total = None if scan.records is None else len(range(rank, scan.records, processes))
    try:
        with tqdm(desc=who, total=total, initial=journal.done, unit="doc", disable=rank > 0) as progress:
            found = 0
            for tagged in annotate_records(
                tagger, mine, chunk_size=chunk_size, on_error=on_error, linker=linker, **call_arguments
            ):
                journal.append(tagged)
                found += sum(len(record.get("entities", ())) for record in tagged)
                progress.update(len(tagged))
                progress.set_postfix(entities=found)
        state.wait_for_everyone()
        if rank != 0:
            return None
        journals = [Journal(parts_dir, other, processes, settings) for other in range(processes)]
        merged = heapq.merge(*(journal.records() for journal in journals), key=lambda record: record["index"])
        summary = write_output(merged, output, output_format, linked=linker is not None)
    except KeyboardInterrupt:
        where = f"process {rank}: " if processes > 1 else ""
        raise Interrupted(
            f"{where}{journal.done:,} documents saved in {parts_dir}/: run the same command to resume"
        ) from None
    shutil.rmtree(parts_dir)
    return {**summary, "output_format": output_format}


def write_output(records: Iterable[dict], output: Path, output_format: str, linked: bool = False) -> dict:
    """Write the tagged records (skipped ones are only counted) to `output` through a temporary file renamed at
    the end (`linked`: their entities carry identifiers, which a BioC collection states). Returns `{"documents",
    "skipped", "entities": {type: count}}`."""
    temporary = output.with_name(output.name + ".tmp")
    writer = open_writer(temporary, output_format, linked=linked)
    summary = {"documents": 0, "skipped": 0, "entities": Counter()}
    try:
        for record in records:
            if "skipped" in record:
                summary["skipped"] += 1
                continue
            writer.write(record)
            summary["documents"] += 1
            summary["entities"].update(entity["entity_group"] for entity in record["entities"])
    finally:
        writer.close()
    os.replace(temporary, output)
    return summary


def format_summary(summary: dict, output: Path, output_format: str) -> str:
    per_type = ", ".join(f"{name} {count:,}" for name, count in sorted(summary["entities"].items())) or "none"
    return (
        f"vaner annotate: {summary['documents']:,} documents written to {output} ({output_format}), "
        f"{summary['skipped']:,} skipped; entities: {per_type}"
    )


def annotate_dataset(
    dataset,
    tagger,
    *,
    text_column: str = "text",
    column: str = "entities",
    batch_size: int = DEFAULT_CHUNK_SIZE,
    **call_arguments,
):
    """Add a column of entities to a `datasets.Dataset` with `dataset.map(batched=True)`, so that `num_proc`,
    caching and `to_parquet` come from `datasets`.

    Example:
        >>> from datasets import load_dataset
        >>> from modeling_vaner import load_pipeline
        >>> from modeling_vaner.annotate import annotate_dataset
        >>> abstracts = load_dataset("json", data_files="abstracts.jsonl", split="train")
        >>> tagged = annotate_dataset(abstracts, load_pipeline(), entity_types=["Disease"], threshold=0.5)
        >>> tagged.to_parquet("abstracts_tagged.parquet")

    Args:
        dataset: a `datasets.Dataset` with a string column `text_column`.
        tagger: a `VanerTokenClassificationPipeline`.
        text_column: the column to tag.
        column: the new column: per row, the pipeline's list of entities (offsets into that row's text).
        batch_size: rows per `map` batch (their model rows are batched by length together).
        call_arguments: passed to the pipeline (`entity_types`, `dataset`, `threshold`, `aggregation_strategy`,
            `link`...); with `link=True` each entity also has `id` and `id_score` (None where unlinked).

    Returns:
        The dataset with `column` added.

    Raises:
        ValueError: no `text_column`, or `column` already exists.
    """
    from datasets import Features, List, Value

    if text_column not in dataset.column_names:
        raise ValueError(f"no column {text_column!r}; columns: {', '.join(dataset.column_names)}")
    if column in dataset.column_names:
        raise ValueError(f"the dataset already has a column {column!r}: name another with column=")
    tagger.call_options(**call_arguments)  # a bad argument fails here, not in a worker
    if call_arguments.get("aggregation_strategy") == "none":
        fields = {"entity": Value("string"), "score": Value("float64"), "index": Value("int64")}
    else:
        fields = {"entity_group": Value("string"), "score": Value("float64")}
    fields.update(word=Value("string"), start=Value("int64"), end=Value("int64"))
    if call_arguments.get("link"):  # the pipeline's linker (`tagger.linker`, else the package's default)
        fields.update(id=Value("string"), id_score=Value("float64"))
    features = Features({**dataset.features, column: List(fields)})
    return dataset.map(
        lambda batch: {column: tagger(list(batch[text_column]), **call_arguments)},
        batched=True,
        batch_size=batch_size,
        features=features,
        desc="tagging",
    )
