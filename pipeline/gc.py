"""Which stored objects no run references any more, and removing them: the logic of `campaign gc`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

from pipeline.store import ArtifactStore, ListedObject


@dataclass(frozen=True)
class GcPlan:
    garbage: list[ListedObject]  # unreferenced and older than the cutoff: what --yes deletes
    kept_referenced: int
    kept_young: int

    @property
    def garbage_bytes(self) -> int:
        return sum(o.size for o in self.garbage)


def object_name(uri: str) -> str:
    """`<sha256><suffix>`: content-addressed, so a reference under another root or prefix still counts."""
    return urlparse(uri).path.rsplit("/", 1)[-1]


def plan_gc(
    store: ArtifactStore, referenced: Iterable[str], older_than: timedelta, now: datetime | None = None
) -> GcPlan:
    """Objects no reference names and last written before now - older_than; young objects may belong to
    a run in flight whose step has not recorded its result yet, so they are never garbage."""
    names = {object_name(uri) for uri in referenced}
    cutoff = (now or datetime.now(UTC)) - older_than
    garbage, referenced_count, young = [], 0, 0
    for obj in store.objects():
        if object_name(obj.uri) in names:
            referenced_count += 1
        elif obj.modified >= cutoff:
            young += 1
        else:
            garbage.append(obj)
    return GcPlan(garbage, referenced_count, young)


def collect(store: ArtifactStore, plan: GcPlan, referenced_now: Iterable[str]) -> int:
    """Delete the plan's garbage, except what `referenced_now` (references read after the plan) names."""
    names = {object_name(uri) for uri in referenced_now}
    deleted = 0
    for obj in plan.garbage:
        if object_name(obj.uri) not in names:
            store.delete(obj.uri)
            deleted += 1
    return deleted
