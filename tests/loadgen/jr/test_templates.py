"""The JR templates, rendered by JR itself: fields, dirt, timestamps, keys and charge ids."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loadgen.jr.driver import jr_command, jr_environment, template_text, write_jr_config
from loadgen.jr.settings import LoadSettings
from tests.loadgen.jr.messages import (
    CHARGE_ID,
    FIELDS,
    JSON_NULL,
    MISSING_KEY,
    REJECTED,
    Census,
    census,
    decimals,
    generator_currencies,
    null_spelling,
    parse,
    timestamp_form,
)

pytestmark = pytest.mark.integration

MESSAGES = 2000
EVENT_TYPES = tuple(FIELDS)
SEEDS = {"charges": 11, "refunds": 12, "disputes": 13, "subscriptions": 14}
# What the stdout output template prints: the Kafka key, a tab, the message.
KEY_AND_VALUE = "{{.K}}\t{{.V}}\n"


def render(settings: LoadSettings, event_type: str, messages: int, seed: int) -> list[str]:
    command = jr_command(
        settings.jr_bin,
        template_text(event_type, settings.templates_dir),
        per_pass=messages,
        seed=seed,
    )
    result = subprocess.run(
        [*command, "--outputTemplate", KEY_AND_VALUE],
        env=jr_environment(settings),
        cwd=settings.conf_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.fixture(scope="module")
def stdout_settings(load_settings, tmp_path_factory) -> LoadSettings:
    """JR's settings, with a conf dir of the tests' own (JR runs in it, to stdout)."""
    conf_dir = tmp_path_factory.mktemp("jr-conf")
    settings = load_settings.model_copy(update={"conf_dir": conf_dir})
    write_jr_config(settings, "unused:9092")
    return settings


@pytest.fixture(scope="module")
def rendered(stdout_settings) -> dict[str, tuple[datetime, datetime, list[str]]]:
    """Each template rendered once: (start, end, lines)."""
    out = {}
    for event_type in EVENT_TYPES:
        start = datetime.now(UTC)
        lines = render(stdout_settings, event_type, MESSAGES, SEEDS[event_type])
        out[event_type] = (start, datetime.now(UTC), lines)
    return out


@pytest.fixture(scope="module")
def censuses(rendered, stdout_settings) -> dict[str, Census]:
    currencies = generator_currencies(stdout_settings.templates_dir)
    result = {}
    for event_type, (_, _, lines) in rendered.items():
        assert len(lines) == MESSAGES
        keys, values = zip(*(line.split("\t", 1) for line in lines), strict=True)
        result[event_type] = census(event_type, list(values), currencies, list(keys))
    return result


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_object_has_exactly_the_contract_fields(censuses, event_type):
    c = censuses[event_type]
    fields = set(FIELDS[event_type])
    complete = 0
    for obj in c.objects:
        assert set(obj) <= fields, set(obj) - fields
        complete += set(obj) == fields
    # Keys are left out only as one of the null-like spellings, now and then.
    assert complete >= 0.97 * len(c.objects)
    assert complete < len(c.objects)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_dirt_of_every_kind_at_a_realistic_rate(censuses, event_type):
    c = censuses[event_type]
    for category in REJECTED:
        if category == "zero_amount" and event_type == "subscriptions":
            continue  # a free subscription is valid
        assert 0.001 <= c.rate(category) <= 0.03, (category, c.counts[category])
    assert 0.08 <= c.rejected / c.total <= 0.16, c.rejected
    # Flaws that normalisation repairs.
    assert 0.01 <= c.rate("cosmetic_currency") <= 0.08
    assert 0.01 <= c.rate("cosmetic_status") <= 0.08


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_about_half_a_percent_is_not_a_json_object(censuses, rendered, event_type):
    c = censuses[event_type]
    assert 0.001 <= c.rate("malformed") <= 0.012
    _, _, lines = rendered[event_type]
    assert all(line.split("\t", 1)[1].strip() for line in lines)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_amounts_are_mostly_numbers_sometimes_numeric_strings(censuses, event_type):
    c = censuses[event_type]
    assert c.rate("number_amount") >= 0.8
    assert 0.04 <= c.rate("string_amount") <= 0.15


def test_subscriptions_include_free_trials(censuses):
    assert censuses["subscriptions"].rate("free_amount") >= 0.02


def test_every_null_spelling_appears(censuses):
    seen: Counter[str] = Counter()
    for c in censuses.values():
        seen.update(c.null_spellings)
    for spelling in ["", "null", "NULL", " None ", "nil", "undefined", "N/A", JSON_NULL]:
        assert seen[spelling] >= 5, (spelling, seen)
    assert seen[MISSING_KEY] >= 5


def test_every_timestamp_form_appears_and_means_now_in_utc(censuses, rendered):
    forms: Counter[str] = Counter()
    for event_type, c in censuses.items():
        start, end, _ = rendered[event_type]
        for obj in c.objects:
            if null_spelling(obj, "created_at") is not None:
                continue
            form, instant = timestamp_form(obj["created_at"])
            forms[form] += 1
            if instant is not None:
                # Every form, offsets included, names the moment the message was made
                # (epoch seconds round it down).
                assert start - timedelta(seconds=1) <= instant <= end, obj
    total = sum(forms.values())
    for form in ["utc", "utc_fraction", "iso_z", "iso_offset", "epoch_seconds", "epoch_millis"]:
        assert forms[form] >= 0.03 * total, (form, forms)
    assert forms["invalid"] >= 0.002 * total


def test_bad_timestamps_include_impossible_dates(censuses):
    values = {
        obj["created_at"]
        for c in censuses.values()
        for obj in c.objects
        if null_spelling(obj, "created_at") is None
        and timestamp_form(obj["created_at"])[0] == "invalid"
    }
    assert {"yesterday", "2026-13-45 99:99:99"} <= values


def test_amounts_have_the_currency_s_minor_units(censuses, load_settings):
    currencies = generator_currencies(load_settings.templates_dir)
    assert currencies["JPY"] == currencies["KRW"] == 0
    assert currencies["BHD"] == currencies["KWD"] == 3
    places: dict[int, Counter[int]] = {0: Counter(), 2: Counter(), 3: Counter()}
    for c in censuses.values():
        for obj in c.objects:
            amount, currency = obj.get("amount"), obj.get("currency")
            if isinstance(amount, Decimal | int) and not isinstance(amount, bool):
                code = str(currency).strip().upper()
                if code in currencies and 0 < amount <= 1_000_000:
                    places[currencies[code]][len(str(amount).partition(".")[2])] += 1
    # Over-precise amounts are the deliberate few; the rest print the currency's decimals
    # (JPY and KRW sometimes as "1280.00", which is valid).
    for exponent, seen in places.items():
        assert seen[exponent] >= 0.9 * sum(seen.values()), (exponent, seen)
        assert sum(seen.values()) > 50


def test_amounts_stay_plausible(censuses):
    for c in censuses.values():
        for obj in c.objects:
            amount = obj.get("amount")
            if isinstance(amount, Decimal) and 0 < amount <= 1_000_000:
                assert decimals(amount) <= 5


def test_charges_look_like_a_payment_mix(censuses):
    charges = censuses["charges"].objects
    countries = Counter(obj.get("country") for obj in charges)
    providers = Counter(str(obj.get("provider")).strip().lower() for obj in charges)
    statuses = Counter(str(obj.get("status")).strip().lower() for obj in charges)
    currencies = Counter(str(obj.get("currency")).strip().upper() for obj in charges)
    assert countries["NA"] >= 5  # Namibia
    assert {"stripe", "adyen", "square", "braintree"} <= set(providers)
    assert statuses["succeeded"] > statuses["failed"] > 0 and statuses["pending"] > 0
    assert {"USD", "EUR", "JPY", "KRW", "BHD", "KWD"} <= set(currencies)
    assert {"XXX", "XTS", "XAU", "ABC", "US"} & set(currencies)
    failed = [o for o in charges if str(o.get("status")).strip().lower() == "failed"]
    assert all(o.get("failure_code") for o in failed if "failure_code" in o)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_messages_are_keyed_by_their_id(censuses, event_type):
    c = censuses[event_type]
    assert len(c.keyed) >= 0.95 * c.total
    assert [(k, i) for k, i in c.keyed if k != i] == []
    # No usable id (or not JSON): no key. JR prints a missing key as "null".
    assert set(c.unkeyed_keys) == {"null"}


@pytest.mark.parametrize("event_type", ["refunds", "disputes"])
def test_references_are_in_the_charge_id_space(censuses, rendered, event_type):
    start, end, _ = rendered[event_type]
    first_bucket = int(start.timestamp() * 1000) // 10_000
    last_bucket = int(end.timestamp() * 1000) // 10_000
    references = [
        obj["charge_id"]
        for obj in censuses[event_type].objects
        if null_spelling(obj, "charge_id") is None
    ]
    assert len(references) >= 0.95 * MESSAGES
    for reference in references:
        match = CHARGE_ID.match(reference)
        assert match, reference
        assert first_bucket - 30 <= int(match[1]) <= last_bucket


def test_charge_ids_are_unique_and_in_the_id_space(censuses):
    ids = [
        obj["charge_id"]
        for obj in censuses["charges"].objects
        if null_spelling(obj, "charge_id") is None
    ]
    assert all(CHARGE_ID.match(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_refunds_and_disputes_name_charges_that_were_made(stdout_settings, tmp_path):
    """The generators side by side, as `loadgen.jr` runs them, 50x the default rates:
    refunds and disputes name charges that the charges generator made, with the same
    customer, currency and at most the same amount."""
    seconds = 22
    processes = {}
    for event_type, per_pass in [("charges", 20), ("refunds", 5), ("disputes", 2)]:
        command = jr_command(
            stdout_settings.jr_bin,
            template_text(event_type, stdout_settings.templates_dir),
            per_pass=per_pass,
            frequency="200ms",
            duration_seconds=seconds,
            seed=SEEDS[event_type],
        )
        # To files: a full pipe would hold JR up, and JR skips the passes it is late for.
        with (tmp_path / f"{event_type}.jsonl").open("w") as out:
            processes[event_type] = subprocess.Popen(
                command,
                env=jr_environment(stdout_settings),
                cwd=stdout_settings.conf_dir,
                stdout=out,
                stderr=subprocess.DEVNULL,
            )
    currencies = generator_currencies(stdout_settings.templates_dir)
    started = time.monotonic()
    assert all(p.wait(timeout=seconds + 60) == 0 for p in processes.values())
    assert time.monotonic() - started >= seconds - 1
    outputs = {t: (tmp_path / f"{t}.jsonl").read_text() for t in processes}

    charges = {}
    for line in outputs["charges"].splitlines():
        obj = parse(line)
        if obj and null_spelling(obj, "charge_id") is None:
            charges[obj["charge_id"]] = obj
    assert len(charges) > 1500, len(charges)
    highest_slot: dict[str, int] = {}
    for match in filter(None, map(CHARGE_ID.match, charges)):
        highest_slot[match[1]] = max(int(match[2]), highest_slot.get(match[1], -1))

    def reached(charge_id: str) -> bool:
        match = CHARGE_ID.match(charge_id)
        return bool(match) and int(match[2]) <= highest_slot.get(match[1], -1)

    for event_type in ["refunds", "disputes"]:
        references = [
            obj
            for obj in map(parse, outputs[event_type].splitlines())
            if obj and null_spelling(obj, "charge_id") is None
        ]
        assert len(references) > 150, (event_type, len(references))
        # Made: the charges generator reached that slot of that bucket (it numbers the
        # charges of a bucket 0, 1, 2, ...). About 1.2% of the charges it made went out
        # with their id nulled on purpose (bad input), so their ids are not in `charges`.
        made_ids = [obj["charge_id"] for obj in references if reached(obj["charge_id"])]
        # Timing is the only other cause of a miss: a pass of the charges generator that
        # ran late on a busy box, at a bucket's edge.
        assert len(made_ids) >= 0.95 * len(references), (event_type, len(made_ids))
        made = [obj for obj in references if obj["charge_id"] in charges]
        assert len({obj["charge_id"] for obj in made}) > 50
        for obj in made:
            charge = charges[obj["charge_id"]]
            if all(null_spelling(o, "customer_id") is None for o in (obj, charge)):
                assert obj["customer_id"] == charge["customer_id"]
            codes = [str(o.get("currency")).strip().upper() for o in (obj, charge)]
            if all(code in currencies for code in codes):
                assert codes[0] == codes[1], (obj, charge)
                amounts = [o.get("amount") for o in (obj, charge)]
                exponent = currencies[codes[0]]
                if all(
                    isinstance(a, Decimal) and 0 < a <= 1_000_000 and decimals(a) <= exponent
                    for a in amounts
                ):
                    assert amounts[0] <= amounts[1], (obj, charge)
