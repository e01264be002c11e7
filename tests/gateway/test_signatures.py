"""The signing functions (which the simulator uses) agree with the providers' official
verifiers, and the gateway's verifiers refuse what those refuse."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import stripe
from square.utils.webhooks_helper import verify_signature as square_verify_signature

from gateway.providers.base import SignatureRejected
from gateway.providers.square import SIGNATURE_HEADER, SquareVerifier, sign_square
from gateway.providers.stripe import StripeVerifier, sign_stripe, stripe_signature
from loadgen.webhooks import Kind, Mix, generate_events
from loadgen.webhooks.sender import signature_headers
from tests.gateway.conftest import SQUARE_KEY, SQUARE_URL, STRIPE_SECRETS, simulator_credentials

CREDENTIALS = simulator_credentials()
EVENTS = generate_events(300, seed=7, mix=Mix(bad_share=0.3))


def signed_by_simulator(provider: str) -> list[tuple[bytes, dict[str, str]]]:
    now = int(time.time())
    return [
        (event.body, signature_headers(event, CREDENTIALS, now))
        for event in EVENTS
        if event.provider == provider and event.kind is not Kind.BAD_SIGNATURE
    ]


def test_what_the_simulator_signs_verifies_with_the_stripe_library():
    signed = signed_by_simulator("stripe")
    assert len(signed) > 50
    for body, headers in signed:
        header = headers["Stripe-Signature"]
        assert stripe.WebhookSignature.verify_header(body.decode(), header, STRIPE_SECRETS[0], 300)


def test_what_the_simulator_signs_verifies_with_the_square_library():
    signed = signed_by_simulator("square")
    assert len(signed) > 50
    for body, headers in signed:
        assert square_verify_signature(
            request_body=body.decode(),
            signature_header=headers[SIGNATURE_HEADER],
            signature_key=SQUARE_KEY,
            notification_url=SQUARE_URL,
        )


def test_wrongly_signed_simulator_events_fail_the_official_verifiers():
    now = int(time.time())
    bad = [e for e in EVENTS if e.kind is Kind.BAD_SIGNATURE]
    assert {e.provider for e in bad} == {"stripe", "square"}
    for event in bad:
        headers = signature_headers(event, CREDENTIALS, now)
        if event.provider == "stripe":
            with pytest.raises(stripe.SignatureVerificationError):
                stripe.WebhookSignature.verify_header(
                    event.body.decode(), headers["Stripe-Signature"], STRIPE_SECRETS[0], 300
                )
        else:
            assert not square_verify_signature(
                request_body=event.body.decode(),
                signature_header=headers[SIGNATURE_HEADER],
                signature_key=SQUARE_KEY,
                notification_url=SQUARE_URL,
            )


STRIPE = StripeVerifier(STRIPE_SECRETS, tolerance_seconds=300)
BODY = b'{"id":"evt_1","type":"charge.succeeded"}'


@pytest.mark.parametrize("secret", STRIPE_SECRETS)
def test_stripe_either_secret_verifies_during_rotation(secret):
    now = int(time.time())
    STRIPE.verify(
        BODY, {"stripe-signature": sign_stripe(BODY, (secret,), now)["Stripe-Signature"]}, now
    )


def test_stripe_any_of_several_v1_signatures_may_match():
    now = int(time.time())
    good = stripe_signature(BODY, STRIPE_SECRETS[1], now)
    header = f"t={now},v1={'0' * 64},v0={'1' * 64},v1={good},scheme9=zz"
    STRIPE.verify(BODY, {"stripe-signature": header}, now)
    assert stripe.WebhookSignature.verify_header(BODY.decode(), header, STRIPE_SECRETS[1], 300)


def stripe_header(body: bytes, secret: str, at: int) -> dict[str, str]:
    return {"stripe-signature": sign_stripe(body, (secret,), at)["Stripe-Signature"]}


def now() -> int:
    return int(time.time())


# Built when the test runs: a timestamp taken at collection would age meanwhile.
STRIPE_REFUSALS: dict[str, tuple[Callable[[], dict[str, str]], str]] = {
    "none": (lambda: {}, "missing"),
    "empty": (lambda: {"stripe-signature": ""}, "missing"),
    "no-t": (lambda: {"stripe-signature": "v1=abc"}, "no timestamp"),
    "bad-t": (lambda: {"stripe-signature": "t=abc,v1=abc"}, "no valid timestamp"),
    "v0-only": (lambda: {"stripe-signature": f"t={now()},v0=abc"}, "no v1"),
    "tampered": (lambda: stripe_header(BODY + b" ", STRIPE_SECRETS[0], now()), "matches"),
    "wrong-secret": (lambda: stripe_header(BODY, "whsec_wrong", now()), "matches"),
    "stale": (lambda: stripe_header(BODY, STRIPE_SECRETS[0], now() - 310), "tolerance"),
    "future": (lambda: stripe_header(BODY, STRIPE_SECRETS[0], now() + 310), "tolerance"),
}


@pytest.mark.parametrize("case", STRIPE_REFUSALS)
def test_stripe_refusals(case):
    headers, message = STRIPE_REFUSALS[case]
    with pytest.raises(SignatureRejected, match=message):
        STRIPE.verify(BODY, headers(), time.time())


def test_stripe_library_also_refuses_a_stale_signature():
    header = stripe_header(BODY, STRIPE_SECRETS[0], int(time.time()) - 301)["stripe-signature"]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(BODY.decode(), header, STRIPE_SECRETS[0], 300)


SQUARE = SquareVerifier(SQUARE_KEY, SQUARE_URL)


def test_square_signature_verifies_and_binds_the_url():
    headers = sign_square(BODY, SQUARE_KEY, SQUARE_URL)
    SQUARE.verify(BODY, headers, time.time())
    with pytest.raises(SignatureRejected, match="does not match"):
        SquareVerifier(SQUARE_KEY, SQUARE_URL + "/other").verify(BODY, headers, time.time())


@pytest.mark.parametrize(
    "headers",
    [{}, {SIGNATURE_HEADER: ""}, sign_square(BODY + b"x", SQUARE_KEY, SQUARE_URL),
     sign_square(BODY, "wrong-key", SQUARE_URL)],
    ids=["none", "empty", "tampered", "wrong-key"],
)  # fmt: skip
def test_square_refusals(headers):
    with pytest.raises(SignatureRejected):
        SQUARE.verify(BODY, headers, time.time())
