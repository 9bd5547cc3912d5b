"""Linking evaluation (`vaner evaluate-linking`): accuracy@k on gold mentions.

Tasks (`TASKS`):

- `biosyn-ncbi-disease`, `biosyn-bc5cdr-disease`: BioSyn's protocol. Its preprocessed mentions (lower case,
  punctuation removed, abbreviations expanded, composite mentions split on "|") are ranked against its dictionary of
  the split (`dev_dictionary.txt`: MEDIC plus train mentions; `test_dictionary.txt`: MEDIC plus train and dev
  mentions); mentions without an identifier ("-1") are left out, duplicates kept; a mention is right at k when each
  of its parts has, among its k best concepts, one sharing an identifier with the gold ids (BioSyn's `check_label`).
  Concepts are ranked, not names: the k best are k distinct concepts.
- `biosyn-bc5cdr-chemical`: the same mentions format (rescnn_bioel's `data.json`; no dictionary ships with it)
  against this package's chemical dictionary; also the share of the split's identifiers the dictionary holds.
- `ncbi-disease`, `bc5cdr-disease`, `bc5cdr-chemical`, `s800`, `linnaeus`, `gnormplus`: the package's linker (its
  dictionaries, the document as context) on the raw gold mentions of AIONER's PubTator files (`linking/corpora.py`
  splits). A mention with several gold ids (composite) is right when the concept shares any of them. `gnormplus`
  scores the human mentions (a gold id in the human gene dictionary) of its train split and reports the share of
  the others.

`threshold_choice` (dev only): per type, the score threshold that maximises linking F1 on the dev mentions (a
mention over the threshold with a right identifier is a true positive; a wrong one a false positive and a false
negative; one under it a false negative), the source of `linker.DEFAULT_THRESHOLDS`.
"""

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from ..dbr.text import fingerprint
from .corpora import curie, gold_mentions, split_documents
from .dictionaries import Dictionary
from .linker import DICTIONARY_FORMAT_VERSION, Linker, TypeLinker, code_signature, make_search
from .tasks import BIOSYN_TASKS, PUBTATOR_TASKS, TASKS
from .text import name_key

logger = logging.getLogger(__name__)

KS = (1, 5)
# Published accuracy@1 on the test splits (BioSyn protocol), from the issue: BioSyn (Sung et al. 2020), SapBERT
# (Liu et al. 2021), character TF-IDF alone.
PUBLISHED = {
    "biosyn-ncbi-disease": {"BioSyn": 91.1, "SapBERT": 92.0, "char TF-IDF": 87.7},
    "biosyn-bc5cdr-disease": {"BioSyn": 93.2, "SapBERT": 93.5, "char TF-IDF": 92.2},
}


def read_biosyn_dictionary(path: Path) -> Dictionary:
    """BioSyn's `cui||name` dictionary as a `Dictionary` (ids "D1|123" -> one concept of CURIEs).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a line without "||" (file and line named).
    """
    if not path.is_file():
        raise FileNotFoundError(f"BioSyn dictionary not found: {path} (dataset_scripts/linking_data.py)")
    entries = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            if "||" not in line:
                raise ValueError(f"{path}:{number}: expected cui||name")
            ids, name = line.split("||", 1)
            entries.append((name, tuple(curie(i, "Disease") for i in ids.split("|")), 0))
    return Dictionary("Disease", entries)


def read_biosyn_queries(directory: Path) -> list[tuple[str, str]]:
    """(mention, gold ids) of BioSyn's `*.concept` files (`pmid||start|end||type||mention||ids`), cuiless ("-1")
    mentions left out, in file order.

    Raises:
        FileNotFoundError: the directory does not exist.
        ValueError: a line with fewer than five "||" fields (file and line named).
    """
    if not directory.is_dir():
        raise FileNotFoundError(f"BioSyn mentions not found: {directory} (dataset_scripts/linking_data.py)")
    queries = []
    for path in sorted(directory.glob("*.concept")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            fields = line.split("||")
            if len(fields) < 5:
                raise ValueError(f"{path}:{number}: expected pmid||start|end||type||mention||ids")
            if fields[4].strip() != "-1":
                queries.append((fields[3].strip(), fields[4].strip()))
    return queries


def _gold_set(ids: str, entity_type: str) -> set[str]:
    return {curie(i, entity_type) for i in ids.replace("+", "|").split("|") if i}


def _hits(ranked_parts: list[list[tuple[tuple[str, ...], float]]], gold: set[str], ks: Sequence[int]) -> list[bool]:
    """Right at each k: every part has, among its k best concepts, one sharing an identifier with `gold`."""
    return [all(any(gold & set(concept) for concept, _ in ranked[:k]) for ranked in ranked_parts) for k in ks]


def _accuracy(hits: list[list[bool]], ks: Sequence[int]) -> dict:
    total = len(hits)
    return {"mentions": total,
            **{f"accuracy@{k}": round(100 * sum(h[i] for h in hits) / max(total, 1), 2) for i, k in enumerate(ks)}}




def _rank_queries(linker: TypeLinker, queries: list[tuple[str, str]], entity_type: str, ks: Sequence[int]):
    parts = [[name_key(part) for part in mention.replace("+", "|").split("|")] for mention, _ in queries]
    ranked = iter(linker.rank([key for keys in parts for key in keys], top_k=max(ks)))
    hits, top1 = [], []
    for (mention, ids), keys in zip(queries, parts):
        ranked_parts = [next(ranked) for _ in keys]
        gold = _gold_set(ids, entity_type)
        hits.append(_hits(ranked_parts, gold, ks))
        top1.append((min((r[0][1] if r else 0.0) for r in ranked_parts), hits[-1][0]))
    return hits, top1


def evaluate_biosyn(task: str, split: str, data_dir: Path, cache_dir: Path, ks: Sequence[int] = KS,
                    retrieval: str = "exact") -> dict:
    """Accuracy@k of a BioSyn-protocol disease task on a split ("dev" or "test")."""
    directory = data_dir / "biosyn" / BIOSYN_TASKS[task]
    dictionary_path = directory / f"{split}_dictionary.txt"
    dictionary = read_biosyn_dictionary(dictionary_path)
    key = fingerprint("biosyn", DICTIONARY_FORMAT_VERSION, code_signature(), dictionary_path.read_bytes())
    linker = TypeLinker(dictionary, make_search(dictionary, key, cache_dir, retrieval))
    queries = read_biosyn_queries(directory / f"processed_{split}")
    hits, _ = _rank_queries(linker, queries, "Disease", ks)
    return {**_accuracy(hits, ks), "dictionary": str(dictionary_path), "dictionary_names": len(dictionary),
            "dictionary_concepts": len(dictionary.concepts)}


def evaluate_biosyn_chemical(linker: Linker, split: str, data_dir: Path, ks: Sequence[int] = KS) -> dict:
    """Accuracy@k of BC5CDR-chemical's BioSyn-format mentions against the package's chemical dictionary, and the
    share of the split's gold identifiers (and mentions) that the dictionary holds."""
    path = data_dir / "biosyn" / "bc5cdr-chemical" / "data.json"
    if not path.is_file():
        raise FileNotFoundError(f"BC5CDR chemical mentions not found: {path} (dataset_scripts/linking_data.py)")
    split_name = {"dev": "dev", "test": "test", "train": "train"}[split]
    queries = [(mention, ids) for mention, ids in json.loads(path.read_text(encoding="utf-8"))[split_name]
               if ids != "-1"]
    type_linker = linker.type_linker("Chemical")
    hits, _ = _rank_queries(type_linker, queries, "Chemical", ks)
    held = {i for concept in type_linker.dictionary.concepts for i in concept}
    gold_ids = [_gold_set(ids, "Chemical") for _, ids in queries]
    distinct = set().union(*gold_ids)
    return {**_accuracy(hits, ks), "dictionary": type_linker.dictionary.stats(),
            "gold_identifiers": len(distinct),
            "share_of_identifiers_in_dictionary": round(100 * len(distinct & held) / max(len(distinct), 1), 2),
            "share_of_mentions_with_an_identifier_in_dictionary": round(
                100 * sum(bool(ids & held) for ids in gold_ids) / max(len(gold_ids), 1), 2),
            "share_of_mentions_with_supplementary_ids": round(
                100 * sum(all(i.startswith("MESH:C") for i in ids) for ids in gold_ids) / max(len(gold_ids), 1), 2)}


def evaluate_pubtator(linker: Linker, task: str, split: str, data_dir: Path, ks: Sequence[int] = KS,
                      use_context: bool = True) -> tuple[dict, list[tuple[float, bool]]]:
    """Accuracy@k of the package's linker on a corpus's raw gold mentions (see the module docstring); also the
    (top-1 score, right) pairs that the threshold choice reads."""
    corpus, entity_type, splits = PUBTATOR_TASKS[task]
    if split not in splits:
        raise ValueError(f"task {task} has no {split} split here (it has {list(splits)})")
    documents = split_documents(corpus, split, data_dir)
    type_linker = linker.type_linker(entity_type)
    extra = {}
    mentions = list(gold_mentions(documents, entity_type))
    if entity_type == "Gene":
        held = {i for concept in type_linker.dictionary.concepts for i in concept}
        human = [(d, m) for d, m in mentions if set(m.identifiers) & held]
        extra = {"all_mentions": len(mentions), "non_human_mentions": len(mentions) - len(human),
                 "share_non_human": round(100 * (len(mentions) - len(human)) / max(len(mentions), 1), 2)}
        mentions = human
    hits, top1 = [], []
    for document, mention in mentions:
        context = document.text if use_context else None
        ranked = linker.candidates([mention.text], entity_type, context, top_k=max(ks))[0]
        hit = _hits([ranked], set(mention.identifiers), ks)
        hits.append(hit)
        top1.append((ranked[0][1] if ranked else 0.0, hit[0]))
    return {**_accuracy(hits, ks), **extra, "documents": len(documents)}, top1


def evaluate_end_to_end(linker: Linker, tagger, task: str, split: str, data_dir: Path) -> dict:
    """NER + linking on a corpus's documents, as HunFlair2 reports it: the tagger's entities of the task's type,
    linked with their document as context (below the type's threshold: no identifier, no prediction); a predicted
    (span, identifier) is right when the span is a gold mention's and the identifier one of its gold ids. Gold
    mentions without an identifier are left out, with the predictions on their spans. Also the NER-only F1 (spans).
    """
    corpus, entity_type, splits = PUBTATOR_TASKS[task]
    if split not in splits:
        raise ValueError(f"task {task} has no {split} split here (it has {list(splits)})")
    documents = split_documents(corpus, split, data_dir)
    gold: dict[tuple[str, int, int], set[str]] = {}
    unlinked: set[tuple[str, int, int]] = set()
    for document in documents:
        for mention in document.mentions:
            if mention.entity_type != entity_type:
                continue
            key = (document.pmid, mention.start, mention.end)
            if mention.identifiers:
                gold.setdefault(key, set()).update(mention.identifiers)
            else:
                unlinked.add(key)
    unlinked -= set(gold)
    start = time.perf_counter()
    found = tagger([document.text for document in documents], entity_types=[entity_type])
    counts = {"tp": 0, "fp": 0, "span_tp": 0, "spans": 0}
    for document, entities in zip(documents, found):
        linked = linker.link_entities(document.text, entities)
        for entity in linked:
            key = (document.pmid, entity["start"], entity["end"])
            if key in unlinked:
                continue
            counts["spans"] += 1
            counts["span_tp"] += key in gold
            if entity["id"] is not None:
                right = key in gold and entity["id"] in gold[key]
                counts["tp" if right else "fp"] += 1

    def f1(tp: int, predicted: int) -> dict:
        precision, recall = tp / max(predicted, 1), tp / max(len(gold), 1)
        return {"precision": round(100 * precision, 2), "recall": round(100 * recall, 2),
                "f1": round(100 * 2 * precision * recall / max(precision + recall, 1e-12), 2)}

    return {"documents": len(documents), "gold_mentions": len(gold), "left_out_gold_without_id": len(unlinked),
            "ner_linking": f1(counts["tp"], counts["tp"] + counts["fp"]), "ner_only": f1(counts["span_tp"],
                                                                                      counts["spans"]),
            "seconds": round(time.perf_counter() - start, 1)}


def choose_threshold(top1: list[tuple[float, bool]]) -> dict:
    """The threshold (0 to 1 by 0.01) maximising linking F1 over (top-1 score, right) pairs; the lowest of ties."""
    total = len(top1)
    best = None
    for step in range(101):
        threshold = step / 100
        answered = [right for score, right in top1 if score >= threshold]
        correct = sum(answered)
        precision = correct / len(answered) if answered else 0.0
        recall = correct / total if total else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if best is None or f1 > best["f1"] + 1e-12:
            best = {"threshold": threshold, "f1": f1, "precision": precision, "recall": recall,
                    "answered": len(answered)}
    return {key: round(value, 4) if isinstance(value, float) else value for key, value in best.items()} | {
        "mentions": total}


def evaluate_linking(split: str, tasks: Sequence[str] = TASKS, kb_dir=None, linking_dir=None, corpora_dir=None,
                     cache_dir=None, ks: Sequence[int] = KS, user_files: Sequence[str | Path] = (),
                     retrieval: str = "exact", use_context: bool = True, tagger=None) -> dict:
    """Every task on one split; `split="dev"` adds the threshold choice per type. GNormPlus is scored on its train
    split whatever `split` is (its test split is never read). `use_context=False` links the PubTator tasks' mentions
    without their document (no abbreviation or genus expansion): the ablation of both. With a `tagger` (a VANER
    pipeline), each PubTator task also gets `end_to_end` (`evaluate_end_to_end`).

    Raises:
        ValueError: an unknown task or split.
        FileNotFoundError: no linking data directory, or a file of it missing.
    """
    if split not in ("dev", "test"):
        raise ValueError(f"split must be dev or test, got {split!r}")
    unknown = [task for task in tasks if task not in TASKS]
    if unknown:
        raise ValueError(f"unknown linking task(s) {unknown}; known: {list(TASKS)}")
    linker = Linker(kb_dir=kb_dir, linking_dir=linking_dir, corpora_dir=corpora_dir, cache_dir=cache_dir,
                    user_files=user_files, retrieval=retrieval)
    data_dir = linker.paths.data_dir
    if data_dir is None:
        raise FileNotFoundError("no linking data directory: pass --linking-dir or set VANER_LINKING_DIR "
                                "(dataset_scripts/linking_data.py builds it)")
    results: dict = {"split": split, "retrieval": retrieval, "context": use_context, "tasks": {},
                     "published_accuracy@1_test": PUBLISHED}
    scores: dict[str, list[tuple[float, bool]]] = {}
    for task in tasks:
        start = time.perf_counter()
        if task in BIOSYN_TASKS:
            result = evaluate_biosyn(task, split, data_dir, linker.cache_dir, ks, retrieval)
        elif task == "biosyn-bc5cdr-chemical":
            result = evaluate_biosyn_chemical(linker, split, data_dir, ks)
        else:
            task_split = "train" if task == "gnormplus" else split
            result, top1 = evaluate_pubtator(linker, task, task_split, data_dir, ks, use_context)
            result["split"] = task_split
            scores.setdefault(PUBTATOR_TASKS[task][1], []).extend(top1)
            if tagger is not None:
                result["end_to_end"] = evaluate_end_to_end(linker, tagger, task, task_split, data_dir)
        result["seconds"] = round(time.perf_counter() - start, 1)
        logger.info("%s %s: %s", task, split, result)
        results["tasks"][task] = result
    if split == "dev":
        results["threshold_choice"] = {entity_type: choose_threshold(top1) for entity_type, top1 in scores.items()}
    results["dictionaries"] = linker.stats()
    results["directories"] = {"kb_dir": str(linker.paths.kb_dir), "linking_dir": str(data_dir)}
    provenance = data_dir / "PROVENANCE.json"
    if provenance.is_file():
        results["linking_data_repositories"] = json.loads(provenance.read_text(encoding="utf-8"))["repositories"]
    results["thresholds_used"] = "none (accuracy@k ranks all candidates)"
    return results
