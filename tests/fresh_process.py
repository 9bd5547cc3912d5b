"""Run in a fresh interpreter where this package is NOT importable: load a model folder the way a Hub user
would, and write its logits and pipeline output for the parent test to compare."""

import json
import sys

sys.modules["modeling_vaner"] = None  # any import of this package now fails
sys.modules["dataset_scripts"] = None

import torch  # noqa: E402
from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline  # noqa: E402

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
with open(output_path, "w") as handle:
    json.dump(result, handle)
