"""Dataset statistics, drift, schemas and Dive: Facets Overview, Facets Dive and TFDV in one place.

Profiles stream over Arrow record batches and merge (exactly for counts and moments, within the
sketches' bounds for quantiles, distinct counts and top values), locally or on Dask.

>>> import pandas as pd
>>> import deepscope as ds
>>> train = ds.data.profile(pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]}), name="train")
>>> train.to_frame()[["feature", "type", "count", "unique"]].values.tolist()
[['x', 'float', 3, 3], ['c', 'string', 3, 2]]
"""

from __future__ import annotations

from deepscope.data.compare import Comparison, compare
from deepscope.data.dive import Dive, dive
from deepscope.data.drift import DEFAULT_THRESHOLDS, DriftReport, drift
from deepscope.data.profile import FeatureProfile, Profile, profile
from deepscope.data.schema import Anomalies, Anomaly, FeatureSchema, Schema, infer_schema, validate

__all__ = [
    "profile",
    "Profile",
    "FeatureProfile",
    "compare",
    "Comparison",
    "drift",
    "DriftReport",
    "DEFAULT_THRESHOLDS",
    "infer_schema",
    "validate",
    "Schema",
    "FeatureSchema",
    "Anomalies",
    "Anomaly",
    "dive",
    "Dive",
]
