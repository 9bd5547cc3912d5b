"""The linking evaluation's task names (`evaluation.py` documents them): light, for the command line's choices."""

BIOSYN_TASKS = {"biosyn-ncbi-disease": "ncbi-disease", "biosyn-bc5cdr-disease": "bc5cdr-disease"}
PUBTATOR_TASKS = {  # task -> (corpus, entity type, splits it has here)
    "ncbi-disease": ("ncbi-disease", "Disease", ("dev", "test")),
    "bc5cdr-disease": ("bc5cdr", "Disease", ("dev", "test")),
    "bc5cdr-chemical": ("bc5cdr", "Chemical", ("dev", "test")),
    "s800": ("s800", "Species", ("dev", "test")),
    "linnaeus": ("linnaeus", "Species", ("dev", "test")),
    "gnormplus": ("gnormplus", "Gene", ("train",)),
}
TASKS = (*BIOSYN_TASKS, "biosyn-bc5cdr-chemical", *PUBTATOR_TASKS)
RETRIEVALS = ("exact", "faiss")
LINKING_DIR_ENV = "VANER_LINKING_DIR"
