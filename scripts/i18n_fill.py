"""Fill Russian translations into the catalogue from JSON files of {"English": "Русский"}.

Run after `make i18n` (which extracts new strings): every untranslated entry found in one of the
JSON files gets its translation; what is still missing is listed, and the test
`tests/web/test_i18n.py` fails until it is translated.

    python scripts/i18n_fill.py translations.json [more.json ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGUE = Path("src/retentio/web/locale/ru/LC_MESSAGES/messages.po")


def main(paths: list[str]) -> int:
    known: dict[str, str] = {}
    for path in paths:
        known.update(json.loads(Path(path).read_text(encoding="utf-8")))
    with CATALOGUE.open("rb") as handle:
        catalog = read_po(handle, locale="ru")
    missing = []
    for message in catalog:
        if not message.id or (message.string and not message.fuzzy):
            continue
        key = str(message.id)
        if key in known:
            message.string = known[key]
            message.flags.discard("fuzzy")
        else:
            missing.append(key)
    with CATALOGUE.open("wb") as handle:
        write_po(handle, catalog, width=100)
    for key in missing:
        print(f"untranslated: {key}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
