"""docs/contract.md and the code say the same: every topic, table, column, event field,
status, null token and reason code the document names is the one `contracts/` defines,
in the same order where order matters."""

from __future__ import annotations

import re

import pytest

from contracts.events import EVENT_TYPES
from contracts.paths import REPO_ROOT
from contracts.reasons import (
    DLQ_REASONS,
    ENRICHMENT_REASONS,
    NORMALIZATION_REASONS,
    VALIDATION_REASONS,
)
from contracts.tables import (
    CATALOG,
    ENRICHMENT_COLUMNS,
    NAMESPACE,
    UNIFIED_COLUMNS,
    table_definitions,
)
from contracts.topics import TOPIC_NAMES
from validation.rules import NULL_TOKENS

DOC = REPO_ROOT / "docs" / "contract.md"
SHARED = REPO_ROOT.parent / "shared" / "contract.md"
APPENDIX = "## Appendix A."
CODE = re.compile(r"`([^`]*)`")
REASON_CODE = re.compile(r"^[A-Z][A-Z_]+$")


def text() -> str:
    return DOC.read_text()


def section(heading: str) -> str:
    """The text from a heading line that starts with `heading` to the next heading of the
    same or a higher level."""
    lines = text().splitlines()
    level = heading.split(" ")[0]
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if lines[i].startswith("#") and len(lines[i].split(" ")[0]) <= len(level)
        ),
        len(lines),
    )
    return "\n".join(lines[start:end])


def codes(fragment: str) -> list[str]:
    """Every backticked word, split at commas: `a, b` gives a and b."""
    return [part.strip() for code in CODE.findall(fragment) for part in code.split(",")]


def in_order(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def reasons(fragment: str) -> list[str]:
    return in_order([c for c in codes(fragment) if REASON_CODE.match(c)])


def test_the_contract_part_is_the_shared_contract_verbatim():
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is not beside this checkout")
    assert text().split(f"\n{APPENDIX}")[0].rstrip() == SHARED.read_text().rstrip()


def test_topics():
    documented = [c for c in codes(section("## 2.")) if "payment" in c]
    assert sorted(documented) == sorted(TOPIC_NAMES)


def test_catalog_namespace_and_tables():
    iceberg = section("## 3.")
    assert f"named `{CATALOG}`" in iceberg
    assert f"namespace\n`{NAMESPACE}`" in iceberg or f"namespace `{NAMESPACE}`" in iceberg
    listed = [
        c for line in iceberg.splitlines() if line.startswith(("- ", "  ")) for c in codes(line)
    ]
    added = codes("\n".join(li for li in section("### A.1").splitlines() if li.startswith("- `")))
    documented = [c for c in listed if c != "lakehouse.payments_db.<table>"] + [
        c for c in added if "_" in c and c != NAMESPACE
    ]
    assert sorted(set(documented)) == sorted(name for name, _, _ in table_definitions())


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda t: t.name)
def test_raw_fields_of_each_event_type(event_type):
    fields = section("## 4.").split("Raw JSON fields")[1].split("Normalisation")[0]
    line = re.search(rf"- {event_type.name}: `([^`]*)`", fields, re.DOTALL)
    assert line is not None
    assert [f.strip() for f in line.group(1).split(",")] == [f.name for f in event_type.fields]


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda t: t.name)
def test_statuses_of_each_event_type(event_type):
    checks = section("## 4.").split("MISSING_STATUS")[1]
    found = re.search(rf"{event_type.name} `([^`]*)`", checks, re.DOTALL)
    assert found is not None
    statuses = [s.strip() for s in found.group(1).replace("\n", " ").split(",")]
    assert statuses == list(event_type.statuses)


def test_null_tokens():
    normalisation = section("## 4.").split("Normalisation")[1].split("becomes SQL NULL")[0]
    assert [c.strip("'") for c in CODE.findall(normalisation)] == list(NULL_TOKENS)


def test_validation_reasons_in_check_order():
    checks = section("## 4.").split("Checks, in this order")[1].split("Bronze tables hold")[0]
    assert reasons(checks) == [r.value for r in VALIDATION_REASONS]


def test_unified_columns():
    documented = codes(section("## 5.").split("Columns:")[1].split("A provider that")[0])
    names = [c for c in documented if re.match(r"^[a-z_]+$", c) and c not in {"stripe", "square"}]
    kafka_columns = ["kafka_topic", "kafka_partition", "kafka_offset"]
    assert names + kafka_columns == [name for name, _ in UNIFIED_COLUMNS]
    assert all(f"`{c}`" in section("### A.2") for c in kafka_columns)


def test_enrichment_columns():
    documented = codes(section("## 6.").split("payments.event_id`:")[1].split("Scores are")[0])
    names = [c for c in documented if c in {name for name, _ in ENRICHMENT_COLUMNS}]
    assert names == [name for name, _ in ENRICHMENT_COLUMNS]


@pytest.mark.parametrize(
    ("lead", "expected"),
    [
        ("- Unified events", NORMALIZATION_REASONS),
        ("- Enrichment results", ENRICHMENT_REASONS),
        ("- The gateway's dead-letter topic", DLQ_REASONS),
    ],
)
def test_appendix_reasons(lead: str, expected):
    block = section("### A.3").split(lead)[1].split("\n- ")[0]
    assert reasons(block) == [r.value for r in expected]
