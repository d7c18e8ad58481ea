"""`clock` and `process_tz`: see `tests/clock_fixtures.py`."""

from tests.clock_fixtures import clock, process_tz  # noqa: F401 - fixtures, registered by import
