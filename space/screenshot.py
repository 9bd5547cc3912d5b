"""Take space/screenshot.png: the Space app with its default model (the embedded vaner-smol, or
$VANER_MODEL), in headless chromium, tagging the first example abstract. Re-run after a new model is installed.

    .venv/bin/python space/screenshot.py [--out space/screenshot.png]
"""

import argparse
import json
import os
import tempfile
from pathlib import Path

from space_browser import EXAMPLES_FILE, serve_app, tag_in_browser

DEFAULT_OUT = Path(__file__).resolve().parent / "screenshot.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    example = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        with serve_app(os.environ.get("VANER_MODEL"), Path(scratch) / "app.log") as url:
            labels = tag_in_browser(url, example["text"], example["entity_types"], screenshot=args.out)
    print(f"wrote {args.out}: {len(labels)} highlighted entities ({', '.join(sorted(set(labels)))})")


if __name__ == "__main__":
    main()
