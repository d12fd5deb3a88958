"""UiSettings: the backends offered on the page and the Host allow-list."""

from __future__ import annotations

import pytest

from photodup.ui.app import filesize
from photodup.ui.settings import BackendChoice, UiSettings


def test_backends_default_to_the_configured_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERENCE_BACKEND", "triton")
    monkeypatch.setenv("INFERENCE_SERVICE_URL", "http://127.0.0.1:9003")
    monkeypatch.delenv("PHOTODUP_UI_BACKENDS", raising=False)
    monkeypatch.delenv("INFERENCE_PROTOCOL", raising=False)
    assert UiSettings().backend_choices() == [BackendChoice("triton", "http://127.0.0.1:9003")]


def test_backends_list_parses_names_urls_and_grpc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PHOTODUP_UI_BACKENDS",
        "pytorch=http://127.0.0.1:8002, triton=http://127.0.0.1:8003,triton=grpc://127.0.0.1:8004",
    )
    choices = UiSettings().backend_choices()
    assert choices == [
        BackendChoice("pytorch", "http://127.0.0.1:8002"),
        BackendChoice("triton", "http://127.0.0.1:8003"),
        BackendChoice("triton", "127.0.0.1:8004", "grpc"),
    ]
    assert choices[2].label == "triton at 127.0.0.1:8004 (gRPC)"


@pytest.mark.parametrize("bad", ["onnx=http://x:1", "pytorch", "pytorch="])
def test_a_malformed_backend_entry_is_named(bad: str) -> None:
    with pytest.raises(ValueError, match="PHOTODUP_UI_BACKENDS entry"):
        UiSettings(backends=bad).backend_choices()


def test_host_allowlist_is_loopback_unless_bound_wide() -> None:
    assert "evil.example" not in UiSettings().host_allowlist()
    assert "127.0.0.1" in UiSettings().host_allowlist()
    assert UiSettings(host="0.0.0.0").host_allowlist() == ["*"]
    assert "photos.lan" in UiSettings(allowed_hosts="photos.lan").host_allowlist()


def test_filesize_reads_naturally() -> None:
    assert [filesize(n) for n in (0, 999, 1500, 2_500_000, 7_300_000_000)] == [
        "0 B", "999 B", "1.5 KB", "2.5 MB", "7.3 GB",
    ]  # fmt: skip
