"""Run in a fresh interpreter where this package is NOT importable: load a model folder the way a Hub user
would, and write its logits and pipeline output for the parent test to compare."""

import json
import sys

sys.modules["modeling_vaner"] = None  # any import of this package now fails
sys.modules["dataset_scripts"] = None

import torch  # noqa: E402
from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline  # noqa: E402
from transformers.dynamic_module_utils import get_class_from_dynamic_module  # noqa: E402

folder, input_ids_json, output_path, text = sys.argv[1:5]
model = AutoModelForTokenClassification.from_pretrained(folder, trust_remote_code=True).eval()
with torch.no_grad():
    logits = model(torch.tensor(json.loads(input_ids_json))).logits
# fp32 stated: the parent compares these entities with its own fp32 pipeline's
tagger = pipeline("token-classification", model=folder, trust_remote_code=True, precision="fp32")
result = {
    "model_class": type(model).__name__,
    "pipeline_class": type(tagger).__name__,
    "is_causal": model.config.is_causal,
    "tokenizer_class": type(AutoTokenizer.from_pretrained(folder, trust_remote_code=True)).__name__,
    "logits": logits.tolist(),
    "entities": tagger(text, entity_types=["Disease", "Gene"]),
    # arguments given to pipeline() are the defaults of every call; a generator gives an iterator
    "constructed_types": pipeline(
        "token-classification", model=folder, trust_remote_code=True, precision="fp32", entity_types=["Disease"]
    )(text),
    "streamed": list(tagger((t for t in [text, text]), entity_types=["Disease", "Gene"])),
}
# "ner", the alias most tutorials use, routed by the folder's custom_pipelines like "token-classification"
ner = pipeline("ner", model=folder, trust_remote_code=True, precision="fp32")
result["ner_pipeline_class"] = type(ner).__name__
result["ner_entities"] = ner(text, entity_types=["Disease", "Gene"])
# a model object: transformers never reads its config, so only pipeline_class= routes it (the README's and card's call)
vaner_class = get_class_from_dynamic_module("pipeline_vaner.VanerTokenClassificationPipeline", folder)
routed = pipeline(
    "ner", model=model, tokenizer=folder, trust_remote_code=True, pipeline_class=vaner_class, precision="fp32"
)
result["object_pipeline_class"] = type(routed).__name__
result["object_entities"] = routed(text, entity_types=["Disease", "Gene"])
# without pipeline_class=: what the README and card warn of (if transformers ever routes objects, they must change)
result["object_without_class"] = type(pipeline("ner", model=model, tokenizer=folder, trust_remote_code=True)).__name__
with open(output_path, "w") as handle:
    json.dump(result, handle)
