"""`vaner convert-release`: a synthetic release in the authors' exact key layout (no download) becomes a Hub-ready
folder whose word probabilities, loaded in a fresh process without this package, equal a reference forward
written as theirs works (LoRA merged by hand, an all-zero 4-D attention mask, head `classifier` with bias).

Precision: fp32 throughout (tiny models built in fp32, no autocast), compared to 1e-5 on every CPU."""

import json
import subprocess
import sys

import pytest
import torch

from modeling_vaner.release import HEAD_KEYS, LAYER_KEY, LORA_MODULES, RELEASE_DATASET_NAMES, convert_release

RANK, ALPHA = 12, 32
WORDS = ["IL", "-", "2", "induces", "alpha", "-", "globin", "in", "3", "patients", "."]


def write_release(folder, base_config, weights_format="safetensors", drop=None, reshape=None):
    """A release checkpoint saved as the authors' was: peft (TOKEN_CLS, r=12, alpha=32, peft's default Llama
    targets q_proj and v_proj) around LS-LLaMA's layout (`model`, `dropout`, `classifier` with bias). `drop` /
    `reshape` damage one tensor. Returns the saved weights."""
    from peft import LoraConfig, TaskType, get_peft_model
    from safetensors.torch import save_file
    from torch import nn
    from transformers import LlamaModel, LlamaPreTrainedModel

    from modeling_vaner.release import read_release

    class UnmaskingLlamaForTokenClassification(LlamaPreTrainedModel):
        def __init__(self, config):
            super().__init__(config)
            self.model = LlamaModel(config)
            self.dropout = nn.Dropout(0.1)
            self.classifier = nn.Linear(config.hidden_size, 3)
            self.post_init()

    torch.manual_seed(0)
    lora = LoraConfig(task_type=TaskType.TOKEN_CLS, r=RANK, lora_alpha=ALPHA, lora_dropout=0.1)
    model = get_peft_model(UnmaskingLlamaForTokenClassification(base_config), lora)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.requires_grad:  # LoRA's B starts at zero: give every saved tensor a value
                parameter.normal_(0, 0.1)
    model.save_pretrained(folder, safe_serialization=weights_format == "safetensors")
    weights = read_release(folder)[1]
    assert set(weights) == {*HEAD_KEYS.values(), *(LAYER_KEY.format(layer=layer, module=module, factor=factor)
                            for layer in range(base_config.num_hidden_layers) for module in LORA_MODULES
                            for factor in ("A", "B"))}  # peft's layout is the document's
    if drop or reshape:
        if drop:
            del weights[drop]
        if reshape:
            weights[reshape] = weights[reshape][:, :-1].contiguous()
        if weights_format == "safetensors":
            save_file(weights, folder / "adapter_model.safetensors")
        else:
            torch.save(weights, folder / "adapter_model.bin")
    return weights


def reference_probabilities(base, weights, instruction, words, pad_to=None):
    """Their inference: merged LoRA, every token attends to every token (an all-zero 4-D mask), the row
    left-padded to `pad_to` tokens with the unknown (else the padding) token, if given."""
    from transformers import AutoTokenizer, LlamaModel

    from modeling_vaner.processing_vaner import prepare_tokenizer

    model = LlamaModel.from_pretrained(base, dtype=torch.float32).eval()
    with torch.no_grad():
        for index, layer in enumerate(model.layers):
            for module in LORA_MODULES:
                a, b = (weights[LAYER_KEY.format(layer=index, module=module, factor=f)] for f in ("A", "B"))
                getattr(layer.self_attn, module).weight += b @ a * (ALPHA / RANK)
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(base))
    encoding = tokenizer([instruction, *words], is_split_into_words=True)
    offset = pad_to - len(encoding["input_ids"]) if pad_to else 0
    pad_id = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else tokenizer.pad_token_id
    input_ids = torch.tensor([[pad_id] * offset + encoding["input_ids"]])
    length = input_ids.shape[1]
    with torch.no_grad():
        hidden = model(input_ids=input_ids, attention_mask=torch.zeros(1, 1, length, length)).last_hidden_state
        logits = hidden @ weights[HEAD_KEYS["weight"]].T + weights[HEAD_KEYS["bias"]]
    firsts = [offset + encoding.word_ids().index(word) for word in range(1, len(words) + 1)]
    return logits[0, firsts].softmax(-1)


FRESH_SCRIPT = """
import json, sys
sys.modules["modeling_vaner"] = None
sys.modules["dataset_scripts"] = None
from transformers import AutoModelForTokenClassification, pipeline
folder, words, output = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
model = AutoModelForTokenClassification.from_pretrained(folder, trust_remote_code=True)
tagger = pipeline("token-classification", model=folder, trust_remote_code=True, precision="fp32")
result = {
    form: tagger.word_probabilities([words], "Disease", dataset=dataset, batch_size=1)[0].tolist()
    for form, dataset in (("dataset", "bc5cdr-disease"), ("type-only", None))
}
result["instructions"] = [model.config.instruction("Disease", "bc5cdr-disease"), model.config.instruction("Disease")]
json.dump(result, open(output, "w"))
"""


@pytest.mark.parametrize("weights_format", ["safetensors", "bin"])
def test_converted_release_matches_their_forward(tiny_backbone, tmp_path, weights_format):
    from transformers import AutoConfig

    base_config = AutoConfig.from_pretrained(tiny_backbone)
    weights = write_release(tmp_path / "release", base_config, weights_format)
    folder = convert_release(tmp_path / "release", str(tiny_backbone), tmp_path / "converted")
    output = tmp_path / "fresh.json"
    completed = subprocess.run(
        [sys.executable, "-c", FRESH_SCRIPT, str(folder), json.dumps(WORDS), str(output)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "PATH": "/usr/bin:/bin"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    fresh = json.loads(output.read_text())
    dataset_instruction, type_only_instruction = fresh["instructions"]
    # their instruction strings, their dataset names, the trailing space kept
    assert dataset_instruction == (
        "If any Disease entity is mentioned in the BC5CDR-disease input, extract it. ##input: "
    )
    assert type_only_instruction == "If any Disease entity is mentioned in the input, extract it. ##input: "
    for form, instruction in (("dataset", dataset_instruction), ("type-only", type_only_instruction)):
        expected = reference_probabilities(tiny_backbone, weights, instruction, WORDS)
        assert torch.allclose(torch.tensor(fresh[form]), expected, atol=1e-5), form
    config = json.loads((folder / "config.json").read_text())
    assert config["keep_instruction_space"] and config["max_window_tokens"] == 128
    assert config["instruction_dataset_names"] == RELEASE_DATASET_NAMES


@pytest.mark.parametrize(
    "problem, message",
    [
        ({"drop": LAYER_KEY.format(layer=1, module="v_proj", factor="B")},
         "missing base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"),
        ({"reshape": HEAD_KEYS["weight"]}, r"classifier.weight has shape \[3, 63\], expected \[3, 64\]"),
    ],
)
def test_a_release_that_does_not_fit_is_named(tiny_backbone, tmp_path, problem, message):
    from transformers import AutoConfig

    write_release(tmp_path / "release", AutoConfig.from_pretrained(tiny_backbone), **problem)
    with pytest.raises(ValueError, match=message):
        convert_release(tmp_path / "release", str(tiny_backbone), tmp_path / "converted")
    with pytest.raises(FileNotFoundError, match="adapter_config.json not found"):
        convert_release(tmp_path, str(tiny_backbone), tmp_path / "converted")


def test_visible_padding_reproduces_their_padded_forward(tiny_backbone, tmp_path):
    """`padding="visible"`: each row left-padded to the window with the unknown (here: padding) token, every
    position attended, as the release ran; the same word probabilities as their forward on that padded row."""
    from transformers import AutoConfig

    from modeling_vaner.loading import load_pipeline

    weights = write_release(tmp_path / "release", AutoConfig.from_pretrained(tiny_backbone))
    folder = convert_release(tmp_path / "release", str(tiny_backbone), tmp_path / "converted")
    tagger = load_pipeline(str(folder), precision="fp32", padding="visible")
    visible = tagger.word_probabilities([WORDS, WORDS[:3]], "Disease", dataset="ncbi", batch_size=2)
    masked = load_pipeline(str(folder), precision="fp32").word_probabilities([WORDS], "Disease", dataset="ncbi")
    instruction = tagger.model.config.instruction("Disease", "ncbi")
    for words, probabilities in zip([WORDS, WORDS[:3]], visible):
        expected = reference_probabilities(tiny_backbone, weights, instruction, words, pad_to=128)
        assert torch.allclose(probabilities, expected, atol=1e-5)
    assert not torch.allclose(visible[0].log(), masked[0].log(), atol=1e-2)  # padding that is seen changes them


def test_llama2_style_tokenizer_gives_every_word_its_own_prefix(tmp_path):
    """A SentencePiece-style tokenizer built like Llama-2's (legacy: the normalizer prepends "▁" and replaces
    spaces, no pre-tokenizer): the instruction keeps its trailing space as a token, and the pipeline's word
    encoding equals their `is_split_into_words=True` call, word by word."""
    from tokenizers import Tokenizer, models, normalizers, trainers
    from transformers import PreTrainedTokenizerFast

    from modeling_vaner.processing_vaner import encode_instruction, encode_words, prepare_tokenizer

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    text = ["If any Disease entity is mentioned in the ncbi input, extract it. ##input: ",
            "IL - 2 induces alpha - globin and TNF - α in 3 of 12 patients ."]
    backend.train_from_iterator(text * 20, trainers.BpeTrainer(vocab_size=120, special_tokens=["<unk>", "<s>"]))
    tokenizer = prepare_tokenizer(PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>",
                                                          bos_token="<s>", pad_token="<unk>"))
    words = text[1].split()
    theirs = tokenizer([text[0], *words], is_split_into_words=True, add_special_tokens=False)
    word_ids = theirs.word_ids()
    by_word = [[i for i, w in zip(theirs["input_ids"], word_ids) if w == index] for index in range(len(words) + 1)]
    assert encode_words(tokenizer, words) == by_word[1:]
    assert all(tokenizer.convert_ids_to_tokens(ids)[0].startswith("▁") for ids in by_word)
    kept = encode_instruction(tokenizer, text[0], keep_trailing_space=True)
    assert kept == encode_words(tokenizer, [text[0]])[0] and tokenizer.convert_ids_to_tokens(kept)[-1].endswith("▁")
    assert encode_instruction(tokenizer, text[0]) == encode_words(tokenizer, [text[0].rstrip()])[0]


def test_converted_release_stages_with_its_card(tiny_backbone, tmp_path, capsys):
    """Staged as the paper's model: Llama 2's licence, the source checkpoint, the authors' Table 1 labelled as
    theirs, and the evaluation commands; `vaner push --dry-run` lists the complete folder."""
    from transformers import AutoConfig

    from modeling_vaner.cli import main

    write_release(tmp_path / "bjy_unidev_kgmmix2_nodataname", AutoConfig.from_pretrained(tiny_backbone))
    assert main(["convert-release", str(tmp_path / "bjy_unidev_kgmmix2_nodataname"), "--base", str(tiny_backbone),
                 "--out", str(tmp_path / "converted"), "--adapt"]) == 0
    assert main(["stage", "--out", str(tmp_path / "hub"), "--namespace", "org", "--model",
                 str(tmp_path / "converted"), "--name", "vaner", "--base-model", "meta-llama/Llama-2-7b-hf",
                 "--skip-datasets", "--skip-space"]) == 0
    folder = tmp_path / "hub" / "vaner"
    card = (folder / "README.md").read_text()
    assert "license: llama2" in card and "`bjy_unidev_kgmmix2_nodataname`" in card and "VANER_adapt" in card
    assert "not measured here): NCBI-disease 88.03, BC5CDR-disease 87.76" in card
    assert "--split test --instruction type-only --padding visible" in card
    assert json.loads((folder / "release.json").read_text())["lora"] == {"r": 12, "alpha": 32,
                                                                         "modules": ["q_proj", "v_proj"]}
    capsys.readouterr()
    assert main(["push", "--namespace", "org", "--staged", str(tmp_path / "hub"), "--dry-run"]) == 0
    listing = capsys.readouterr().out
    for name in ("config.json", "model.safetensors", "README.md", "pipeline_vaner.py", "processing_vaner.py"):
        assert name in listing, listing
