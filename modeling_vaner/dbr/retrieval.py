"""Top-K retrieval of knowledge-base names for query phrases, with a pluggable encoder and a FAISS index.

Encoders turn names into L2-normalized float32 vectors, so that inner product is cosine similarity:

- `CharNgramEncoder` (default, `"tfidf"`): character 3-gram TF-IDF (sublinear tf, within word boundaries, lower-case,
  no spaces around symbols so that corpus tokenization "IL - 2" meets dictionary spelling "IL-2") reduced
  to `dim` dimensions by a seeded truncated SVD fitted on the knowledge-base names. Offline, no model. The top
  `rerank_factor * K` FAISS hits are re-scored with the exact sparse TF-IDF cosine, so that the SVD only has to
  find candidates, not to rank them.
- `SentenceTransformerEncoder` (any other encoder name, e.g. `cambridgeltl/SapBERT-from-PubMedBERT-fulltext`, the
  paper's choice): needs `pip install sentence-transformers` and the model (downloaded or in the HF cache); imported
  only when used.

The index is exact (`IndexFlatIP`) up to `FLAT_INDEX_MAX` names and an inverted file (`IndexIVFFlat`, 4*sqrt(N)
lists, `nprobe` 32) beyond, which keeps search sub-linear for millions of names. Index and fitted encoder are cached
under `<cache_dir>/index/<kb key>-<encoder key>/`.
"""

import logging
import pickle
import re
from pathlib import Path

import numpy as np

from .kb import KnowledgeBase
from .text import default_cache_dir, fingerprint, stable_seed

logger = logging.getLogger(__name__)

_AROUND_SYMBOL = re.compile(r"\s*([^\w\s])\s*")
FLAT_INDEX_MAX = 100_000
IVF_NPROBE = 32
ENCODE_BATCH = 16_384
DEFAULT_ENCODER = "tfidf"


def squash_punctuation(text: str) -> str:
    """Lower-case, no spaces around symbols: "IL - 2 receptor" and "IL-2 receptor" encode alike."""
    return _AROUND_SYMBOL.sub(r"\1", text.lower())


def _l2_normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class CharNgramEncoder:
    """Character n-gram TF-IDF, reduced by truncated SVD to `dim` dimensions (see the module docstring)."""

    def __init__(self, dim: int = 192, ngram_range: tuple[int, int] = (3, 3), max_fit_names: int = 200_000,
                 rerank_factor: int = 4):
        self.dim, self.ngram_range, self.max_fit_names, self.rerank_factor = (
            dim, tuple(ngram_range), max_fit_names, rerank_factor
        )
        self.vectorizer = self.svd = self.name_matrix = None

    @property
    def key(self) -> str:
        return fingerprint("tfidf", self.dim, self.ngram_range, self.max_fit_names)

    def fit(self, names: list[str], seed: int) -> None:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        sample = names
        if len(names) > self.max_fit_names:
            rows = np.random.default_rng(seed).choice(len(names), self.max_fit_names, replace=False)
            sample = [names[i] for i in np.sort(rows)]
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range,
                                          preprocessor=squash_punctuation,
                                          sublinear_tf=True, min_df=2, dtype=np.float32).fit(sample)
        n_components = min(self.dim, len(self.vectorizer.vocabulary_) - 1)
        self.svd = TruncatedSVD(n_components=n_components, n_iter=4, random_state=seed % 2**32)
        self.svd.fit(self.vectorizer.transform(sample))
        self.name_matrix = self.vectorizer.transform(names).tocsr()

    def encode(self, texts: list[str]) -> np.ndarray:
        return _l2_normalize(self.svd.transform(self.vectorizer.transform(texts)))

    def rerank(self, queries: list[str], candidates: np.ndarray) -> np.ndarray:
        """Exact TF-IDF cosine of each query with its candidate rows (-1 = no candidate, scored -inf)."""
        query_matrix = self.vectorizer.transform(queries).tocsr()
        rows = np.repeat(np.arange(len(queries)), candidates.shape[1])
        valid = candidates.ravel() >= 0
        scores = np.full(candidates.size, -np.inf, dtype=np.float32)
        products = query_matrix[rows[valid]].multiply(self.name_matrix[candidates.ravel()[valid]])
        scores[valid] = np.asarray(products.sum(axis=1)).ravel()
        return scores.reshape(candidates.shape)

    def save(self, directory: Path) -> None:
        with open(directory / "encoder.pkl", "wb") as handle:
            pickle.dump(self.__dict__, handle, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, directory: Path) -> None:
        with open(directory / "encoder.pkl", "rb") as handle:
            self.__dict__.update(pickle.load(handle))


class SentenceTransformerEncoder:
    """Any sentence-transformers model (e.g. SapBERT); imported lazily, not a dependency of VANER."""

    rerank_factor = 1

    def __init__(self, model_name: str, batch_size: int = 256, device: str | None = None):
        self.model_name, self.batch_size, self.device = model_name, batch_size, device
        self._model = None

    @property
    def key(self) -> str:
        return fingerprint("sentence-transformers", self.model_name)

    @property
    def model(self):
        """The sentence-transformers model, loaded on first use.

        Raises:
            ImportError: sentence-transformers is not installed.
        """
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise ImportError(
                    f"encoder {self.model_name!r} needs sentence-transformers: pip install sentence-transformers "
                    "(or use the default offline encoder, --encoder tfidf)"
                ) from None
            self._model = SentenceTransformer(self.model_name, device=self.device)
        return self._model

    def fit(self, names: list[str], seed: int) -> None:
        """Pretrained: nothing to fit."""

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False)
        return _l2_normalize(vectors)

    def save(self, directory: Path) -> None:
        """The model is reloaded by name."""

    def load(self, directory: Path) -> None:
        """The model is reloaded by name."""


def make_encoder(name: str = DEFAULT_ENCODER):
    """`"tfidf"` for the offline character n-gram encoder, else a sentence-transformers model name or path.

    Raises:
        ValueError: an empty or non-string name.
    """
    if not name or not name.strip():
        raise ValueError("encoder name must be 'tfidf' or a sentence-transformers model name")
    return CharNgramEncoder() if name == "tfidf" else SentenceTransformerEncoder(name)


def _build_index(vectors: np.ndarray, seed: int):
    import faiss

    count, dim = vectors.shape
    if count <= FLAT_INDEX_MAX:
        index = faiss.IndexFlatIP(dim)
    else:
        nlist = int(4 * np.sqrt(count))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed % 2**31
        training = vectors[np.sort(np.random.default_rng(seed).choice(count, min(count, 64 * nlist), replace=False))]
        index.train(training)
        index.nprobe = IVF_NPROBE
    index.add(vectors)
    return index


class Retriever:
    """Top-K knowledge-base names for query phrases: `search(queries, top_k)` -> per query [(row, score), ...]."""

    def __init__(self, kb: KnowledgeBase, encoder, index):
        self.kb, self.encoder, self.index = kb, encoder, index

    @classmethod
    def load_or_build(cls, kb: KnowledgeBase, encoder=DEFAULT_ENCODER, cache_dir: str | Path | None = None,
                      seed: int = 0, rebuild: bool = False, progress: bool = True) -> "Retriever":
        """The retriever over `kb`, from `<cache_dir>/index/<kb key>-<encoder key>-<seed>/` or built and cached
        there. `encoder`: a name for `make_encoder`, or an encoder object (e.g. a `CharNgramEncoder` with other
        settings, as the linker's)."""
        import faiss
        from tqdm.auto import tqdm

        model = make_encoder(encoder) if isinstance(encoder, str) else encoder
        directory = Path(cache_dir or default_cache_dir()) / "index" / f"{kb.key}-{model.key}-{seed}"
        if (directory / "index.faiss").is_file() and not rebuild:
            model.load(directory)
            return cls(kb, model, faiss.read_index(str(directory / "index.faiss")))
        model.fit(kb.names, seed=stable_seed(seed, "encoder"))
        batches = range(0, len(kb), ENCODE_BATCH)
        vectors = np.concatenate([model.encode(kb.names[start:start + ENCODE_BATCH])
                                  for start in tqdm(batches, desc="encoding KB names", unit="batch",
                                                    disable=not progress)])
        index = _build_index(vectors, stable_seed(seed, "index"))
        directory.mkdir(parents=True, exist_ok=True)
        model.save(directory)
        faiss.write_index(index, str(directory / "index.faiss.tmp"))
        (directory / "index.faiss.tmp").replace(directory / "index.faiss")
        logger.info("retrieval index for %d names written to %s", len(kb), directory)
        return cls(kb, model, index)

    def search(self, queries: list[str], top_k: int = 5) -> list[list[tuple[int, float]]]:
        """For each query, up to `top_k` (knowledge-base row, cosine) pairs, best first (ties: lower row first).

        Raises:
            ValueError: `top_k` below 1.
        """
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        if not queries:
            return []
        depth = top_k * self.encoder.rerank_factor
        scores, rows = self.index.search(self.encoder.encode(queries), depth)
        if depth > top_k:
            scores = self.encoder.rerank(queries, rows)
        results = []
        for query_scores, query_rows in zip(scores, rows):
            order = sorted(
                (-s, r) for s, r in zip(query_scores.tolist(), query_rows.tolist()) if r >= 0 and s > -np.inf
            )
            results.append([(row, -negative) for negative, row in order[:top_k]])
        return results
