"""Which artifact types a context may hold: the standard ones plus custom types from a JSON config."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema

from context.errors import InvalidArtifactTypeError, RegistryConfigError
from context.models import StandardArtifactType

SCHEMA_FILE = "artifact-types.schema.json"
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def ref_name_for(artifact_type: str) -> str:
    """`intro_image` -> `introImageArtifactId`: the key the TypeScript side reads in `refs`."""
    head, *rest = artifact_type.split("_")
    return head + "".join(part.capitalize() for part in rest) + "ArtifactId"


class ReferenceTypeRegistry:
    """The set of valid artifact types; built once (per worker process) and read-only afterwards."""

    def __init__(self, custom_types: Iterable[str] = ()) -> None:
        standard = [t.value for t in StandardArtifactType]
        self._types: dict[str, str] = {t: ref_name_for(t) for t in standard}
        for name in custom_types:
            if name in self._types:
                raise ValueError(f"custom type {name!r} clashes with a standard type")
            if not _SNAKE.match(name):
                raise ValueError(f"custom type {name!r} is not snake_case")
            ref_name = ref_name_for(name)
            # "a_1b" and "a1b" both become "a1bArtifactId": attaching one would supersede the other.
            clash = next((t for t, r in self._types.items() if r == ref_name), None)
            if clash is not None:
                raise ValueError(f"custom type {name!r} has the same ref name {ref_name!r} as type {clash!r}")
            self._types[name] = ref_name

    @classmethod
    def from_config(cls, path: str | Path, schema_path: str | Path | None = None) -> ReferenceTypeRegistry:
        """Load custom types from `path`, validated against the schema file beside it."""
        path = Path(path)
        schema_path = Path(schema_path) if schema_path else path.with_name(SCHEMA_FILE)
        document = _read_json(path)
        schema = _read_json(schema_path)
        try:
            jsonschema.validate(document, schema)
        except jsonschema.ValidationError as e:
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            raise RegistryConfigError(str(path), f"schema violation at {where}: {e.message}") from e
        names = [entry["name"] for entry in document.get("customTypes", [])]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise RegistryConfigError(str(path), f"custom type listed twice: {', '.join(duplicates)}")
        try:
            return cls(names)
        except ValueError as e:
            raise RegistryConfigError(str(path), str(e)) from e

    def is_valid_type(self, artifact_type: str) -> bool:
        return artifact_type in self._types

    def get_ref_name(self, artifact_type: str) -> str:
        try:
            return self._types[artifact_type]
        except KeyError:
            raise InvalidArtifactTypeError(artifact_type) from None

    def list_types(self) -> list[str]:
        return list(self._types)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise RegistryConfigError(str(path), "file not found") from e
    except (OSError, UnicodeDecodeError) as e:
        raise RegistryConfigError(str(path), f"cannot be read: {e}") from e
    except json.JSONDecodeError as e:
        raise RegistryConfigError(str(path), f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
