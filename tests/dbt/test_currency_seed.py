"""House rule 1: dbt's currency minor units are rendered from contracts.currencies."""

from __future__ import annotations

import csv

from contracts.currencies import MINOR_UNITS
from tests.dbt.conftest import DBT_PROJECT_DIR, load_module_from

renderer = load_module_from(
    DBT_PROJECT_DIR / "scripts" / "render_currencies.py", "render_currencies"
)
SEED = DBT_PROJECT_DIR / "seeds" / "currencies.csv"


def test_the_committed_seed_is_the_rendering_of_the_contracts_currencies():
    assert SEED.read_text() == renderer.render_currency_seed(), (
        "dbt/seeds/currencies.csv is stale: run .venv/bin/python dbt/scripts/render_currencies.py"
    )


def test_the_seed_holds_every_valid_currency_with_its_minor_units():
    with SEED.open() as seed:
        rows = {row["currency"]: int(row["minor_units"]) for row in csv.DictReader(seed)}
    assert rows == MINOR_UNITS
    assert (rows["USD"], rows["JPY"], rows["BHD"]) == (2, 0, 3)
    assert not {"XXX", "XTS", "XAU", "XDR"} & rows.keys()


def test_the_renderer_writes_what_it_is_given_sorted():
    assert renderer.render_currency_seed({"JPY": 0, "EUR": 2}) == (
        "currency,minor_units\nEUR,2\nJPY,0\n"
    )
