"""VANER demo (Gradio): paste a biomedical abstract, pick entity types, see the entities highlighted and listed.

Model, first found of:
1. $VANER_MODEL: a local model folder (or, with the vaner package, an adapter folder) or a hub id;
2. `vaner_space.json` beside this file (written by `vaner stage` into the Hub Space: {"model": "<org>/vaner-smol"});
3. the embedded vaner-smol of the installed `vaner` package.

Where the `vaner` package is importable the model is loaded with its `load_pipeline`; otherwise (on a Space,
whose requirements.txt installs transformers and torch only) with `transformers.pipeline(..., trust_remote_code=True)`,
which runs the pipeline code shipped in the model repository.

Concept identifiers (a checkbox, where the `vaner` package is installed: it holds the linker and its dictionaries;
the first use builds them, about a minute): each entity's MeSH, NCBI Gene or NCBI Taxonomy identifier in the table,
a link to its database's page (`identifier_url`).

Offline by default: no analytics, no telemetry, and no hub access when the model is local. Serves on
$GRADIO_SERVER_NAME:$GRADIO_SERVER_PORT (gradio's defaults: 127.0.0.1:7860; a Space sets 0.0.0.0).

    VANER_MODEL=path/to/model python space/app.py
"""

import json
import os
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL_ENV = "VANER_MODEL"
MODEL_FILE = HERE / "vaner_space.json"
EXAMPLES_FILE = HERE / "examples.json"
MAX_CHARS = 3000
TYPE_COLORS = {"Disease": "#ff8a80", "Chemical": "#82b1ff", "Gene": "#9ee6a8", "Species": "#ffd54f",
               "CellLine": "#ce93d8"}
NO_DATASET = "none (type-only instruction)"
TABLE_HEADERS = ["entity", "type", "identifier", "start", "end", "score"]
TABLE_TYPES = ["str", "str", "markdown", "number", "number", "number"]  # the identifier: a link
# Shares of the table's width, so that all six columns fit a phone's screen (a long entity wraps); on a narrow
# screen a smaller font and tighter cells keep a type name and a four-digit offset on one line. The highlighted text
# breaks lines between words (gradio breaks anywhere, "secreti|on"), inside a word only where it is wider than the box.
TABLE_WIDTHS = ["24%", "18%", "22%", "11%", "11%", "14%"]
# Each identifier prefix's database page (the linker writes CURIEs as Bioregistry does)
IDENTIFIER_URLS = {
    "MESH": "https://meshb.nlm.nih.gov/record/ui?ui={}",
    "NCBIGene": "https://www.ncbi.nlm.nih.gov/gene/{}",
    "NCBITaxon": "https://www.ncbi.nlm.nih.gov/Taxonomy/Browser/wwwtax.cgi?id={}",
    "OMIM": "https://omim.org/entry/{}",
    "DRUGBANK": "https://go.drugbank.com/drugs/{}",
}
CSS = """
#vaner-highlighted .textfield { word-break: normal; overflow-wrap: anywhere; }
@media (max-width: 640px) {
  #vaner-table { --input-text-size: var(--text-sm); }
  #vaner-table .cell-wrap { padding: var(--size-1); }
}
"""


def model_source() -> str | None:
    """The model to serve (see the module docstring); None = the package's embedded vaner-smol."""
    if os.environ.get(MODEL_ENV):
        return os.environ[MODEL_ENV]
    if MODEL_FILE.is_file():
        return json.loads(MODEL_FILE.read_text(encoding="utf-8"))["model"]
    return None


MODEL = model_source()
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
if MODEL is None or Path(MODEL).exists():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before anything imports huggingface_hub

import gradio as gr  # noqa: E402


def load_tagger(model: str | None):
    """A VANER token-classification pipeline for `model`."""
    try:
        from modeling_vaner.loading import load_pipeline
    except ImportError:
        if model is None:
            raise RuntimeError(
                f"no model: set {MODEL_ENV} to a VANER model folder or hub id, or install the vaner package"
            ) from None
        from transformers import pipeline

        return pipeline("token-classification", model=model, trust_remote_code=True)
    return load_pipeline(model)


def linking_available() -> bool:
    """Whether entities can get identifiers: the `vaner` package (its concept linker) is importable."""
    try:
        import modeling_vaner.linking  # noqa: F401
    except ImportError:
        return False
    return True


def identifier_url(curie: str) -> str | None:
    """The database page of a CURIE ("MESH:D001943" -> https://meshb.nlm.nih.gov/record/ui?ui=D001943); None for a
    prefix without one here (a user dictionary's)."""
    prefix, _, local = curie.partition(":")
    if not local or prefix not in IDENTIFIER_URLS:
        return None
    return IDENTIFIER_URLS[prefix].format(local)


def identifier_cell(curie: str | None) -> str:
    """The table's identifier cell: a Markdown link to the database page, the bare CURIE without one, or empty."""
    if not curie:
        return ""
    url = identifier_url(curie)
    return f"[{curie}]({url})" if url else curie


def highlight(text: str, entities: list[dict]) -> list[tuple[str, str | None]]:
    """The text as (segment, entity type or None) pieces. Entities come sorted by start; where entities of
    different types overlap, the first one is highlighted (the table lists them all)."""
    pieces, cursor = [], 0
    for entity in entities:
        if entity["start"] < cursor:
            continue
        if entity["start"] > cursor:
            pieces.append((text[cursor : entity["start"]], None))
        pieces.append((text[entity["start"] : entity["end"]], entity["entity_group"]))
        cursor = entity["end"]
    if cursor < len(text):
        pieces.append((text[cursor:], None))
    return pieces


def input_problems(text: str | None, entity_types: list[str] | None) -> dict[str, str]:
    """What is wrong with the inputs, by input ("text", "entity_types"); empty when they can be tagged."""
    text = text or ""
    problems = {}
    if not text.strip():
        problems["text"] = "Paste an abstract (or pick an example) first."
    elif len(text) > MAX_CHARS:
        problems["text"] = (
            f"The text is {len(text)} characters long; this demo takes at most {MAX_CHARS}. "
            "Shorten it, or run the model yourself for long documents."
        )
    if not entity_types:
        problems["entity_types"] = "Tick at least one entity type."
    return problems


def check_inputs(text: str, entity_types: list[str], dataset: str, link: bool = False):
    """The click's validator (run before `tag`): a message under each input at fault; then `tag` does not run, so
    the last result stays on screen and the server logs nothing."""
    problems = input_problems(text, entity_types)
    return (
        gr.validate("text" not in problems, problems.get("text", "")),
        gr.validate("entity_types" not in problems, problems.get("entity_types", "")),
        gr.validate(True, ""),
        gr.validate(True, ""),
    )


def tag(tagger, text: str, entity_types: list[str], dataset: str, link: bool = False):
    """The click handler: highlighted pieces and the table rows (entity, type, identifier, start, end, score);
    `link`: give each entity its concept identifier (`link=True`), shown as a link to its database's page.

    Raises:
        gr.Error: inputs that `check_inputs` refuses (an API call skips the validator), without a server traceback.
    """
    problems = input_problems(text, entity_types)
    if problems:
        raise gr.Error(" ".join(problems.values()), print_exception=False)
    options = {"link": True} if link else {}
    entities = tagger(text, entity_types=list(entity_types), dataset=None if dataset == NO_DATASET else dataset,
                      **options)
    rows = [[e["word"], e["entity_group"], identifier_cell(e.get("id")), e["start"], e["end"], round(e["score"], 3)]
            for e in entities]
    return highlight(text, entities), rows


def build_demo(tagger, examples: list[dict]) -> "gr.Blocks":
    config = tagger.model.config
    entity_types = list(config.entity_types)
    with gr.Blocks(title="VANER biomedical NER") as demo:
        gr.Markdown(
            "# VANER: biomedical named-entity recognition\n"
            "A LLaMA-family decoder without causal mask, asked by instruction for one entity type at a time. "
            f"Paste an abstract (at most {MAX_CHARS} characters), tick the types, and press **Tag entities**. "
            "The *dataset style* follows the annotation conventions of one training corpus; leave it at *none* "
            "for text from an unknown source."
        )
        with gr.Row():
            with gr.Column():
                text = gr.Textbox(
                    label="Abstract", lines=10, placeholder="Paste a biomedical abstract", elem_id="vaner-text"
                )
                types = gr.CheckboxGroup(entity_types, value=entity_types, label="Entity types", elem_id="vaner-types")
                dataset = gr.Dropdown(
                    [NO_DATASET, *config.corpus_types], value=NO_DATASET, label="Dataset style (optional)"
                )
                link = gr.Checkbox(
                    value=False,
                    label="Concept identifiers (MeSH, NCBI Gene, NCBI Taxonomy)",
                    info="each a link to its database's page; the first use builds the dictionaries (about a minute)",
                    visible=linking_available(),  # the Hub route has no linker: its table's column stays empty
                    elem_id="vaner-link",
                )
                button = gr.Button("Tag entities", variant="primary", elem_id="vaner-submit")
            with gr.Column():
                highlighted = gr.HighlightedText(
                    label="Entities",
                    color_map={t: TYPE_COLORS[t] for t in entity_types if t in TYPE_COLORS},
                    show_inline_category=True,  # the type beside each entity (gradio hides it when the legend shows)
                    elem_id="vaner-highlighted",
                )
                table = gr.Dataframe(
                    headers=TABLE_HEADERS,
                    datatype=TABLE_TYPES,
                    label="Entity list",
                    interactive=False,
                    wrap=True,
                    column_widths=TABLE_WIDTHS,
                    elem_id="vaner-table",
                )
        gr.Examples(
            [[e["text"], e["entity_types"], e["dataset"] or NO_DATASET] for e in examples],
            inputs=[text, types, dataset],
            example_labels=[e["title"] for e in examples],
        )
        button.click(
            partial(tag, tagger),
            [text, types, dataset, link],
            [highlighted, table],
            concurrency_limit=1,
            validator=check_inputs,
        )
    return demo.queue(max_size=32)


def main() -> None:
    examples = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    build_demo(load_tagger(MODEL), examples).launch(css=CSS)


if __name__ == "__main__":
    main()
