"""The stack each profile starts: services, ports, volumes, start order, restarts, images."""

from __future__ import annotations

import re
from typing import Any

import pytest

from deploy.stack import BASE_FILES, GPU_FILES, PROFILES, ComposeConfig

EXPECTED_SERVICES = {
    "pytorch": {"exporter", "inference-pytorch", "ui"},
    "triton": {"exporter", "triton", "ui"},
    # The bench compares both backends, so its profile brings both (and their exporter).
    "bench": {"exporter", "inference-pytorch", "triton", "bench"},
}
LONG_RUNNING = {"inference-pytorch", "triton", "ui"}
ONE_SHOT = {"exporter", "bench"}


def ports(service: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {(p["host_ip"], p["published"], p["target"]) for p in service.get("ports", [])}


def mounts(service: dict[str, Any]) -> dict[str, tuple[str, str, bool]]:
    """target -> (type, source, read_only)."""
    return {
        v["target"]: (v["type"], v["source"], bool(v.get("read_only", False)))
        for v in service.get("volumes", [])
    }


@pytest.mark.parametrize("files", [BASE_FILES, GPU_FILES], ids=["cpu", "gpu"])
@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_resolves_to_its_services(
    compose_config: ComposeConfig, files: tuple[str, ...], profile: str
) -> None:
    project = compose_config(files, profile)
    assert set(project["services"]) == EXPECTED_SERVICES[profile]
    assert project["name"] == "photodup"


def test_published_ports_follow_the_table(compose_config: ComposeConfig) -> None:
    services = compose_config(BASE_FILES, "pytorch", "triton")["services"]
    local = "127.0.0.1"
    assert ports(services["inference-pytorch"]) == {(local, "8002", 8002)}
    # Triton's 8000/8001/8002 inside become 8003/8004/8005 outside, next to the service's 8002.
    assert ports(services["triton"]) == {
        (local, "8003", 8000),
        (local, "8004", 8001),
        (local, "8005", 8002),
    }
    assert ports(services["ui"]) == {(local, "8000", 8000)}
    assert not ports(services["exporter"])


def test_ports_and_address_can_be_changed_for_a_rented_host(
    compose_config: ComposeConfig,
) -> None:
    services = compose_config(
        BASE_FILES, "triton", PUBLISH_ADDRESS="0.0.0.0", TRITON_HTTP_PORT="18003", UI_PORT="18000"
    )["services"]
    assert ("0.0.0.0", "18003", 8000) in ports(services["triton"])
    assert ports(services["ui"]) == {("0.0.0.0", "18000", 8000)}


def test_named_volumes_and_mounts(compose_config: ComposeConfig) -> None:
    project = compose_config(BASE_FILES, "bench", "pytorch")
    services = project["services"]
    assert {"model_repository", "weight_cache", "ui_data"} <= set(project["volumes"])
    assert mounts(services["exporter"]) == {
        "/models": ("volume", "model_repository", False),
        "/cache": ("volume", "weight_cache", False),
    }
    # Triton only reads the repository the exporter wrote.
    assert mounts(services["triton"]) == {"/models": ("volume", "model_repository", True)}
    assert mounts(services["inference-pytorch"]) == {"/cache": ("volume", "weight_cache", False)}
    ui = mounts(services["ui"])
    assert ui["/data"] == ("volume", "ui_data", False)
    assert ui["/photos"][0] == "bind" and ui["/photos"][1].endswith("sample_library")
    assert mounts(services["bench"])["/results"][1].endswith("bench/results")


def test_photos_dir_is_bind_mounted(compose_config: ComposeConfig) -> None:
    services = compose_config(BASE_FILES, "pytorch", PHOTOS_DIR="/srv/photos")["services"]
    assert mounts(services["ui"])["/photos"] == ("bind", "/srv/photos", False)


def test_start_order_uses_conditions(compose_config: ComposeConfig) -> None:
    services = compose_config(BASE_FILES, "bench", "pytorch")["services"]
    completed = {"condition": "service_completed_successfully", "required": True}
    healthy = {"condition": "service_healthy", "required": True}
    assert services["triton"]["depends_on"] == {"exporter": completed}
    assert services["inference-pytorch"]["depends_on"] == {"exporter": completed}
    assert services["bench"]["depends_on"] == {"inference-pytorch": healthy, "triton": healthy}
    # The ui waits for whichever backend its profile runs; the other one is not required.
    optional = {"condition": "service_healthy", "required": False}
    assert services["ui"]["depends_on"] == {"inference-pytorch": optional, "triton": optional}
    assert "depends_on" not in services["exporter"]


def test_restart_policies(compose_config: ComposeConfig) -> None:
    services = compose_config(BASE_FILES, "bench", "pytorch")["services"]
    for name in LONG_RUNNING:
        assert services[name]["restart"] == "unless-stopped", name
    for name in ONE_SHOT:
        assert services[name]["restart"] == "no", name


def test_images_are_pinned_and_named_for_their_deployable(compose_config: ComposeConfig) -> None:
    services = compose_config(BASE_FILES, "bench", "pytorch")["services"]
    triton = services["triton"]["image"]
    assert re.fullmatch(r"nvcr\.io/nvidia/tritonserver:\d\d\.\d\d-py3", triton), triton
    names = {"exporter": "exporter", "inference-pytorch": "pytorch", "ui": "ui", "bench": "bench"}
    for name, image in names.items():
        assert re.fullmatch(rf"photodup-{image}:dev-cpu", services[name]["image"]), name
    # TORCH_VARIANT=cuda (where the CPU wheel index is unreachable) renames them all.
    cuda = compose_config(BASE_FILES, "bench", "pytorch", TORCH_VARIANT="cuda")["services"]
    for name, image in names.items():
        assert cuda[name]["image"] == f"photodup-{image}:dev-cuda", name


def test_no_service_carries_secrets_or_privileges(compose_config: ComposeConfig) -> None:
    services = compose_config(BASE_FILES, "bench", "pytorch")["services"]
    for name, service in services.items():
        assert not service.get("privileged"), name
        assert "secrets" not in service, name
        for key in service.get("environment") or {}:
            assert not re.search(r"TOKEN|SECRET|PASSWORD|API_KEY", key), (name, key)
