"""Dense Bioentities Recognition (DBR): knowledge base, phrase mining, retrieval and dense-sentence assembly.

Modules (import them directly; this package imports nothing heavy on its own):

- `kb`: build the (name, type) knowledge base from dictionaries, TRAIN splits and user TSV files, cached as parquet.
- `mining`: candidate phrases of a tokenized sentence.
- `retrieval`: pluggable encoders (character n-gram TF-IDF by default, sentence-transformers optionally) and a
  FAISS top-K index over the knowledge-base names.
- `assembly`: dense sentences (at most 10 positives, 5 negatives) with B/I/O labels, and the `dbr`/`random`/`none`
  variants, built shard by shard with a resumable cache.
- `mixture`: the training mixture (corpus sentences plus their DBR sentences) and its export as a Hub dataset folder.
- `check`: the external check against the entities the VANER authors retrieved from UMLS (`umls_kg`).

See `DBR.md` next to this file for how it is built and measured. The `vaner dbr` command: `modeling_vaner/cli/dbr.py`.
"""

# What a training sentence gets besides itself: a dense sentence of retrieved entities (`dbr`), one of random
# knowledge-base names in the same numbers (`random`), or nothing (`none`). Here, not in `assembly`, so that
# command lines and configs can offer the choices without importing the knowledge base.
DBR_VARIANTS = ("dbr", "random", "none")
