"""The call options: one owner for their defaults and checks (`options_vaner.CallOptions`), and one source for their
reference text, rendered into the pipeline's docstring, the README and the model card."""

import re

import pytest

from modeling_vaner.options_vaner import (
    CALL_ARGUMENTS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHUNK_SIZE,
    CallOptions,
    render_call_arguments,
)

from conftest import REPO_ROOT


def test_every_option_is_documented_once_and_defaulted_once():
    names = [name for name, _ in CALL_ARGUMENTS]
    assert sorted(names) == sorted(field for field in CallOptions.__dataclass_fields__)
    assert len(set(names)) == len(names)
    defaults = CallOptions()
    assert (defaults.batch_size, defaults.chunk_size) == (DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_SIZE)
    assert (defaults.decoding, defaults.aggregation_strategy, defaults.threshold) == ("viterbi", "simple", 0.0)


@pytest.mark.parametrize(
    "given, error, message",
    [
        ({"colour": "red"}, TypeError, "unexpected arguments: colour .*takes entity_types, dataset"),
        ({"entity_types": []}, ValueError, "entity_types is empty"),
        ({"entity_types": ["Gene", " "]}, ValueError, "non-empty string, got ' '"),
        ({"threshold": 1.5}, ValueError, "threshold must be a number from 0 to 1"),
        ({"threshold": True}, ValueError, "threshold must be a number from 0 to 1"),
        ({"decoding": "beam"}, ValueError, "decoding must be one of"),
        ({"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
        ({"chunk_size": 2.5}, ValueError, "chunk_size must be a positive integer"),
        ({"sentence_split": "no"}, ValueError, "sentence_split must be True or False"),
    ],
)
def test_bad_options_are_named(given, error, message):
    with pytest.raises(error, match=message):
        CallOptions().replace(**given)


def test_replace_keeps_what_is_not_given_and_strips_types():
    base = CallOptions(entity_types=("Gene", "Disease"), threshold=0.5)
    options = base.replace(entity_types=" Chemical ", batch_size=None)
    assert options.entity_types == ("Chemical",) and options.threshold == 0.5 and options.batch_size == 8
    assert base.replace() is base and base.replace(dataset=None) is base


def test_the_reference_is_rendered_into_the_pipeline_readme_and_card():
    from modeling_vaner.pipeline_vaner import VanerTokenClassificationPipeline

    assert render_call_arguments("    ") in VanerTokenClassificationPipeline.__doc__
    readme = (REPO_ROOT / "README.md").read_text()
    block = re.search(r"<!-- call-arguments: begin -->\n(.*?)\n<!-- call-arguments: end -->", readme, re.S)
    assert block is not None, "README.md lost its call-arguments block"
    assert block.group(1) == render_call_arguments("  "), (
        "README.md's call arguments differ from modeling_vaner/options_vaner.py; paste this between the markers:\n"
        + render_call_arguments("  ")
    )
    card_template = (REPO_ROOT / "hub_card" / "model_card.md.j2").read_text()
    assert "{{ call_arguments }}" in card_template
