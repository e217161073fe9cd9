"""Hypothesis strategies: arbitrary JSON, valid campaign contexts, and valid context documents mutated."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from hypothesis import strategies as st
from pydantic import BaseModel

from context.models import (
    MAX_WORKFLOW_NAME,
    ArtifactData,
    CampaignContext,
    ComputedData,
    QualityCheckResult,
    QualityStatus,
    StandardArtifactType,
    TriggerInfo,
    TriggerType,
)
from context.registry import ref_name_for

M = TypeVar("M", bound=BaseModel)

# No NaN or infinity: JSON has no spelling for them, so they cannot survive a round trip.
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)


def _model(cls: type[M], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[M]:
    # Not st.builds: it reads the camelCase parameters of pydantic's __init__ and invents values for them.
    return st.fixed_dictionaries(fields).map(lambda values: cls(**values))


uuid_texts = st.uuids().map(str)
hashes = st.text(alphabet="0123456789abcdefABCDEF", min_size=64, max_size=64)
_offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """ISO 8601 with an offset: toISOString()'s `Z` form or an explicit `+hh:mm`."""
    naive = draw(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)))
    spec = draw(st.sampled_from(["seconds", "milliseconds", "microseconds"]))
    text = naive.replace(tzinfo=draw(_offsets)).isoformat(timespec=spec)
    return text.replace("+00:00", "Z") if draw(st.booleans()) else text


trigger_infos = _model(
    TriggerInfo,
    type=st.sampled_from(TriggerType),
    payload=st.none() | json_objects,
    timestamp=timestamps(),
    initiated_by=st.none() | st.text(max_size=20),
)
artifact_datas = _model(
    ArtifactData,
    type=st.sampled_from([t.value for t in StandardArtifactType]) | st.text(min_size=1, max_size=20),
    uri=st.text(min_size=1, max_size=60),
    hash=hashes,
    metadata=st.none() | json_objects,
    created_at=timestamps(),
    step_id=st.text(min_size=1, max_size=20),
)
quality_checks = _model(
    QualityCheckResult,
    artifact_id=uuid_texts,
    check_type=st.text(min_size=1, max_size=20),
    status=st.sampled_from(QualityStatus),
    message=st.none() | st.text(max_size=40),
    timestamp=timestamps(),
    details=st.none() | json_objects,
)
computed_datas = _model(
    ComputedData,
    input_hashes_by_step=st.dictionaries(st.text(max_size=12), hashes, max_size=4),
    quality_checks=st.lists(quality_checks, max_size=3),
)
ref_names = st.sampled_from([ref_name_for(t.value) for t in StandardArtifactType]) | st.text(max_size=20).map(
    lambda s: f"{s}ArtifactId"
)


@st.composite
def campaign_contexts(draw: st.DrawFn) -> CampaignContext:
    """A valid context; some refs point at artifacts in the map, some dangle, as loaded data may."""
    artifacts = draw(st.dictionaries(uuid_texts, artifact_datas, max_size=5))
    targets = st.sampled_from(sorted(artifacts)) | uuid_texts if artifacts else uuid_texts
    return CampaignContext(
        campaign_id=draw(uuid_texts),
        run_id=draw(uuid_texts),
        workflow_name=draw(st.text(min_size=1, max_size=MAX_WORKFLOW_NAME)),
        trigger=draw(trigger_infos),
        refs=draw(st.dictionaries(ref_names, targets, max_size=6)),
        artifacts=artifacts,
        computed=draw(st.none() | computed_datas),
    )


FREE_FORM = frozenset({"payload", "metadata", "details"})


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key/index path inside a JSON document but not inside its free-form objects, where any edit is valid."""
    found: list[tuple[Any, ...]] = []
    items = (
        document.items() if isinstance(document, dict) else enumerate(document) if isinstance(document, list) else ()
    )
    for key, value in items:
        found.append((*prefix, key))
        if key not in FREE_FORM:
            found.extend(_paths(value, (*prefix, key)))
    return found


def _value_at(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def _perturbed(rnd: random.Random, value: Any) -> Any:
    """A near miss of a string: cut short, grown or changed by a character, upper-cased, or emptied."""
    at = rnd.randint(0, len(value))
    char = rnd.choice(["0", "g", "-", "Z", ":", " ", "\n", "\u0663", "\U0001f600"])
    edits = [value[:at], value[:at] + char + value[at:], value[:at] + char + value[at + 1 :], value.upper(), ""]
    return rnd.choice(edits)


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """A valid context's JSON with a few edits: a value replaced, a string nearly missed, a key dropped or added."""
    document: Any = draw(campaign_contexts()).model_dump(mode="json", by_alias=True, exclude_none=True)
    # A seeded Random (reproducible, not shrunk): sampled_from and integers lean toward early items, so late
    # fields such as timestamps would rarely be edited.
    rnd = draw(st.randoms(use_true_random=True))
    for _ in range(rnd.randint(1, 3)):
        paths = _paths(document)
        if not paths:
            return draw(json_values)
        path = rnd.choice(paths)
        parent = _value_at(document, path[:-1])
        value = parent[path[-1]]
        edit = rnd.choice(["replace", "perturb", "drop", "add"])
        if edit == "perturb" and isinstance(value, str):
            parent[path[-1]] = _perturbed(rnd, value)
        elif edit in ("replace", "perturb"):
            parent[path[-1]] = draw(json_values)
        elif edit == "drop":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(json_values)
        else:
            parent.append(draw(json_values))
    return document
