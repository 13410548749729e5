"""Serve the app and start loading the models with the server, not with the first visitor.

    python -m ui.serve [--server.port 8501 …]   (the options of `streamlit run`)

The Assistant is made in a background thread of this process (ui.state.start_loading) while Streamlit
starts; app.py runs in the same process, so the first page finds it loaded or loading.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(argv: list[str] | None = None) -> int:
    from streamlit.web import cli

    from ui import state

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The pages' modules (pandas among them) first, then the models: imported while the models load, they
    # would compete with torch's imports for the interpreter, and the first page would wait for both.
    from ui import chat, evaluation, finder, nav, scope, sidebar, targets_page  # noqa: F401

    state.start_loading()
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
