"""Time and ids (API §0): UTC with an explicit `+00:00`, fraction only when non-zero."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from volundr.domain.clock import as_utc, iso, new_id, utcnow


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)


def test_iso_has_an_explicit_utc_offset_and_omits_a_zero_fraction() -> None:
    assert iso(datetime(2026, 4, 11, 10, 30, tzinfo=UTC)) == "2026-04-11T10:30:00+00:00"
    assert iso(datetime(2026, 4, 11, 10, 30, 0, 123456, tzinfo=UTC)) == (
        "2026-04-11T10:30:00.123456+00:00"
    )
    assert iso(datetime(2026, 4, 11, 10, 30, 0, 1000, tzinfo=UTC)) == (
        "2026-04-11T10:30:00.001000+00:00"
    )


def test_offsets_are_converted_and_naive_values_read_as_utc() -> None:
    paris = timezone(timedelta(hours=2))
    assert iso(datetime(2026, 4, 11, 12, 30, tzinfo=paris)) == "2026-04-11T10:30:00+00:00"
    assert iso(datetime(2026, 4, 11, 10, 30)) == "2026-04-11T10:30:00+00:00"
    assert as_utc(datetime(2026, 1, 1, 1, 0, tzinfo=paris)) == datetime(
        2025, 12, 31, 23, 0, tzinfo=UTC
    )


def test_new_ids_are_lower_case_hyphenated_uuid4() -> None:
    ids = {new_id() for _ in range(100)}
    assert len(ids) == 100
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 4 and str(parsed) == value
