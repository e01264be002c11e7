"""Renders seeds/currencies.csv from `contracts.currencies` (house rule 1: one definition).

The ISO 4217 data comes from the maintained `iso4217` package (contracts.currencies);
dbt reads it as a seed. Run after upgrading `iso4217`:

    .venv/bin/python dbt/scripts/render_currencies.py

tests/dbt/test_currency_seed.py fails while the committed seed differs from this rendering.
"""

from __future__ import annotations

import sys
from pathlib import Path

from contracts.currencies import MINOR_UNITS

SEED = Path(__file__).resolve().parent.parent / "seeds" / "currencies.csv"


def render_currency_seed(minor_units: dict[str, int] = MINOR_UNITS) -> str:
    rows = [f"{code},{units}" for code, units in sorted(minor_units.items())]
    return "\n".join(["currency,minor_units", *rows]) + "\n"


def main() -> int:
    SEED.write_text(render_currency_seed())
    print(f"wrote {len(MINOR_UNITS)} currencies to {SEED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
