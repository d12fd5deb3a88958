"""Fixtures of the deploy tests; the helpers themselves live in ``deploy.stack``."""

from __future__ import annotations

import pytest

from deploy.stack import ComposeConfig, resolve


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "engine: needs a real Docker engine (make compose-smoke); minutes long"
    )


@pytest.fixture(scope="session")
def compose_config() -> ComposeConfig:
    """``compose_config(files, *profiles, **env) -> dict``: the resolved project."""
    return resolve
