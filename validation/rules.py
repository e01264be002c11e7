"""Contract §4's rules as data: null tokens, the number and timestamp grammars, bounds.

The event types they judge (fields, kinds, status sets) are `contracts.events`, the reasons
`contracts.reasons`. Nothing here knows about SQL or Python evaluation; `flink_sql` and
`python_rules` render these definitions, and a parity test runs one case table through both.
"""

from __future__ import annotations

from decimal import Decimal

# Strings that mean "no value" once trimmed and compared case-insensitively.
NULL_TOKENS: tuple[str, ...] = ("", "null", "none", "nil", "undefined", "n/a")

# What "trimmed" removes, at both ends: ASCII whitespace (the same class in Java and Python).
WHITESPACE = " \t\n\r"

# A numeric text (amounts and the NUMBER fields): optional sign, digits with an optional
# fraction, optional exponent; groups: sign, integer digits, fraction digits, exponent.
# Bounded, because what a number costs to read grows with it: Java's BigDecimal scales
# `1e999999999` digit by digit, stalling the job for hours on one message. A text beyond
# the bounds is not a number this pipeline reads (INVALID_AMOUNT): no payment amount
# needs more than 40 digits on either side of the point or an exponent beyond +-999.
NUMBER_MAX_DIGITS = 40
NUMBER_MAX_EXPONENT_DIGITS = 3
# The very end of the text: `$` also matches before a final line break, and Java counts
# U+2028 and U+0085 as line breaks where Python does not.
END_OF_TEXT = r"(?![\s\S])"
NUMERIC_PATTERN = (
    rf"^([+-]?)(?=\.?[0-9])([0-9]{{0,{NUMBER_MAX_DIGITS}}})(?:\.([0-9]{{0,{NUMBER_MAX_DIGITS}}}))?"
    rf"(?:[eE]([+-]?[0-9]{{1,{NUMBER_MAX_EXPONENT_DIGITS}}}))?{END_OF_TEXT}"
)

# Amount checks are judged on the number as written, exactly (never on a rounded value):
# `12.5000000000000000001` USD has too many decimals, `1e-19` is positive. A valid amount
# is then parsed as DECIMAL(38, 18), which holds it exactly.
AMOUNT_PARSE_PRECISION = 38
AMOUNT_PARSE_SCALE = 18
MAX_AMOUNT = Decimal("1000000")

# What a member's text is, for every field kind: a JSON string as it is; a number as
# written (as a decimal: `12.50` stays `12.50`, `1e2` reads `1E+2`); `true` / `false`; and
# an object or array as its compact JSON text, the way Flink's and Spark's JSON formats
# read a nested value into a STRING column. So a container where a scalar is expected is
# a value that is present, never "missing": it is not an amount (INVALID_AMOUNT), not a
# currency (INVALID_CURRENCY), not a timestamp (INVALID_TIMESTAMP), not a status
# (INVALID_STATUS). The id, the reference and the other text fields, which have no
# INVALID_* reason, keep the JSON text as their value (nothing the producer sent is
# silently turned into NULL); the NUMBER fields and the optional timestamps, which are
# NULL when unreadable, are NULL.

# Flink's JSON functions read with Jackson's default limits: a message nested deeper,
# with a longer number or a longer member name is not JSON (MALFORMED_JSON). The strict
# object check wraps the message in one more level, hence one level less than Jackson's
# 1,000. The Python rules apply the same limits, so both agree on every message.
JSON_MAX_DEPTH = 999
JSON_MAX_NUMBER_DIGITS = 1000  # digits of integer part, fraction and exponent together
JSON_MAX_NAME_LENGTH = 50_000  # UTF-16 code units, as Java counts

# `raw_payload` keeps the message exactly as read: its text when the bytes are UTF-8,
# otherwise this prefix and the bytes in base64 (RFC 4648, padded). A message that is
# UTF-8 but itself starts with the prefix is stored in base64 as well, so every stored
# value reads back to exactly one message. Bytes that are not UTF-8 are MALFORMED_JSON.
RAW_PAYLOAD_BASE64_PREFIX = "base64:"

# Timestamps: `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC), ISO 8601 with `Z` or `±hh:mm`, or epoch
# seconds / milliseconds as an integer. Integers below EPOCH_MILLIS_FROM are seconds.
TIMESTAMP_UTC_PATTERN = (
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2}) ([0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?)$"
)
TIMESTAMP_ISO_PATTERN = (
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?)"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
EPOCH_PATTERN = r"^[0-9]{1,15}$"
EPOCH_MILLIS_FROM = 100_000_000_000  # 1e11 s would be the year 5138
EPOCH_MILLIS_MAX = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
