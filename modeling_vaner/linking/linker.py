"""The linker: mentions of a type -> ranked concept identifiers (CURIEs) with scores.

Per mention (`TypeLinker.rank`), candidates come from five lookups, best first:

1. the mention's `name_key` equals a dictionary name's (case, hyphens, Greek letters, plurals, British spellings
   folded): score 1.0;
2. its `compact_key` (no spaces: "IL2" and "IL-2") equals a name's: score `COMPACT_SCORE`;
3. its `bag_key` (order-free words: "cancer of the breast" and "breast cancer") equals a name's: `BAG_SCORE`;
4. character 3-gram TF-IDF over the names' keys, `dbr/retrieval.py`'s settings (within word boundaries, sublinear
   tf): the cosine. `retrieval="exact"` (default) computes it against every name (sparse products, in batches);
   `retrieval="faiss"` takes `dbr/retrieval.py`'s `Retriever` (FAISS over a truncated SVD, the candidates
   re-scored exactly), which misses some best names (accuracy@1 on BioSyn's NCBI-disease and BC5CDR dev: 88.06
   and 88.13 against 88.44 and 89.09, `benchmarks/results/linking_dev_faiss.json` and `linking_dev.json`);
5. where nothing above reached `SUBSTITUTION_SCORE` (types in `dictionaries.SYNONYM_TYPES`): the mention with up
   to two words replaced by synonyms the dictionary teaches (`dictionaries.mine_synonyms`: "prostate carcinoma" ->
   "prostatic neoplasm") equals a name exactly or order-free: `SUBSTITUTION_SCORE`, the concept reached by the most
   replacements first.

Concepts sharing a name are ordered by the dictionary's priority (a gene's symbol before another gene's synonym). With
a `context` (the document), abbreviations defined in it ("Huntington disease (HD)") are expanded, and a species
mention with an abbreviated genus ("E. coli") takes the genus of a binomial in the document; the expanded and the
original mention are both ranked and the better score kept. A mention whose best score is below the type's
threshold (`DEFAULT_THRESHOLDS`, chosen on dev data by `vaner evaluate-linking --split dev`) gets no identifier.

The method was chosen on dev splits (`benchmarks/results/linking_dev*.json`): character 3-grams within word
boundaries over 1-4-grams and over a mix with word TF-IDF (no better on BioSyn's NCBI-disease and BC5CDR dev in
an exploration that is not committed), exact search over FAISS (above), the document as context over none
(`linking_dev_no_context.json`: from 0.5 points of accuracy@1 on genes to 22.5 on LINNAEUS species); a
pointwise logistic-regression re-ranker over these features did worse on NCBI-disease dev and was dropped, and the
VANER backbone as a re-ranker was not tried.
"""

import logging
import os
import pickle
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..dbr.kb import KnowledgeBase, _tree_signature, canonical_type
from ..dbr.retrieval import CharNgramEncoder, Retriever, squash_punctuation
from ..dbr.text import fingerprint
from .dictionaries import Dictionary, build_dictionary
from .sources import DEFAULT_SOURCES, LinkingPaths, bundle_checksums, resolve_linking_paths, source_files
from .tasks import RETRIEVALS
from .text import (
    bag_key,
    compact_key,
    expand_abbreviations,
    expand_genus,
    find_abbreviations,
    name_key,
    word_substitutions,
)

logger = logging.getLogger(__name__)

DICTIONARY_FORMAT_VERSION = 1
COMPACT_SCORE = 0.99
BAG_SCORE = 0.95
# Above every TF-IDF cosine it overrides (accuracy@1 on BioSyn's NCBI-disease / BC5CDR-disease dev: 89.96 / 89.76
# at 0.95, 89.33 / 89.78 at 0.8, against 88.44 / 89.09 without replacements; docs/RESULTS.md).
SUBSTITUTION_SCORE = 0.95
RETRIEVAL_DEPTH = 32  # names kept per mention from the TF-IDF search
SEARCH_BATCH = 64  # mentions per sparse product (its result grows with the dictionary: ~10 MB per mention at most)
# Best linking F1 on each type's dev mentions (benchmarks/results/linking_dev_bundle.json, "threshold_choice"); a
# type that has none there (a user's) takes the largest.
DEFAULT_THRESHOLDS = {"Disease": 0.70, "Chemical": 0.78, "Gene": 0.73, "Species": 0.76}
FALLBACK_THRESHOLD = max(DEFAULT_THRESHOLDS.values())


def linking_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """`cache_dir`, else the package cache's `linking/` (`$VANER_CACHE/linking`, else ~/.cache/vaner/linking)."""
    if cache_dir is not None:
        return Path(cache_dir)
    from ..backbone import cache_dir as package_cache_dir

    return package_cache_dir() / "linking"


class SparseSearch:
    """Exact character 3-gram TF-IDF cosine of queries with every name (the vectorizer settings of
    `dbr/retrieval.py`'s `CharNgramEncoder`, without its SVD): `search(queries, top_k)` -> per query
    [(row, cosine), ...], best first, like `Retriever.search`. A query's 3-grams that no name has count in its norm
    with the largest idf (a vectorizer alone drops them: "breast neoplasm tissue" would score 1.0 against "breast
    neoplasm").

    Args:
        names: the names (dictionary keys) to search.
    """

    def __init__(self, names: Sequence[str]):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import normalize

        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), preprocessor=squash_punctuation,
                                          sublinear_tf=True, dtype=np.float32, norm=None).fit(names)
        self.names_t = normalize(self.vectorizer.transform(names)).T.tocsr()
        self.unknown_weight = float(self.vectorizer.idf_.max())

    def _queries(self, queries: Sequence[str]):
        """The queries' TF-IDF rows, each divided by its norm over all its 3-grams, unknown ones included."""
        from scipy.sparse import diags

        matrix = self.vectorizer.transform(queries).tocsr()
        squared = np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()
        analyzer, vocabulary = self.vectorizer.build_analyzer(), self.vectorizer.vocabulary_
        for i, query in enumerate(queries):
            grams: dict[str, int] = {}
            for gram in analyzer(query):
                if gram not in vocabulary:
                    grams[gram] = grams.get(gram, 0) + 1
            squared[i] += sum(((1 + np.log(count)) * self.unknown_weight) ** 2 for count in grams.values())
        return diags(1 / np.sqrt(np.maximum(squared, 1e-12))) @ matrix

    def search(self, queries: Sequence[str], top_k: int = 5) -> list[list[tuple[int, float]]]:
        results = []
        for start in range(0, len(queries), SEARCH_BATCH):
            scores = (self._queries(queries[start:start + SEARCH_BATCH]) @ self.names_t).tocsr()
            for row in range(scores.shape[0]):
                begin, end = scores.indptr[row], scores.indptr[row + 1]
                data, columns = scores.data[begin:end], scores.indices[begin:end]
                if len(data) > top_k:
                    keep = np.argpartition(-data, top_k)[:top_k]
                    data, columns = data[keep], columns[keep]
                order = np.lexsort((columns, -data))
                results.append([(int(columns[i]), float(data[i])) for i in order])
        return results


class TypeLinker:
    """One type's dictionary and its TF-IDF retriever.

    Args:
        dictionary: the type's names and concepts.
        retriever: a `SparseSearch` or `Retriever` over the dictionary's keys (None for an empty dictionary).
    """

    def __init__(self, dictionary: Dictionary, retriever: Retriever | None):
        self.dictionary, self.retriever = dictionary, retriever

    def _row_candidates(self, rows, score: float, found: dict, level: int) -> None:
        for row in rows:
            for priority, concept in self.dictionary.key_concepts[row]:
                candidate = (score, -level, -priority)  # a tie: the earlier lookup, then the lower priority
                if concept not in found or candidate > found[concept]:
                    found[concept] = candidate

    def _substitution_candidates(self, key: str, found: dict) -> None:
        """Lookup 5 (module docstring): each name the key's synonym replacements reach votes for its first
        concept; every concept voted for scores `SUBSTITUTION_SCORE`, the one with more votes first."""
        dictionary, votes = self.dictionary, Counter()
        for variant in word_substitutions(key, dictionary.synonyms):
            rows = dictionary.bag_rows.get(bag_key(variant), [])
            if variant in dictionary.key_rows:
                rows = [dictionary.key_rows[variant], *rows]
            votes.update(dictionary.key_concepts[row][0][1] for row in rows)
        for concept, count in votes.items():
            candidate = (SUBSTITUTION_SCORE, -4, count)
            if concept not in found or candidate > found[concept]:
                found[concept] = candidate

    def rank(self, keys: Sequence[str], top_k: int = 1) -> list[list[tuple[tuple[str, ...], float]]]:
        """For each key (a `name_key`), up to `top_k` (concept, score) pairs, best first.

        Raises:
            ValueError: `top_k` below 1.
        """
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        dictionary = self.dictionary
        found: list[dict] = []
        for key in keys:
            candidates: dict[int, tuple[float, int, float]] = {}
            if key in dictionary.key_rows:
                self._row_candidates([dictionary.key_rows[key]], 1.0, candidates, 0)
            self._row_candidates(dictionary.compact_rows.get(compact_key(key), ()), COMPACT_SCORE, candidates, 1)
            self._row_candidates(dictionary.bag_rows.get(bag_key(key), ()), BAG_SCORE, candidates, 2)
            found.append(candidates)
        # the search runs for every key without an exact name (so that the best candidate never depends on top_k)
        # and for any key with fewer candidates than asked
        need = [i for i, (key, candidates) in enumerate(zip(keys, found))
                if key and (len(candidates) < top_k or max(candidates.values())[0] < 1.0)]
        if need and self.retriever is not None:
            hits = self.retriever.search([keys[i] for i in need], top_k=max(RETRIEVAL_DEPTH, top_k))
            for i, rows in zip(need, hits):
                for row, score in rows:
                    self._row_candidates([row], min(float(score), 1.0), found[i], 3)
        if dictionary.synonyms:
            for key, candidates in zip(keys, found):
                if key and max(candidates.values(), default=(0.0,))[0] < SUBSTITUTION_SCORE:
                    self._substitution_candidates(key, candidates)
        ranked = []
        for candidates in found:
            order = sorted(candidates.items(), key=lambda item: (tuple(-v for v in item[1]), item[0]))[:top_k]
            ranked.append([(dictionary.concepts[concept], value[0]) for concept, value in order])
        return ranked


def code_signature() -> str:
    """A digest of the code that builds dictionaries (`text.py`, `sources.py`, `dictionaries.py`, `corpora.py`,
    `linker.py`, `bundle.py`): a cached dictionary built by other code is rebuilt."""
    here = Path(__file__).resolve().parent
    files = ("text.py", "sources.py", "dictionaries.py", "corpora.py", "linker.py", "bundle.py")
    return fingerprint(*((here / name).read_bytes() for name in files))


def make_search(dictionary: Dictionary, key: str, cache_dir: Path, retrieval: str = "exact", rebuild: bool = False):
    """The TF-IDF search over a dictionary's keys, cached under `<cache_dir>/index/` (None for fewer than 2 names)."""
    if len(dictionary) < 2:
        return None
    if retrieval == "faiss":
        kb = KnowledgeBase(dictionary.keys, [dictionary.entity_type] * len(dictionary), [[]] * len(dictionary), {},
                           key)
        return Retriever.load_or_build(kb, CharNgramEncoder(), cache_dir=cache_dir, rebuild=rebuild, progress=False)
    path = cache_dir / "index" / f"{key}-sparse.pkl"
    if path.is_file() and not rebuild:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    search = SparseSearch(dictionary.keys)
    _write_pickle(search, path)
    return search


def _write_pickle(value, path: Path) -> None:
    """`value` pickled to `path` through a file of this process's own, renamed at the end: processes building the
    same entry at once (`torchrun`) never read a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    temporary.replace(path)


class Linker:
    """Links mentions to concept identifiers, one dictionary per type, each built on first use and cached. The
    bundle shipped in the package is always read (MeSH, NCBI Gene and Taxonomy, DrugBank, LINNAEUS train
    mentions); the directories add the sources whose licences keep them out of it (CTD's vocabularies, S800,
    NCBI-disease and BC5CDR train mentions).

    Args:
        kb_dir: the knowledge-base dictionaries (default $VANER_KB_DIR, else `<corpora_dir>/kb`).
        linking_dir: the linking data directory (default $VANER_LINKING_DIR): train-split mentions.
        corpora_dir: the corpora directory, for its `kb/` when `kb_dir` is not given.
        bundle_dir: the shipped sources (default the package's `linking/bundle/`, `bundle.py`).
        sources: per type, the dictionary sources (default `dictionaries.DEFAULT_SOURCES`).
        user_files: `name<TAB>type<TAB>identifier` files, for any type (their names rank first).
        thresholds: per type, the score under which a mention gets no identifier (default `DEFAULT_THRESHOLDS`).
        cache_dir: where dictionaries and indexes are cached (default `linking_cache_dir()`).
        rebuild: rebuild the cached dictionaries and indexes.
        retrieval: "exact" (default) or "faiss" (see the module docstring).

    Raises:
        FileNotFoundError: a directory or user file given does not exist, or the bundle is missing.
        ValueError: an unknown retrieval.
    """

    def __init__(self, kb_dir: str | Path | None = None, linking_dir: str | Path | None = None,
                 corpora_dir: str | Path | None = None, sources: dict[str, Sequence[str]] | None = None,
                 user_files: Sequence[str | Path] = (), thresholds: dict[str, float] | None = None,
                 cache_dir: str | Path | None = None, rebuild: bool = False, retrieval: str = "exact",
                 bundle_dir: str | Path | None = None):
        if retrieval not in RETRIEVALS:
            raise ValueError(f"retrieval must be one of {RETRIEVALS}, got {retrieval!r}")
        self.retrieval = retrieval
        self.paths: LinkingPaths = resolve_linking_paths(kb_dir, linking_dir, corpora_dir, bundle_dir)
        self.sources = {**DEFAULT_SOURCES, **(sources or {})}
        self.user_files = [Path(p).expanduser().resolve() for p in user_files]
        for path in self.user_files:
            if not path.is_file():
                raise FileNotFoundError(f"user dictionary not found: {path}")
        self.thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        self.cache_dir, self.rebuild = linking_cache_dir(cache_dir), rebuild
        self._linkers: dict[str, TypeLinker] = {}

    def threshold(self, entity_type: str) -> float:
        return self.thresholds.get(canonical_type(entity_type), FALLBACK_THRESHOLD)

    def type_linker(self, entity_type: str) -> TypeLinker:
        """The linker of one type (canonicalised: "Gene/Protein" is Gene), loaded from the cache or built."""
        entity_type = canonical_type(entity_type)
        if entity_type not in self._linkers:
            self._linkers[entity_type] = self._load(entity_type)
        return self._linkers[entity_type]

    def _load(self, entity_type: str) -> TypeLinker:
        sources = tuple(self.sources.get(entity_type, ()))
        roots = source_files(entity_type, self.paths, sources) + self.user_files
        key = fingerprint(DICTIONARY_FORMAT_VERSION, code_signature(), entity_type, sources, _tree_signature(
            [root for root in roots if root.exists()]), [str(root) for root in roots],
            bundle_checksums(self.paths, sources))
        path = self.cache_dir / "dictionaries" / f"{entity_type}-{key}.pkl"
        if path.is_file() and not self.rebuild:
            with open(path, "rb") as handle:
                dictionary = pickle.load(handle)
        else:
            dictionary = build_dictionary(entity_type, self.paths, sources, self.user_files)
            _write_pickle(dictionary, path)
            logger.info("linking dictionary %s: %d names, %d concepts -> %s", entity_type, len(dictionary),
                        len(dictionary.concepts), path)
        return TypeLinker(dictionary, make_search(dictionary, key, self.cache_dir, self.retrieval, self.rebuild))

    def candidates(self, mentions: Sequence[str], entity_type: str, context: str | None = None,
                   top_k: int = 1) -> list[list[tuple[tuple[str, ...], float]]]:
        """For each mention, up to `top_k` (concept, score) pairs, best first, no threshold applied; a concept is a
        tuple of CURIEs naming one thing (the first is the one shown)."""
        entity_type = canonical_type(entity_type)
        linker = self.type_linker(entity_type)
        variants = [[mention] for mention in mentions]
        if context:
            abbreviations = find_abbreviations(context)
            for forms in variants:
                for expanded in (expand_abbreviations(forms[0], abbreviations),
                                 expand_genus(forms[0], context) if entity_type == "Species" else forms[0]):
                    if expanded not in forms:
                        forms.append(expanded)
        flat = [name_key(form) for forms in variants for form in forms]
        ranked = iter(linker.rank(flat, top_k))
        results = []
        for forms in variants:
            merged: dict[tuple[str, ...], float] = {}
            for _ in forms:
                for concept, score in next(ranked):
                    merged[concept] = max(score, merged.get(concept, -1.0))
            results.append(sorted(merged.items(), key=lambda item: -item[1])[:top_k])
        return results

    def link(self, mentions: Sequence[str], entity_type: str, context: str | None = None, top_k: int = 1,
             threshold: float | None = None) -> list[list[tuple[str, float]]]:
        """For each mention, up to `top_k` (identifier, score) pairs, best first: CURIEs such as "MESH:D003924",
        "NCBIGene:672", "NCBITaxon:9606"; an empty list when no candidate reaches the threshold.

        Args:
            mentions: the mention texts.
            entity_type: their type ("Disease", "Chemical", "Gene", "Species", or a type of a user file).
            context: the document the mentions come from, for the abbreviations it defines.
            top_k: identifiers per mention.
            threshold: the score below which an identifier is left out (default: the type's, `DEFAULT_THRESHOLDS`).

        Returns:
            One list per mention of (identifier, score) pairs, score in [0, 1].
        """
        threshold = self.threshold(entity_type) if threshold is None else threshold
        return [[(concept[0], round(score, 4)) for concept, score in ranked if score >= threshold]
                for ranked in self.candidates(mentions, entity_type, context, top_k)]

    def link_entities(self, text: str, entities: list[dict], type_field: str = "entity_group") -> list[dict]:
        """The pipeline's entities of one text, each with `id` (a CURIE, or None) and `id_score` (None with it),
        linked type by type with the text as context; entities of a type without a dictionary get None."""
        by_type: dict[str, list[int]] = {}
        for index, entity in enumerate(entities):
            by_type.setdefault(entity[type_field], []).append(index)
        linked = [dict(entity, id=None, id_score=None) for entity in entities]
        for entity_type, indices in by_type.items():
            if not self.has_dictionary(entity_type):
                continue
            for index, ranked in zip(indices, self.link([entities[i]["word"] for i in indices], entity_type, text)):
                if ranked:
                    linked[index]["id"], linked[index]["id_score"] = ranked[0]
        return linked

    def has_dictionary(self, entity_type: str) -> bool:
        """Whether the type has any name (a default source that is present, or a user file's line)."""
        return len(self.type_linker(entity_type).dictionary) > 0

    def stats(self) -> dict:
        """The loaded dictionaries' sizes and skipped sources."""
        return {entity_type: linker.dictionary.stats() for entity_type, linker in self._linkers.items()}


def load_linker(**kwargs) -> Linker:
    """A `Linker` (see its arguments); dictionaries load on first use."""
    return Linker(**kwargs)
