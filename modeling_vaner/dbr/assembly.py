"""Dense sentences, as in section 3.4 of the paper, built shard by shard with a resumable cache.

For one corpus sentence of type T: mine candidate phrases, retrieve the top-K knowledge-base names of each, keep each
name once (case- and space-insensitively, best-ranked first), split them into positives (KB type matches T by
case-insensitive containment either way) and negatives, sample at most `max_positive` positives and `max_negative`
negatives, shuffle, and concatenate their words. Words of positives are labelled B (first) / I (others), every other
word O. The sentence gets the type-only instruction (`instruction_dataset=None`).

Variants: `dbr` (retrieved entities), `random` (the same numbers of positives and negatives as `dbr` for that
sentence, drawn uniformly from the whole knowledge base) and `none` (no dense sentences). A sentence whose retrieval
yields no entity gets no dense sentence.

Randomness is a `random.Random` per sentence, seeded from (seed, variant, sentence id): the output does not depend on
shard size, batch order, resumption or on which other sentences are built.
"""

import json
import logging
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..text_vaner import word_strings
from . import DBR_VARIANTS
from .kb import KnowledgeBase, type_matches
from .mining import PhraseMiner
from .text import default_cache_dir, fingerprint, name_key, stable_seed

logger = logging.getLogger(__name__)

SHARD_SIZE = 512
SHARD_FORMAT_VERSION = 1


@dataclass(frozen=True)
class DBRConfig:
    """Retrieval depth per phrase, the paper's entity caps, and the phrase miner."""

    top_k: int = 5
    max_positive: int = 10
    max_negative: int = 5
    miner: PhraseMiner = field(default_factory=PhraseMiner)

    def __post_init__(self):
        if self.top_k < 1 or self.max_positive < 0 or self.max_negative < 0:
            raise ValueError(f"top_k must be >= 1 and the entity caps >= 0, got {self}")


def check_variant(variant: str) -> str:
    """`variant` itself if it is one of DBR_VARIANTS.

    Raises:
        ValueError: an unknown variant.
    """
    if variant not in DBR_VARIANTS:
        raise ValueError(f"unknown DBR variant {variant!r}; expected one of {', '.join(DBR_VARIANTS)}")
    return variant


class TypePools:
    """Per target type, the knowledge-base rows that are positives and negatives (for the `random` variant)."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self._pools: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, target_type: str) -> tuple[np.ndarray, np.ndarray]:
        if target_type not in self._pools:
            matches = {t: type_matches(t, target_type) for t in set(self.kb.types)}
            positive = np.fromiter((matches[t] for t in self.kb.types), dtype=bool, count=len(self.kb))
            self._pools[target_type] = (np.flatnonzero(positive), np.flatnonzero(~positive))
        return self._pools[target_type]


def select_entities(rows: Sequence[int], kb: KnowledgeBase, target_type: str, rng: random.Random,
                    config: DBRConfig) -> tuple[list[int], list[int]]:
    """Positive and negative KB rows sampled from retrieved `rows` (best first; a name is kept once)."""
    seen, positives, negatives = set(), [], []
    for row in rows:
        key = name_key(kb.names[row])
        if key not in seen:
            seen.add(key)
            (positives if type_matches(kb.types[row], target_type) else negatives).append(row)
    return (rng.sample(positives, min(len(positives), config.max_positive)),
            rng.sample(negatives, min(len(negatives), config.max_negative)))


def draw_random(pools: TypePools, kb: KnowledgeBase, target_type: str, counts: tuple[int, int],
                rng: random.Random) -> tuple[list[int], list[int]]:
    """`counts` = (positives, negatives) rows drawn uniformly from the whole KB, names distinct.

    Raises:
        ValueError: the knowledge base holds fewer rows than the draw needs.
    """
    seen, drawn = set(), ([], [])
    for pool, count, chosen in zip(pools(target_type), counts, drawn):
        if count > len(pool):
            raise ValueError(f"the knowledge base has {len(pool)} rows for a draw of {count} ({target_type})")
        while len(chosen) < count:
            row = int(pool[rng.randrange(len(pool))])
            if name_key(kb.names[row]) not in seen:
                seen.add(name_key(kb.names[row]))
                chosen.append(row)
    return drawn


def dense_sentence(kb: KnowledgeBase, positives: list[int], negatives: list[int], rng: random.Random) -> dict:
    """Shuffle the entities and concatenate their words: tokens, O/B/I ner_tags and the entities used."""
    entities = [(row, True) for row in positives] + [(row, False) for row in negatives]
    rng.shuffle(entities)
    tokens, tags, used = [], [], []
    for row, positive in entities:
        words = word_strings(kb.names[row])
        tokens.extend(words)
        tags.extend([1] + [2] * (len(words) - 1) if positive else [0] * len(words))
        used.append({"name": kb.names[row], "type": kb.types[row], "positive": positive})
    return {"tokens": tokens, "ner_tags": tags, "dbr_entities": used}


class DBRBuilder:
    """Builds the dense sentences of corpus sentences with a `Retriever`; `build(...)` caches shards on disk."""

    def __init__(self, retriever, config: DBRConfig | None = None, cache_dir: str | Path | None = None):
        self.retriever, self.kb = retriever, retriever.kb
        self.config = config or DBRConfig()
        self.cache_dir = Path(cache_dir or default_cache_dir())
        self.pools = TypePools(self.kb)

    def candidates(self, sentences: Sequence[dict], phrases: Sequence[list[str]] | None = None) -> list[list[int]]:
        """Per sentence, the retrieved KB rows of all its phrases (phrase order, then rank); phrases are mined
        unless given."""
        phrases = phrases or [self.config.miner(sentence["tokens"]) for sentence in sentences]
        hits = iter(self.retriever.search([p for ps in phrases for p in ps], self.config.top_k))
        return [[row for _ in ps for row, _score in next(hits)] for ps in phrases]

    def build_shard(self, sentences: Sequence[dict], variant: str, seed: int) -> list[dict]:
        """Dense-sentence records of `sentences` (the `dbr` and `random` variants)."""
        records = []
        for sentence, rows in zip(sentences, self.candidates(sentences)):
            target = sentence["entity_type"]
            rng = random.Random(stable_seed(seed, variant, sentence["id"]))
            positives, negatives = select_entities(rows, self.kb, target, rng, self.config)
            if variant == "random":
                positives, negatives = draw_random(self.pools, self.kb, target, (len(positives), len(negatives)), rng)
            if not positives and not negatives:
                continue
            records.append({"id": f"{sentence['id']}-dbr", **dense_sentence(self.kb, positives, negatives, rng),
                            "entity_type": target, "corpus": sentence["corpus"], "instruction_dataset": None,
                            "source": "dbr"})
        return records

    def shard_dir(self, name: str, variant: str, seed: int) -> Path:
        config = json.dumps(asdict(self.config), sort_keys=True)
        key = fingerprint(SHARD_FORMAT_VERSION, name, variant, seed, self.kb.key, self.retriever.encoder.key, config)
        return self.cache_dir / "build" / f"{name}-{variant}-{key}"

    def build(self, sentences: Sequence[dict], name: str, variant: str = "dbr", seed: int = 0, use_cache: bool = True,
              progress: bool = True) -> list[dict]:
        """Dense-sentence records of corpus sentences, `SHARD_SIZE` at a time; `name` (e.g. "ncbi-train") labels them.

        With `use_cache`, each finished shard is written to `shard_dir(...)/shard-NNNNN.jsonl` together with the ids
        of the sentences it covers, and a later call with the same settings reuses it: an interrupted build resumes.
        """
        from tqdm.auto import tqdm

        if check_variant(variant) == "none" or not sentences:
            return []
        directory = self.shard_dir(name, variant, seed)
        records = []
        with tqdm(total=len(sentences), desc=f"DBR {name} ({variant})", unit="sent",
                  disable=not progress) as bar:
            for number, start in enumerate(range(0, len(sentences), SHARD_SIZE)):
                shard = sentences[start:start + SHARD_SIZE]
                path = directory / f"shard-{number:05d}.jsonl"
                ids = [sentence["id"] for sentence in shard]
                cached = _read_shard(path, ids) if use_cache else None
                if cached is None:
                    cached = self.build_shard(shard, variant, seed)
                    if use_cache:
                        _write_shard(path, ids, cached)
                records.extend(cached)
                bar.update(len(shard))
        return records


def _read_shard(path: Path, ids: list[str]) -> list[dict] | None:
    """A cached shard's records, or None when absent or built for other sentences."""
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as handle:
        header = json.loads(handle.readline())
        if header.get("ids") != ids:
            logger.warning("%s was built for other sentences; rebuilding it", path)
            return None
        return [json.loads(line) for line in handle]


def _write_shard(path: Path, ids: list[str], records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"ids": ids}) + "\n")
        handle.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    temporary.replace(path)
