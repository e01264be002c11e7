"""Active ISO 4217 currencies with numeric minor units, from the maintained `iso4217` package.

Funds, precious metals, test and "no currency" codes (XAU, XDR, XTS, XXX, ...) have no minor
units in ISO's table and so are not valid payment currencies; withdrawn codes are not in
the active list at all.
"""

from __future__ import annotations

from iso4217 import Currency

MINOR_UNITS: dict[str, int] = {
    currency.code: currency.exponent for currency in Currency if currency.exponent is not None
}
