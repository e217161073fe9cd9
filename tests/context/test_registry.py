"""The artifact-type registry: standard types, custom types from config, and every config error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from context.errors import ContextError, InvalidArtifactTypeError, RegistryConfigError
from context.models import StandardArtifactType
from context.registry import SCHEMA_FILE, ReferenceTypeRegistry
from context.settings import REPO_CONFIG

STANDARD = {
    "plan",
    "intro_image",
    "intro_video",
    "button_segmentation",
    "bgm",
    "sfx",
    "audio_manifest",
    "game_config",
    "game_bundle",
    "outcome_win_video",
    "outcome_lose_video",
    "campaign_manifest",
}


def write_config(tmp_path: Path, document: Any) -> Path:
    """A config file in tmp_path with the repo's schema file copied beside it."""
    shutil.copy(REPO_CONFIG.with_name(SCHEMA_FILE), tmp_path / SCHEMA_FILE)
    path = tmp_path / "artifact-types.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


def assert_config_error(path: Path, *problem_words: str) -> RegistryConfigError:
    with pytest.raises(RegistryConfigError) as caught:
        ReferenceTypeRegistry.from_config(path)
    message = str(caught.value)
    assert str(path) in message
    for word in problem_words:
        assert word in message, f"{word!r} not in {message!r}"
    assert isinstance(caught.value, ContextError)
    return caught.value


def test_the_twelve_standard_types_are_registered_without_any_config() -> None:
    registry = ReferenceTypeRegistry()
    assert set(registry.list_types()) == STANDARD == {t.value for t in StandardArtifactType}
    assert all(registry.is_valid_type(t) for t in STANDARD)


def test_the_repo_config_adds_custom_asset_and_the_brand_images_to_the_standard_types(
    registry: ReferenceTypeRegistry,
) -> None:
    loaded = ReferenceTypeRegistry.from_config(REPO_CONFIG)
    assert set(loaded.list_types()) == STANDARD | {"custom_asset", "brand_logo", "brand_product"}
    assert loaded.is_valid_type("custom_asset")
    assert loaded.get_ref_name("brand_logo") == "brandLogoArtifactId"
    assert set(registry.list_types()) == set(loaded.list_types())


@pytest.mark.parametrize(
    ("artifact_type", "ref_name"),
    [
        ("intro_image", "introImageArtifactId"),
        ("custom_asset", "customAssetArtifactId"),
        ("plan", "planArtifactId"),
        ("bgm", "bgmArtifactId"),
        ("outcome_lose_video", "outcomeLoseVideoArtifactId"),
    ],
)
def test_a_type_maps_to_its_camel_case_ref_name(
    registry: ReferenceTypeRegistry, artifact_type: str, ref_name: str
) -> None:
    assert registry.get_ref_name(artifact_type) == ref_name


@pytest.mark.parametrize("artifact_type", ["video", "introImage", "", "Plan", "custom_assets"])
def test_an_unregistered_type_is_invalid_and_has_no_ref_name(
    registry: ReferenceTypeRegistry, artifact_type: str
) -> None:
    assert not registry.is_valid_type(artifact_type)
    with pytest.raises(InvalidArtifactTypeError, match=repr(artifact_type)):
        registry.get_ref_name(artifact_type)


def test_a_config_with_no_custom_types_gives_the_standard_ones(tmp_path: Path) -> None:
    registry = ReferenceTypeRegistry.from_config(write_config(tmp_path, {"customTypes": []}))
    assert set(registry.list_types()) == STANDARD


def test_custom_types_without_a_description_are_accepted(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"customTypes": [{"name": "logo_2d"}, {"name": "voice_over"}]})
    registry = ReferenceTypeRegistry.from_config(path)
    assert registry.get_ref_name("logo_2d") == "logo2dArtifactId"
    assert registry.get_ref_name("voice_over") == "voiceOverArtifactId"


def test_a_schema_path_can_be_given_explicitly(tmp_path: Path) -> None:
    path = tmp_path / "types.json"
    path.write_text(json.dumps({"customTypes": [{"name": "sticker"}]}), encoding="utf-8")
    registry = ReferenceTypeRegistry.from_config(path, schema_path=REPO_CONFIG.with_name(SCHEMA_FILE))
    assert registry.is_valid_type("sticker")


def test_a_missing_config_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    assert_config_error(tmp_path / "absent.json", "not found")


def test_a_missing_schema_file_is_a_config_error_naming_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "types.json"
    path.write_text(json.dumps({"customTypes": []}), encoding="utf-8")
    with pytest.raises(RegistryConfigError, match="not found") as caught:
        ReferenceTypeRegistry.from_config(path)
    assert str(tmp_path / SCHEMA_FILE) in str(caught.value)


@pytest.mark.parametrize("text", ["{customTypes: []}", "", '{"customTypes": [}', "\udcff"], ids=str)
def test_a_config_that_is_not_json_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "artifact-types.json"
    write_config(tmp_path, "{}")
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    error = assert_config_error(path)
    assert "JSON" in error.problem or "read" in error.problem


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({}, "customTypes"),
        ({"customTypes": [], "extra": 1}, "extra"),
        ([], "(root)"),
        ({"customTypes": {"name": "x"}}, "customTypes"),
        ({"customTypes": [{"description": "no name"}]}, "name"),
        ({"customTypes": [{"name": "x", "colour": "red"}]}, "colour"),
        ({"customTypes": [{"name": 7}]}, "customTypes/0/name"),
    ],
    ids=["missing-customTypes", "extra-key", "not-an-object", "not-a-list", "no-name", "extra-entry-key", "name-int"],
)
def test_a_schema_violation_is_a_config_error_saying_where(tmp_path: Path, document: Any, where: str) -> None:
    assert_config_error(write_config(tmp_path, document), "schema violation", where)


@pytest.mark.parametrize("name", ["bgm", "plan", "campaign_manifest"])
def test_a_custom_type_named_like_a_standard_type_is_a_config_error(tmp_path: Path, name: str) -> None:
    assert_config_error(write_config(tmp_path, {"customTypes": [{"name": name}]}), repr(name), "standard")


@pytest.mark.parametrize("name", ["CustomAsset", "custom-asset", "custom asset", "_custom", "custom__asset", "1st"])
def test_a_custom_type_not_in_snake_case_is_a_config_error(tmp_path: Path, name: str) -> None:
    assert_config_error(write_config(tmp_path, {"customTypes": [{"name": name}]}), name)


def test_a_custom_type_listed_twice_is_a_config_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"customTypes": [{"name": "logo"}, {"name": "sticker"}, {"name": "logo"}]})
    assert_config_error(path, "twice", "logo")


def test_two_custom_types_with_the_same_ref_name_are_a_config_error(tmp_path: Path) -> None:
    # Both become "a1bArtifactId": attaching one would silently supersede the other.
    path = write_config(tmp_path, {"customTypes": [{"name": "a_1b"}, {"name": "a1b"}]})
    assert_config_error(path, "a1bArtifactId")


def test_the_constructor_refuses_a_clash_or_a_bad_name_with_a_value_error() -> None:
    with pytest.raises(ValueError, match="'sfx'"):
        ReferenceTypeRegistry(["sfx"])
    with pytest.raises(ValueError, match="'Logo'"):
        ReferenceTypeRegistry(["Logo"])
