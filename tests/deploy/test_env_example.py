""".env.example lists every variable the stack reads, each with its real default and a meaning.

Sources of truth: the fields of every pydantic-settings class in ``photodup`` (found by
``deploy.settings_fields``) and every ``${VAR}`` the Compose files interpolate.
"""

from __future__ import annotations

import re

import pytest

from deploy.settings_fields import settings_fields
from deploy.stack import REPO

ENTRY = re.compile(r"^#?\s?([A-Z][A-Z0-9_]*)=(.*)$")
COMPOSE_VAR = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::?-([^}]*))?\}")


def example_entries() -> dict[str, tuple[str, int]]:
    """Variable -> (value, line index)."""
    entries: dict[str, tuple[str, int]] = {}
    for i, line in enumerate((REPO / ".env.example").read_text().splitlines()):
        match = ENTRY.match(line)
        if match:
            assert match.group(1) not in entries, f"{match.group(1)} is listed twice"
            entries[match.group(1)] = (match.group(2), i)
    return entries


def compose_defaults() -> dict[str, set[str]]:
    """Variable -> the defaults the Compose files give it (empty set: no default)."""
    found: dict[str, set[str]] = {}
    for name in ("docker-compose.yml", "docker-compose.gpu.yml"):
        for var, default in COMPOSE_VAR.findall((REPO / name).read_text()):
            found.setdefault(var, set())
            if default:
                found[var].add(default)
    return found


def test_every_settings_field_is_listed() -> None:
    missing = sorted(set(settings_fields()) - set(example_entries()))
    assert not missing, f".env.example lacks settings fields: {missing}"


def test_every_compose_variable_is_listed() -> None:
    missing = sorted(set(compose_defaults()) - set(example_entries()))
    assert not missing, f".env.example lacks Compose variables: {missing}"


def test_nothing_stale_is_listed() -> None:
    read = set(settings_fields()) | set(compose_defaults())
    stale = sorted(set(example_entries()) - read)
    assert not stale, f".env.example lists variables nothing reads: {stale}"


def test_every_entry_has_a_meaning_above() -> None:
    lines = (REPO / ".env.example").read_text().splitlines()
    for var, (_, i) in example_entries().items():
        j = i - 1
        while j >= 0 and ENTRY.match(lines[j]):
            j -= 1  # consecutive entries may share one explanation (HOST_UID / HOST_GID)
        meaning = lines[j].lstrip("# ").strip() if j >= 0 else ""
        assert lines[j].startswith("#") and meaning and not meaning.startswith("==="), var


def test_compose_defaults_match() -> None:
    entries = example_entries()
    for var, defaults in compose_defaults().items():
        assert len(defaults) <= 1, f"{var} has different defaults in the Compose files: {defaults}"
        if defaults and var not in settings_fields():
            assert entries[var][0] == next(iter(defaults)), var


def test_settings_defaults_match(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each listed value, read by its settings class, gives the field's default."""
    fields = settings_fields()
    for var in fields:
        monkeypatch.delenv(var, raising=False)
    for var, (value, _) in example_entries().items():
        for field in fields.get(var, []):
            info = field.info
            if info.default_factory is not None or info.default is None:
                assert value == "", f"{var}: no fixed default, so list it empty"
                continue
            expected = getattr(field.cls(), field.name)
            with monkeypatch.context() as patch:
                patch.setenv(var, value)
                assert getattr(field.cls(), field.name) == expected, (var, value, expected)
