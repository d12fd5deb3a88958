"""Shared pytest fixtures live in tests/fixtures/, one module per real component they start.

Here: the run never sees the developer's own settings. Every environment variable that a
photodup settings object reads (``PHOTODUP_*``, ``INFERENCE_*``, the model, service and
Triton names) is removed for the session, so ``PHOTODUP_USE_EMBEDDINGS=on`` in a shell does
not change what the tests see; a test that wants a variable sets it itself (monkeypatch, or
the environment of the process it starts).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

pytest_plugins = [
    "fixtures.photos",
    "fixtures.models",
    "fixtures.service",
    "fixtures.triton",
]

#: Any future variable under these prefixes is covered without editing a list.
SETTINGS_PREFIXES = ("PHOTODUP_", "INFERENCE_")


def settings_variables() -> set[str]:
    """The environment variables read by photodup's settings classes."""
    from pydantic_settings import BaseSettings

    from photodup import settings as inference
    from photodup.finder.settings import FinderSettings
    from photodup.ui.settings import UiSettings
    from photodup.webserver import HttpServerSettings

    classes: list[type[BaseSettings]] = [FinderSettings, UiSettings, HttpServerSettings]
    classes += [c for c in vars(inference).values()
                if isinstance(c, type) and issubclass(c, BaseSettings)]  # fmt: skip
    names = set()
    for cls in classes:
        prefix = cls.model_config.get("env_prefix", "")
        for name, field in cls.model_fields.items():
            alias = field.validation_alias
            names.add(alias if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


def developer_settings() -> dict[str, str]:
    """This process's variables that would change a settings object's defaults."""
    read = settings_variables()
    return {k: v for k, v in os.environ.items() if k in read or k.startswith(SETTINGS_PREFIXES)}


@pytest.fixture(scope="session", autouse=True)
def _without_developer_settings() -> Iterator[None]:
    # Session scope and autouse: it runs before every other session fixture (the service,
    # the scanned library), so none of them is built from the developer's environment.
    saved = developer_settings()
    for name in saved:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(saved)
