"""Any sequence of log() and flush() calls reads back as the same points per tag, in order."""

from __future__ import annotations

import tempfile

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deepscope.track import Run, open_logdir

TAGS = ["a", "b", "c/d", "é"]
finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=64)
call = st.tuples(
    st.dictionaries(st.sampled_from(TAGS), finite_or_not | st.integers(-(2**40), 2**40), max_size=4),
    st.none() | st.integers(-5, 10**6),  # step
    st.booleans(),  # flush afterwards
)


@settings(max_examples=40, deadline=None)
@given(st.lists(call, max_size=60))
def test_points_read_back_per_tag_in_logging_order(calls):
    expected: dict[str, list[tuple[int, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        with Run(folder, name="r") as run:
            for values, step, flush in calls:
                run.log(values, step=step)
                for tag, value in values.items():
                    expected.setdefault(tag, []).append((run.step, float(value)))
                if flush:
                    run.flush()
        frame = open_logdir(folder).scalars()
    assert sorted(set(frame["tag"])) == sorted(expected)
    for tag, points in expected.items():
        got = frame[frame["tag"] == tag]
        assert got["step"].tolist() == [step for step, _ in points]
        np.testing.assert_array_equal(got["value"].to_numpy(), np.array([v for _, v in points]))
