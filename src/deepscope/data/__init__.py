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

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from deepscope.data.profile import FeatureProfile, Profile, profile

if TYPE_CHECKING:
    from deepscope.data.compare import Comparison, compare
    from deepscope.data.dive import Dive, dive
    from deepscope.data.drift import DEFAULT_THRESHOLDS, DriftReport, drift
    from deepscope.data.schema import Anomalies, Anomaly, FeatureSchema, Schema, infer_schema, validate

# These load their module on first use, so ``ds.data.profile(path)`` does not pay for pandas
# (a quarter second) and the modules that need it.
_LAZY = {
    "compare": "compare",
    "Comparison": "compare",
    "drift": "drift",
    "DriftReport": "drift",
    "DEFAULT_THRESHOLDS": "drift",
    "infer_schema": "schema",
    "validate": "schema",
    "Schema": "schema",
    "FeatureSchema": "schema",
    "Anomalies": "schema",
    "Anomaly": "schema",
    "dive": "dive",
    "Dive": "dive",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"deepscope.data.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'deepscope.data' has no attribute {name!r}")


class _Package(types.ModuleType):
    """Keeps ``deepscope.data.drift`` (and compare, dive) the function, not its module.

    Importing a submodule sets the package attribute of its name to the module; the functions
    of those names were imported eagerly before, so they won, and with lazy loading they must
    still win.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and value.__name__ == f"{__name__}.{name}" and hasattr(value, name):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

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
