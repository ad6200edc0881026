"""Schemas and anomalies, as TensorFlow Data Validation does them, from profiles.

``infer_schema(profile)`` writes down what the data looks like: each feature's type, how often it
is present, the domain of a low-cardinality string feature and the range of a numeric one, and
whether NaN or infinities occur. The schema is editable JSON (``Schema.save`` / ``Schema.load``).
``validate(profile, schema)`` lists every way a profile breaks the schema as an ``Anomaly`` with a
stable ``kind``:

``missing_column``, ``new_column``, ``type_change``, ``unsupported_type``, ``presence_drop``,
``out_of_domain``, ``out_of_range``, ``non_finite``.

>>> import pandas as pd
>>> from deepscope.data.profile import profile
>>> schema = infer_schema(profile(pd.DataFrame({"color": ["red", "blue"] * 50})))
>>> validate(profile(pd.DataFrame({"color": ["red", "green"] * 50})), schema).to_frame()["kind"].tolist()
['out_of_domain']
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from deepscope.data._files import FileResult
from deepscope.data.profile import FeatureProfile, Profile
from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.result import Result
from deepscope.validation import check_int, check_number

__all__ = ["Schema", "FeatureSchema", "Anomaly", "Anomalies", "infer_schema", "validate", "ANOMALY_KINDS"]

ANOMALY_KINDS = {
    "missing_column": "a feature in the schema is absent from the data",
    "new_column": "the data has a feature the schema does not know",
    "type_change": "a feature's type differs from the schema's",
    "unsupported_type": "a feature could not be profiled (nested or mixed types)",
    "presence_drop": "a feature is present in fewer examples than the schema requires",
    "out_of_domain": "a string feature has values outside its domain",
    "out_of_range": "a numeric feature has values outside its range",
    "non_finite": "a float feature has NaN or infinite values the schema does not allow",
}
_FORMAT = "deepscope.schema"
_NUMERIC_TYPES = {"int", "float"}


@dataclass(frozen=True)
class FeatureSchema:
    """What one feature should look like.

    ``min_presence``: smallest allowed fraction of examples with a value. ``domain``: allowed
    string values (None: any). ``max_out_of_domain``: allowed fraction outside the domain.
    ``range``: [min, max] of numeric values (None: any); ``max_out_of_range``: allowed fraction
    outside it (0: none, checked exactly against the profile's min and max).
    ``allow_non_finite``: whether NaN and infinities may appear.
    """

    name: str
    type: str
    min_presence: float = 0.0
    domain: tuple[str, ...] | None = None
    max_out_of_domain: float = 0.0
    range: tuple[float, float] | None = None
    max_out_of_range: float = 0.0
    allow_non_finite: bool = True

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["domain"] = None if self.domain is None else list(self.domain)
        data["range"] = None if self.range is None else list(self.range)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSchema:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise InvalidArgumentError("schema", f"feature entries with keys among {sorted(known)}", sorted(unknown))
        values = dict(data)
        if values.get("domain") is not None:
            values["domain"] = tuple(str(v) for v in values["domain"])
        if values.get("range") is not None:
            low, high = values["range"]
            values["range"] = (float(low), float(high))
        return cls(**values)


@dataclass(frozen=True)
class Schema(FileResult):
    """Features and their constraints; edit the JSON it saves to tighten or relax them."""

    features: dict[str, FeatureSchema] = field(default_factory=dict)

    default_tag = "schema"

    def to_dict(self) -> dict[str, Any]:
        return {"format": _FORMAT, "version": 1, "features": [f.to_dict() for f in self.features.values()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(data.get("features"), list):
            raise InvalidArgumentError(
                "schema",
                "a deepscope schema (JSON with format 'deepscope.schema')",
                data if not isinstance(data, dict) else sorted(data),
            )
        try:
            features = [FeatureSchema.from_dict(f) for f in data["features"]]
        except (TypeError, ValueError, KeyError) as error:
            if isinstance(error, InvalidArgumentError):
                raise
            raise InvalidArgumentError("schema", "feature entries with a name and a type", str(error)) from None
        return cls({f.name: f for f in features})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def read(cls, path: str | os.PathLike) -> Schema:
        """Read a schema written by :meth:`to_file` (and perhaps edited by hand)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise InvalidArgumentError("schema", "a readable schema JSON file", str(path), hint=str(error)) from None
        except json.JSONDecodeError as error:
            raise InvalidArgumentError("schema", "a schema JSON file", str(path), hint=str(error)) from None
        return cls.from_dict(data)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [f.to_dict() for f in self.features.values()], columns=list(FeatureSchema.__dataclass_fields__)
        )

    def with_feature(self, feature: FeatureSchema) -> Schema:
        """A copy with one feature added or replaced."""
        return Schema({**self.features, feature.name: feature})


@dataclass(frozen=True)
class Anomaly:
    feature: str
    kind: str
    description: str
    severity: str = "error"
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Anomalies(Result):
    """Everything a profile does that its schema does not allow."""

    profile: str
    items: tuple[Anomaly, ...]

    default_tag = "anomalies"

    def to_frame(self) -> pd.DataFrame:
        """Columns ``feature, kind, description, severity, examples``."""
        return pd.DataFrame(
            [
                {
                    "feature": a.feature,
                    "kind": a.kind,
                    "description": a.description,
                    "severity": a.severity,
                    "examples": list(a.examples),
                }
                for a in self.items
            ],
            columns=["feature", "kind", "description", "severity", "examples"],
        )

    @property
    def failed(self) -> bool:
        """True when any anomaly is an error (new columns are only warnings)."""
        return any(a.severity == "error" for a in self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


def infer_schema(
    profile: Profile,
    *,
    max_domain_size: int = 50,
    presence_slack: float = 0.05,
    out_of_range: float = 0.01,
) -> Schema:
    """A schema that ``profile`` satisfies, loose enough for another sample of the same data.

    String features with at most ``max_domain_size`` distinct values (counted exactly) get a
    domain. Numeric features get their observed [min, max] with ``out_of_range`` (1%) of values
    allowed outside, since a new sample's extremes rarely match; set it to 0 in the JSON for a
    hard range. A feature always present must stay always present; otherwise the presence may
    drop by ``presence_slack``.
    """
    if not isinstance(profile, Profile):
        raise ArgumentTypeError("profile", "a Profile (from deepscope.data.profile)", profile)
    max_domain_size = check_int(max_domain_size, "max_domain_size", low=0)
    for argument, value in (("presence_slack", presence_slack), ("out_of_range", out_of_range)):
        check_number(value, argument, low=0, high=1)
    features = {}
    for feature in profile:
        presence = feature.count / feature.rows if feature.rows else 0.0
        min_presence = 1.0 if presence >= 1.0 else max(0.0, math.floor((presence - presence_slack) * 100) / 100)
        spec = FeatureSchema(name=feature.name, type=feature.type, min_presence=min_presence)
        values = feature.state.get("values") or {}
        if values.get("kind") == "string" and feature.kind == "string":
            frequencies = feature.frequencies()
            exact = feature.unique is not None and feature.unique == len(frequencies)
            if exact and 0 < len(frequencies) <= max_domain_size:
                spec = replace(spec, domain=tuple(sorted(v for v, _ in frequencies)))
        if (
            values.get("kind") == "numeric"
            and feature.kind == "numeric"
            and feature.min is not None
            and feature.max is not None
        ):
            spec = replace(spec, range=(float(feature.min), float(feature.max)), max_out_of_range=out_of_range)
        if feature.type == "float":
            spec = replace(spec, allow_non_finite=bool(feature.nan or feature.infinite))
        features[feature.name] = spec
    return Schema(features)


def _types_compatible(expected: str, feature: FeatureProfile) -> bool:
    if expected == feature.type:
        return True
    values = feature.state.get("values") or {}
    if expected == "int" and feature.type == "float":
        # pandas stores an int column with missing values as float: fine while values are whole.
        return bool(values.get("integral", False))
    if expected == "float" and feature.type == "int":
        return True
    if {expected, feature.type} == {"string", "categorical"}:
        return True
    return feature.type == "null"  # no values at all: presence checks report it


def validate(profile: Profile, schema: Schema) -> Anomalies:
    """Check ``profile`` against ``schema``; see the module docstring for the anomaly kinds."""
    if not isinstance(profile, Profile):
        raise ArgumentTypeError("profile", "a Profile (from deepscope.data.profile)", profile)
    if not isinstance(schema, Schema):
        raise ArgumentTypeError("schema", "a Schema (from infer_schema or Schema.load)", schema)
    items: list[Anomaly] = []
    for name, spec in schema.features.items():
        if name not in profile:
            items.append(Anomaly(name, "missing_column", f"column {name!r} ({spec.type}) is missing from the data"))
            continue
        items.extend(_check_feature(profile[name], spec))
    for name in profile.features:
        if name not in schema.features:
            feature = profile[name]
            items.append(
                Anomaly(
                    name, "new_column", f"column {name!r} ({feature.type}) is not in the schema", severity="warning"
                )
            )
    return Anomalies(profile=profile.name, items=tuple(items))


def _check_feature(feature: FeatureProfile, spec: FeatureSchema) -> list[Anomaly]:
    name = feature.name
    found: list[Anomaly] = []
    if feature.kind == "unsupported" and spec.type != "unsupported":
        found.append(
            Anomaly(
                name,
                "unsupported_type",
                f"expected {spec.type}, but the feature could not be profiled: {feature.reason}",
            )
        )
        return found
    if not _types_compatible(spec.type, feature):
        found.append(
            Anomaly(name, "type_change", f"expected type {spec.type}, found {feature.type} ({feature.arrow_type})")
        )
        return found
    presence = feature.count / feature.rows if feature.rows else 0.0
    if presence < spec.min_presence - 1e-12:
        found.append(
            Anomaly(
                name,
                "presence_drop",
                f"present in {presence:.1%} of examples, the schema requires at least {spec.min_presence:.1%}",
            )
        )
    if not spec.allow_non_finite and (feature.nan or feature.infinite):
        found.append(
            Anomaly(
                name, "non_finite", f"{feature.nan} NaN and {feature.infinite} infinite values; the schema allows none"
            )
        )
    if spec.domain is not None and feature.is_categorical and feature.count:
        found.extend(_check_domain(feature, spec))
    if spec.range is not None and feature.is_numeric and feature.min is not None:
        found.extend(_check_range(feature, spec))
    return found


def _check_domain(feature: FeatureProfile, spec: FeatureSchema) -> list[Anomaly]:
    allowed = set(cast(tuple[str, ...], spec.domain))  # the caller checked it is set
    frequencies = feature.frequencies()
    values = feature.state.get("values") or {}
    total = max(int(values.get("count", feature.count)), 1)
    inside = sum(count for value, count in frequencies if value in allowed)
    outside_share = max(0.0, 1.0 - inside / total)
    unknown = [(value, count) for value, count in frequencies if value not in allowed]
    if outside_share <= spec.max_out_of_domain or (not unknown and outside_share < 1e-12):
        return []
    examples = tuple(value for value, _ in unknown[:5])
    shown = ", ".join(f"{value!r} ({count})" for value, count in unknown[:5])
    return [
        Anomaly(
            feature.name,
            "out_of_domain",
            f"{outside_share:.1%} of values are outside the domain of {len(allowed)} values: {shown}",
            examples=examples,
        )
    ]


def _check_range(feature: FeatureProfile, spec: FeatureSchema) -> list[Anomaly]:
    # The caller checked that the spec has a range and the feature has finite values.
    low, high = cast(tuple[float, float], spec.range)
    least, most = cast(float, feature.min), cast(float, feature.max)
    if least >= low and most <= high:
        return []
    sketch = feature.sketch()
    below = float(sketch.cdf([low])[0]) if least < low else 0.0
    above = 1.0 - float(sketch.cdf([np.nextafter(high, np.inf)])[0]) if most > high else 0.0
    share = below + above
    if spec.max_out_of_range > 0 and share <= spec.max_out_of_range:
        return []
    examples = tuple(str(v) for v, bad in ((least, least < low), (most, most > high)) if bad)
    return [
        Anomaly(
            feature.name,
            "out_of_range",
            f"values from {least:g} to {most:g} fall outside [{low:g}, {high:g}] (about {share:.1%} of values)",
            examples=examples,
        )
    ]
