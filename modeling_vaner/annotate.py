"""Tag whole collections: `vaner annotate INPUT OUTPUT` (resumable, splits the input between the processes of
`torchrun` or `accelerate launch`) and `annotate_dataset` (entity columns on a `datasets.Dataset`).

A run keeps its progress in OUTPUT.parts/, one journal per process: a settings line, then one JSON line per input
record it owns (record i belongs to process i % processes), appended a chunk at a time. Started again with the
same command it continues after the last complete line (a line cut by a kill is discarded). When every process is
done, the first merges the journals in input order into OUTPUT, written under a temporary name and renamed, so
OUTPUT is either absent or complete.
"""

import heapq
import json
import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from .documents import INPUT_FORMATS, OUTPUT_FORMATS, BadRecord, Document, open_writer, read_documents
from .onnx_export import add_onnx_option
from .processing_vaner import DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_SIZE, PRECISIONS

EXTENSION_FORMATS = {
    ".jsonl": "jsonl",
    ".pubtator": "pubtator",
    ".xml": "bioc-xml",
    ".json": "bioc-json",
    ".txt": "text",
}
ON_ERROR = ("skip", "fail")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "annotate",
        help="tag a whole collection: text, JSONL, PubTator or BioC in; JSONL, PubTator or BioC out (resumable)",
        description="Tag every document of INPUT and write them with their entities to OUTPUT. Killed and started "
        "again with the same command, it continues where it stopped (progress in OUTPUT.parts/). Under torchrun or "
        "accelerate launch the documents are shared between the processes.",
    )
    parser.add_argument("input", type=Path, help="the collection to tag")
    parser.add_argument("output", type=Path, help="where to write it with its entities")
    parser.add_argument(
        "--input-format",
        choices=INPUT_FORMATS,
        help="text: one document per line; jsonl: one JSON object per line (see --id-field, --text-field); "
        "default: from the extension (.jsonl, .pubtator, .xml = bioc-xml, .json = bioc-json, else text)",
    )
    parser.add_argument("--output-format", choices=OUTPUT_FORMATS, help="default: from the extension (else jsonl)")
    parser.add_argument("--id-field", default="id", help="JSONL input: the id field (default id; else the line number)")
    parser.add_argument(
        "--text-field", default="text", help="JSONL input: the text field (default text; else title and abstract)"
    )
    parser.add_argument("--model", help="model folder, adapter folder or hub id (default: the embedded vaner-smol)")
    parser.add_argument("--types", nargs="+", metavar="TYPE", help="entity types (default: all the model's types)")
    parser.add_argument("--dataset", help="corpus name for the instruction (default: the type-only instruction)")
    parser.add_argument("--threshold", type=float, default=0.0, help="leave out entities scoring below it (default 0)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto")
    add_onnx_option(parser)
    parser.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=f"rows per forward (default {DEFAULT_BATCH_SIZE})"
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=DEFAULT_CHUNK_SIZE,
        help=f"documents tagged and saved together (default {DEFAULT_CHUNK_SIZE})",
    )
    parser.add_argument(
        "--on-error",
        choices=ON_ERROR,
        default="skip",
        help="a record that cannot be read: skip it (reported, counted) or stop (default skip)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    parser.set_defaults(func=run_annotate)


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
    **call_arguments,
) -> Iterator[list[dict]]:
    """Tag numbered records chunk by chunk.

    Args:
        tagger: a `VanerTokenClassificationPipeline`.
        records: `(index, Document or BadRecord)` pairs, e.g. from `read_documents`.
        chunk_size: documents tagged together (their rows batched by length).
        on_error: "skip" (a bad record becomes `{"index", "skipped": "file:line: problem"}`, and is reported on
            standard error) or "fail".
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
            yield tag_chunk(tagger, chunk, call_arguments)
            chunk = []
    if chunk:
        yield tag_chunk(tagger, chunk, call_arguments)


def tag_chunk(tagger, chunk: list[tuple[int, Document | BadRecord]], call_arguments: dict) -> list[dict]:
    documents = [document for _, document in chunk if isinstance(document, Document)]
    found = iter(tagger([passage.text for document in documents for passage in document.passages], **call_arguments))
    tagged = []
    for index, record in chunk:
        if isinstance(record, BadRecord):
            tagged.append({"index": index, "skipped": str(record)})
            continue
        entities = document_entities(record, [next(found) for _ in record.passages])
        passages = [{"offset": p.offset, "text": p.text, "infons": p.infons} for p in record.passages]
        tagged.append({"index": index, "id": record.id, "passages": passages, "entities": entities})
    return tagged


class Journal:
    """One process's progress file: a settings line, then one complete JSON line per record it has done."""

    def __init__(self, parts_dir: Path, rank: int, processes: int, settings: dict):
        self.path = parts_dir / f"rank-{rank}-of-{processes}.jsonl"
        self.settings = settings

    def resume(self) -> int:
        """Prepare the file (created, or cut after its last complete line) and return the input index to continue
        from: one past the last record done.

        Raises:
            ValueError: the file was written by a command with other settings.
        """
        if not self.path.exists():
            self.path.write_text(json.dumps({"settings": self.settings}) + "\n", encoding="utf-8")
            return 0
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) < len(data):  # the process was killed while writing this line
            with open(self.path, "r+b") as handle:
                handle.truncate(len(complete))
        lines = complete.decode("utf-8").splitlines()
        saved = json.loads(lines[0])["settings"] if lines else None
        if saved != self.settings:
            changed = sorted(key for key in self.settings if (saved or {}).get(key) != self.settings[key])
            raise ValueError(
                f"{self.path.parent} holds a run with other settings ({', '.join(changed)}): run the same command to "
                "continue it, or delete that folder to start again"
            )
        return json.loads(lines[-1])["index"] + 1 if len(lines) > 1 else 0

    def append(self, records: list[dict]) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))

    def records(self) -> Iterator[dict]:
        with open(self.path, encoding="utf-8") as handle:
            next(handle)
            for line in handle:
                yield json.loads(line)


def process_state():
    """accelerate's view of the launch: `process_index`, `num_processes`, `device` (CUDA when present, else CPU)
    and `wait_for_everyone()`; one process when not launched by torchrun or accelerate."""
    import torch
    from accelerate import PartialState

    # without cpu=True accelerate only sees a multi-process launch on accelerators
    return PartialState(cpu=not torch.cuda.is_available())


def run_annotate(args) -> int:
    from tqdm.auto import tqdm

    from .loading import load_pipeline

    state = process_state()
    rank, processes = state.process_index, state.num_processes
    input_format = args.input_format or format_from_extension(args.input, INPUT_FORMATS, "text")
    output_format = args.output_format or format_from_extension(args.output, OUTPUT_FORMATS, "jsonl")
    if args.chunk_size < 1:
        raise ValueError(f"--chunk-size must be positive, got {args.chunk_size}")
    parts_dir = args.output.with_name(args.output.name + ".parts")
    if args.output.exists() and not parts_dir.exists() and not args.overwrite:
        raise ValueError(f"{args.output} exists: pass --overwrite to replace it")
    settings = {
        "input": str(args.input.resolve()),
        "input_format": input_format,
        "id_field": args.id_field,
        "text_field": args.text_field,
        "output_format": output_format,
        "model": args.model,
        "precision": args.precision,
        "onnx": args.onnx and str(args.onnx.resolve()),
        "types": args.types,
        "dataset": args.dataset,
        "threshold": args.threshold,
        "processes": processes,
    }
    records = read_documents(args.input, input_format, id_field=args.id_field, text_field=args.text_field)
    # loaded before OUTPUT.parts/ exists: a bad model or setting leaves nothing behind to block the corrected command
    tagger = load_pipeline(
        args.model, device=state.device, precision=args.precision, batch_size=args.batch_size, onnx_model=args.onnx
    )
    parts_dir.mkdir(parents=True, exist_ok=True)
    journal = Journal(parts_dir, rank, processes, settings)
    start = journal.resume()
    mine = ((index, record) for index, record in enumerate(records) if index % processes == rank and index >= start)
    progress = tqdm(desc=f"process {rank}/{processes}" if processes > 1 else "annotate", unit="doc", disable=rank > 0)
    found = 0
    call_arguments = {"entity_types": args.types, "dataset": args.dataset, "threshold": args.threshold}
    for tagged in annotate_records(tagger, mine, chunk_size=args.chunk_size, on_error=args.on_error, **call_arguments):
        journal.append(tagged)
        found += sum(len(record.get("entities", ())) for record in tagged)
        progress.update(len(tagged))
        progress.set_postfix(entities=found)
    progress.close()
    state.wait_for_everyone()
    if rank == 0:
        journals = [Journal(parts_dir, other, processes, settings) for other in range(processes)]
        summary = write_output(
            heapq.merge(*(j.records() for j in journals), key=lambda r: r["index"]), args.output, output_format
        )
        shutil.rmtree(parts_dir)
        print(format_summary(summary, args.output, output_format), file=sys.stderr)
    return 0


def write_output(records: Iterable[dict], output: Path, output_format: str) -> dict:
    """Write the tagged records (skipped ones are only counted) to `output` through a temporary file renamed at
    the end. Returns `{"documents", "skipped", "entities": {type: count}}`."""
    temporary = output.with_name(output.name + ".tmp")
    writer = open_writer(temporary, output_format)
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
        call_arguments: passed to the pipeline (`entity_types`, `dataset`, `threshold`, `aggregation_strategy`...).

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
    tagger.call_parameters(**call_arguments)  # a bad argument fails here, not in a worker
    if call_arguments.get("aggregation_strategy") == "none":
        fields = {"entity": Value("string"), "score": Value("float64"), "index": Value("int64")}
    else:
        fields = {"entity_group": Value("string"), "score": Value("float64")}
    fields.update(word=Value("string"), start=Value("int64"), end=Value("int64"))
    features = Features({**dataset.features, column: List(fields)})
    return dataset.map(
        lambda batch: {column: tagger(list(batch[text_column]), **call_arguments)},
        batched=True,
        batch_size=batch_size,
        features=features,
        desc="tagging",
    )
