"""The Gradio Space app in a real browser: the app runs in a subprocess on 127.0.0.1 with a tiny VANER folder
(head biased so that entities appear), headless Debian chromium driven by Playwright pastes an abstract, submits
and sees highlighted entities of the ticked types. Installs chromium from Debian if it is missing (CI, root).
The handler's input checks are tested directly."""

import json
import sys

import pytest

from modeling_vaner.hub_card import asset_dir

sys.path.insert(0, str(asset_dir("space")))
from space_browser import (  # noqa: E402
    EXAMPLES_FILE,
    PHONE_WIDTH,
    SPACE_DIR,
    ensure_chromium,
    entity_labels,
    open_app,
    serve_app,
    submit,
    table_header_spans,
    table_rows,
    tag_in_browser,
)


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


def test_phone_width_shows_every_column_and_an_input_error_keeps_the_result(tiny_model_dir, tmp_path):
    """At a phone's 390 px every column of the entity table lies within the window; a blank text is refused with a
    message at the text box while the last result stays on screen (no red "Error" over it), and the server logs no
    traceback for it."""
    ensure_chromium()
    example = json.loads(EXAMPLES_FILE.read_text())[0]
    log = tmp_path / "app.log"
    with serve_app(tiny_model_dir, log, timeout=120) as url, open_app(url, PHONE_WIDTH, timeout_s=60) as page:
        submit(page, example["text"], ["Gene", "Species"])
        labels = entity_labels(page)
        spans = table_header_spans(page)
        rows = table_rows(page)
        page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
        submit(page, "   ")
        page.get_by_text("Paste an abstract (or pick an example) first.").wait_for(state="visible")
        assert entity_labels(page) == labels and table_rows(page) == rows
        assert page.get_by_text("Error", exact=True).count() == 0
    assert list(spans) == ["entity", "type", "identifier", "start", "end", "score"]
    assert all(0 <= left < right <= PHONE_WIDTH for left, right in spans.values()), spans
    assert labels and rows and all(len(row) == len(spans) for row in rows)
    assert "Traceback" not in log.read_text()


def test_handler_checks_and_outputs(app_module, tiny_model_dir):
    import gradio as gr

    tagger = app_module.load_tagger(str(tiny_model_dir))
    text = "BRCA1 mutations cause breast cancer."
    pieces, rows = app_module.tag(tagger, text, ["Disease"], "ncbi")
    assert "".join(piece for piece, _ in pieces) == text
    assert rows and all(text[start:end] == word and kind == "Disease" and identifier == ""
                        for word, kind, identifier, start, end, _ in rows)  # no identifiers unless asked
    # the click's validator: a message at each input at fault, nothing for good inputs
    text_check, types_check, dataset_check, link_check = app_module.check_inputs(
        "x" * (app_module.MAX_CHARS + 1), [], app_module.NO_DATASET
    )
    assert not text_check["is_valid"] and f"at most {app_module.MAX_CHARS}" in text_check["message"]
    assert (types_check["is_valid"], types_check["message"]) == (False, "Tick at least one entity type.")
    assert dataset_check["is_valid"] and link_check["is_valid"]
    assert all(check["is_valid"] for check in app_module.check_inputs(text, ["Gene"], app_module.NO_DATASET))
    # the handler itself (an API call skips the validator) refuses the same, without a server traceback
    with pytest.raises(gr.Error, match="Paste an abstract") as refused:
        app_module.tag(tagger, "  ", ["Disease"], app_module.NO_DATASET)
    assert not refused.value.print_exception


def test_identifiers_link_to_their_database_pages(app_module):
    assert app_module.identifier_url("MESH:D001943") == "https://meshb.nlm.nih.gov/record/ui?ui=D001943"
    assert app_module.identifier_url("NCBIGene:672") == "https://www.ncbi.nlm.nih.gov/gene/672"
    assert app_module.identifier_url("NCBITaxon:10090") == (
        "https://www.ncbi.nlm.nih.gov/Taxonomy/Browser/wwwtax.cgi?id=10090")
    assert app_module.identifier_url("OMIM:114480") == "https://omim.org/entry/114480"
    assert app_module.identifier_url("DRUGBANK:DB00675") == "https://go.drugbank.com/drugs/DB00675"
    assert app_module.identifier_url("CVCL:0030") is None and app_module.identifier_url("672") is None
    assert app_module.linking_available()  # the vaner package is installed here: the checkbox shows

    calls = []

    def tagger(text, **options):  # link=True's output: each entity with `id` and `id_score`
        calls.append(options)
        return [{"word": "BRCA1", "entity_group": "Gene", "start": 0, "end": 5, "score": 0.9, "id": "NCBIGene:672",
                 "id_score": 1.0},
                {"word": "HeLa", "entity_group": "CellLine", "start": 10, "end": 14, "score": 0.8, "id": "CVCL:0030",
                 "id_score": 1.0},
                {"word": "mice", "entity_group": "Species", "start": 20, "end": 24, "score": 0.8, "id": None,
                 "id_score": None}]

    _, rows = app_module.tag(tagger, "BRCA1 and HeLa cells in mice", ["Gene"], app_module.NO_DATASET, True)
    assert calls[-1]["link"] is True
    assert [row[2] for row in rows] == ["[NCBIGene:672](https://www.ncbi.nlm.nih.gov/gene/672)", "CVCL:0030", ""]
    app_module.tag(tagger, "BRCA1", ["Gene"], app_module.NO_DATASET, False)
    assert "link" not in calls[-1]  # the Hub route's pipeline never sees the option unless it is ticked


def test_highlight_keeps_the_first_of_overlapping_entities(app_module):
    text = "BRCA1 gene"
    entities = [
        {"entity_group": "Gene", "start": 0, "end": 5},
        {"entity_group": "Chemical", "start": 0, "end": 10},
        {"entity_group": "Gene", "start": 6, "end": 10},
    ]
    assert app_module.highlight(text, entities) == [("BRCA1", "Gene"), (" ", None), ("gene", "Gene")]
