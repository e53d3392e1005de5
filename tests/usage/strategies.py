"""Hypothesis strategies for usage records: mostly valid records with hostile fields swapped in
(the API's fuzz test and the fast path's equivalence test share them)."""

import datetime

from hypothesis import strategies as st

from tests.usage.records import record
from usage.models import Metric

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
timestamps = st.datetimes(
    min_value=datetime.datetime(2026, 10, 1),  # noqa: DTZ001 (hypothesis adds the zones)
    max_value=datetime.datetime(2026, 12, 1),  # noqa: DTZ001
    timezones=st.none() | st.timezones(),
).map(datetime.datetime.isoformat)
hostile_text = st.text(max_size=130) | st.sampled_from(["", " ", "web\x00", "web\ud800", "é" * 121])
field_values = {
    "id": st.sampled_from(["r-1", "r-2", "r-3"]) | hostile_text | json_values,
    "customer": st.sampled_from(["C-20000", "C-20001", "C-99999"]) | hostile_text | json_values,
    "service": st.sampled_from(["web", "db-primary"]) | hostile_text | json_values,
    "metric": st.sampled_from([*Metric.values, "gpu", "CPU"]) | json_values,
    "quantity": st.decimals(allow_nan=True).map(str)
    | st.floats(allow_nan=False)
    | st.integers()
    | st.sampled_from(["NaN", "-0", "1e9", "1e10", "1_0", " 1"])
    | json_values,
    "start": timestamps | hostile_text,
    "end": timestamps | hostile_text,
    "resource": st.none() | hostile_text | json_values,
}
# Records that are mostly valid, with a few fields swapped for hostile ones or left out.
hostile_records = st.builds(
    lambda base, swaps, dropped: {k: v for k, v in {**base, **swaps}.items() if k not in dropped},
    st.builds(lambda n: record(n), st.integers(1, 4)),
    st.fixed_dictionaries({}, optional=field_values),
    st.sets(st.sampled_from(list(field_values))) | st.just(set()),
)
valid_records = st.builds(
    lambda n, customer, quantity: record(n, customer=customer, quantity=quantity),
    st.integers(1, 6),
    st.sampled_from(["C-20000", "C-20001"]),
    st.decimals(0, 10**9, places=6).map(str) | st.integers(0, 10**9),
)
