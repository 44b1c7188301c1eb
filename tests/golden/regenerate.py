"""Rewrite the golden route plans from the current router output.

Usage (from the repository root)::

    .venv/bin/python tests/golden/regenerate.py          # rewrite <dialect>.json
    .venv/bin/python tests/golden/regenerate.py --check  # only report; exit 1 if stale

Cases come from ``golden_cases.py``. A plan is recorded only when its targets are the ones
computed by hand there (``Case.places``) and an error only when it is the expected class
with the expected message fragment; anything else is reported and nothing is written, so
a routing regression cannot be baked into the files. Fix the router, or correct the case
(mark a real router bug ``known_bug`` with the correct plan written by hand in ``expect``).
Known-bug cases keep their hand-written plan; the script says when one starts to pass.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from golden_cases import CASES, DIALECTS
from test_golden_plans import golden_path, record, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file would change"
    )
    args = parser.parse_args(argv)
    texts: dict[str, str] = {}
    errors: list[str] = []
    notes: list[str] = []
    for dialect in DIALECTS:
        records = []
        for case in CASES:
            if dialect not in case.dialects:
                continue
            entry, found = record(case, dialect)
            records.append(entry)
            (notes if case.known_bug else errors).extend(found)
        texts[dialect] = render(records)
    for note in notes:
        print(f"note: {note}")
    if errors:
        for error in errors:
            print(f"error: {error}", file=sys.stderr)
        print(
            f"{len(errors)} case(s) disagree with golden_cases.py; nothing written", file=sys.stderr
        )
        return 1
    stale = []
    for dialect, text in texts.items():
        path = golden_path(dialect)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path.name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    count = {dialect: text.count('"name": ') for dialect, text in texts.items()}
    verb = "would change" if args.check else "rewritten"
    print(f"cases: {count}; {verb}: {', '.join(stale) or 'nothing'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
