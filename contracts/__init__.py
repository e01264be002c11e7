"""The platform's contract (docs/contract.md) as data: the only place a path, topic, event
type, field, reason code, table or currency is spelled.

Every other package imports these names; `tests/contracts/test_spelled_once.py` fails when a
topic, table or reason is typed anywhere else. Nothing here needs more than the standard
library and `iso4217`, so both virtualenvs (the application's and the Flink jobs') import it.
"""
