"""The API's fast reading of a batch (usage.batch) is a shortcut, never a second set of rules:
whatever it accepts, usage.validation accepts with the same values, and an ordinary valid
batch does take the shortcut."""

import json

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.usage.records import record
from tests.usage.strategies import hostile_records, valid_records
from usage.batch import decode_batch, open_batch
from usage.validation import Invalid, accepted_window, parse_json, validate

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.both_databases,
    pytest.mark.usefixtures("still_now", "customers"),
]


def both_readings(records: list) -> tuple[list | None, list, list]:
    """(the fast path's records or None, the validation's valid records, its problems), each
    read from the same JSON body, with the quantity as text so that 1.5 and 1.500000 differ."""
    body = json.dumps({"records": records}).encode()
    typed = decode_batch(body)
    fast = None
    if typed is not None:
        batch = open_batch(typed, window=accepted_window(backfill=False))
        try:
            fast = None if batch is None else sorted(batch)
        except Invalid:
            fast = None
    try:
        parsed = parse_json(body)["records"]
    except ValueError:  # NaN or Infinity: not JSON to either reading
        assert typed is None
        return None, [], ["not JSON"]
    valid, errors = validate(parsed, backfill=False)

    def exact(rows):
        return [(index, r._replace(quantity=str(r.quantity))) for index, r in rows]

    return (None if fast is None else exact(fast)), exact(valid), errors


@given(records=st.lists(hostile_records | valid_records, max_size=5))
def test_what_the_fast_path_accepts_the_validation_accepts_with_the_same_values(records):
    fast, valid, errors = both_readings(records)

    event("fast path" if fast is not None else "validation")
    if fast is not None:
        assert errors == []
        assert fast == valid


@given(records=st.lists(valid_records, min_size=1, max_size=5))
def test_a_valid_batch_takes_the_fast_path(records):
    fast, valid, errors = both_readings(records)

    assert errors == []
    assert fast == valid


@pytest.mark.parametrize(
    "change",
    [
        {"quantity": "-1"},
        {"quantity": "1_0"},
        {"quantity": "NaN"},
        {"quantity": 1e10},
        {"start": "2026-10-20T13:00:00"},  # no time zone
        {"start": "2026-11-22T12:06:00Z", "end": "2026-11-22T12:30:00Z"},  # in the future
        {"start": "2026-01-20T13:00:00Z", "end": "2026-01-20T14:00:00Z"},  # before the window
        {"end": "2026-10-20T12:00:00Z"},  # before start
        {"end": "2026-10-21T14:00:00Z"},  # longer than a day
        {"service": "=HYPERLINK()"},
        {"service": "web; -1"},
        {"service": "web\u200b"},
        {"service": "   "},
        {"customer": "C-99999"},
        {"customer": "C-2000\x00"},
        {"metric": "gpu"},
        {"id": "r\x07"},
        {"resource": "vm\x00"},
        {"resource": 42},
        {"extra": "field"},
    ],
)
def test_a_batch_with_one_refused_record_leaves_the_fast_path(change):
    """The validation, not the fast path, says what is wrong (the API answers with its list)."""
    fast, valid, errors = both_readings([record(1), {**record(2), **change}])

    assert fast is None
    assert [error["index"] for error in errors] == [1]
