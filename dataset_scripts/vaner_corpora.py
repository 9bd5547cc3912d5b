"""The VANER corpora as a `datasets` builder: one config per corpus of `CORPORA`.

datasets 5.x no longer runs loading scripts, so the builder is used directly:

    builder = VanerCorpora(config_name="ncbi", corpora_dir="../shared/corpora")
    builder.download_and_prepare()
    dataset = builder.as_dataset()

Without `corpora_dir` (and without $VANER_CORPORA_DIR) the files are fetched from their public URLs through
the download manager. `vaner data export` writes the prepared splits as a Hub dataset repository.
"""

from __future__ import annotations

from dataclasses import dataclass

import datasets

from modeling_vaner.processing_vaner import IOB2_LABELS

from .corpora import CORPORA, SPLITS, read_corpus

FEATURES = datasets.Features(
    {
        "id": datasets.Value("string"),
        "document_id": datasets.Value("string"),
        "tokens": datasets.List(datasets.Value("string")),
        "ner_tags": datasets.List(datasets.ClassLabel(names=list(IOB2_LABELS))),
        "entity_type": datasets.Value("string"),
        "corpus": datasets.Value("string"),
    }
)


@dataclass
class VanerCorporaConfig(datasets.BuilderConfig):
    """A corpus of `CORPORA`; `corpora_dir` is a local mirror laid out like shared/corpora (None: public URLs)."""

    corpora_dir: str | None = None


class VanerCorpora(datasets.GeneratorBasedBuilder):
    BUILDER_CONFIG_CLASS = VanerCorporaConfig
    BUILDER_CONFIGS = [
        VanerCorporaConfig(name=name, description=f"{corpus.display_name}: {corpus.entity_type} mentions, IOB2")
        for name, corpus in CORPORA.items()
    ]

    def _info(self) -> datasets.DatasetInfo:
        corpus = CORPORA[self.config.name]
        return datasets.DatasetInfo(
            description=self.config.description,
            features=FEATURES,
            citation=corpus.citation,
            license=corpus.licence,
        )

    def _split_generators(self, dl_manager):
        return [  # the added corpora have no test split
            datasets.SplitGenerator(name=split, gen_kwargs={"split": split, "download": dl_manager.download})
            for split in SPLITS
            if split in CORPORA[self.config.name].splits
        ]

    def _generate_examples(self, split, download):
        for record in read_corpus(self.config.name, split, self.config.corpora_dir, download=download):
            yield record["id"], record
