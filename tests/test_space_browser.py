"""The Gradio Space app in a real browser: the app runs in a subprocess on 127.0.0.1 with a tiny VANER folder
(head biased so that entities appear), headless Debian chromium driven by Playwright pastes an abstract, submits
and sees highlighted entities of the ticked types. Installs chromium from Debian if it is missing (CI, root).
The handler's input checks are tested directly."""

import json
import sys

import pytest

from modeling_vaner.hub_card import asset_dir

sys.path.insert(0, str(asset_dir("space")))
from space_browser import EXAMPLES_FILE, SPACE_DIR, ensure_chromium, serve_app, tag_in_browser  # noqa: E402


@pytest.fixture
def app_module(monkeypatch, tiny_model_dir):
    monkeypatch.setenv("VANER_MODEL", str(tiny_model_dir))
    monkeypatch.syspath_prepend(str(SPACE_DIR))
    sys.modules.pop("app", None)
    import app

    yield app
    sys.modules.pop("app", None)


def test_app_in_headless_chromium(tiny_model_dir, tmp_path):
    ensure_chromium()
    example = json.loads(EXAMPLES_FILE.read_text())[0]
    screenshot = tmp_path / "space.png"
    with serve_app(tiny_model_dir, tmp_path / "app.log", timeout=120) as url:
        labels = tag_in_browser(url, example["text"], ["Gene", "Species"], screenshot=screenshot, timeout_s=60)
    assert labels and set(labels) <= {"Gene", "Species"}
    assert screenshot.read_bytes().startswith(b"\x89PNG")


def test_handler_checks_and_outputs(app_module, tiny_model_dir):
    import gradio as gr

    tagger = app_module.load_tagger(str(tiny_model_dir))
    text = "BRCA1 mutations cause breast cancer."
    pieces, rows = app_module.tag(tagger, text, ["Disease"], "ncbi")
    assert "".join(piece for piece, _ in pieces) == text
    assert rows and all(text[start:end] == word and kind == "Disease" for word, kind, start, end, _ in rows)
    with pytest.raises(gr.Error, match=f"at most {app_module.MAX_CHARS}"):
        app_module.tag(tagger, "x" * (app_module.MAX_CHARS + 1), ["Disease"], app_module.NO_DATASET)
    with pytest.raises(gr.Error, match="at least one entity type"):
        app_module.tag(tagger, text, [], app_module.NO_DATASET)
    with pytest.raises(gr.Error, match="Paste an abstract"):
        app_module.tag(tagger, "  ", ["Disease"], app_module.NO_DATASET)


def test_highlight_keeps_the_first_of_overlapping_entities(app_module):
    text = "BRCA1 gene"
    entities = [
        {"entity_group": "Gene", "start": 0, "end": 5},
        {"entity_group": "Chemical", "start": 0, "end": 10},
        {"entity_group": "Gene", "start": 6, "end": 10},
    ]
    assert app_module.highlight(text, entities) == [("BRCA1", "Gene"), (" ", None), ("gene", "Gene")]
