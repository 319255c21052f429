"""Rewrite the settings table of docs/operations.md from the declaration (sms_tracking.settings.Settings).

Run ``PYTHONPATH=plugins .venv/bin/python scripts/settings_table.py`` from the checkout's top after changing an
option;
tests/unit/test_config.py fails while the doc and the declaration differ.
"""

from __future__ import annotations

import re
from pathlib import Path

from sms_tracking.settings import settings_table

DOC = Path("docs") / "operations.md"
START, END = "<!-- settings-table:start (scripts/settings_table.py) -->\n", "<!-- settings-table:end -->\n"


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not block.search(text):
        raise SystemExit(f"{DOC}: no {START.strip()} ... {END.strip()} block")
    DOC.write_text(block.sub(lambda _: START + settings_table() + END, text), encoding="utf-8")


if __name__ == "__main__":
    main()
