"""Compose runs the same entry points the local tests exercise, with options that exist.

Every ``photodup`` command of every service (and every image's default CMD) is parsed by the
real Typer/click command, so a renamed or removed option fails here, not in a container.
Every environment variable a service sets is a field of a settings class, and the values the
stack sets are valid for that class.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from deploy.cli_args import export_options, parse_photodup
from deploy.dockerfiles import DEPLOYABLES, instructions
from deploy.settings_fields import settings_fields
from deploy.stack import BASE_FILES, GPU_FILES, PROFILES, ComposeConfig, makefile_assignments
from photodup.export import ExportError

VARIANTS = [
    pytest.param(files, profile, id=f"{'gpu' if files == GPU_FILES else 'cpu'}-{profile}")
    for files in (BASE_FILES, GPU_FILES)
    for profile in PROFILES
]


@pytest.mark.parametrize(("files", "profile"), VARIANTS)
def test_every_service_command_parses(
    compose_config: ComposeConfig, files: tuple[str, ...], profile: str
) -> None:
    expected = {
        "exporter": "export",
        "inference-pytorch": "serve",
        "ui": "ui",
        "bench": "bench",
    }
    for name, service in compose_config(files, profile)["services"].items():
        if name == "triton":
            continue  # tritonserver's own flags: test_triton_flags_exist
        sub, params = parse_photodup(service["command"])
        assert sub == expected[name], name
        if sub in {"serve", "ui"}:
            # Reachable from other containers and through the published port.
            assert (params["host"], params["port"]) == ("0.0.0.0", _container_port(service))


def _container_port(service: dict[str, Any]) -> int:
    (port,) = {p["target"] for p in service["ports"]}
    return int(port)


@pytest.mark.parametrize(("files", "gpu"), [(BASE_FILES, False), (GPU_FILES, True)])
def test_exporter_command_is_a_valid_export(
    compose_config: ComposeConfig, files: tuple[str, ...], gpu: bool
) -> None:
    _, params = parse_photodup(compose_config(files, "triton")["services"]["exporter"]["command"])
    options = export_options(params)
    options.validate(cuda_available=gpu)
    assert options.triton_backend == "onnxruntime"
    assert options.instance_kind == ("gpu" if gpu else "cpu")
    assert str(options.output) == "/models"
    assert not options.force  # re-running the stack must not redo a finished export


def test_fp16_export_is_refused_without_a_gpu(compose_config: ComposeConfig) -> None:
    project = compose_config(BASE_FILES, "triton", EXPORT_EXTRA_ARGS="--fp16")
    options = export_options(parse_photodup(project["services"]["exporter"]["command"])[1])
    with pytest.raises(ExportError, match="fp16"):
        options.validate(cuda_available=False)


def test_gpu_export_with_fp16_and_tensorrt_is_valid(compose_config: ComposeConfig) -> None:
    project = compose_config(GPU_FILES, "triton", EXPORT_EXTRA_ARGS="--fp16 --tensorrt")
    options = export_options(parse_photodup(project["services"]["exporter"]["command"])[1])
    options.validate(cuda_available=True)
    assert options.fp16 and options.tensorrt


def test_bench_command_targets_the_compose_backends(compose_config: ComposeConfig) -> None:
    services = compose_config(BASE_FILES, "bench")["services"]
    _, params = parse_photodup(services["bench"]["command"])
    assert params["url_pytorch"] == "http://inference-pytorch:8002"
    assert params["url_triton"] == "http://triton:8000"
    assert params["url_triton_grpc"] == "triton:8001"
    assert str(params["results_dir"]) == "/results"
    assert params["backend"] == "both"


@pytest.mark.parametrize("service", DEPLOYABLES)
def test_dockerfile_default_commands_parse(service: str) -> None:
    path = DEPLOYABLES[service] / "Dockerfile"
    (cmd,) = [rest for keyword, rest in instructions(path) if keyword == "CMD"]
    parse_photodup(json.loads(cmd))


@pytest.mark.parametrize(("files", "profile"), VARIANTS)
def test_service_environment_is_settings_fields(
    compose_config: ComposeConfig, files: tuple[str, ...], profile: str
) -> None:
    known = settings_fields()
    for name, service in compose_config(files, profile)["services"].items():
        for key in service.get("environment") or {}:
            assert key in known, f"{name} sets {key}, which no settings class reads"


@pytest.mark.parametrize(
    ("make_variable", "backend", "url"),
    [
        (None, "pytorch", "http://inference-pytorch:8002"),
        ("TRITON_UI", "triton", "http://triton:8000"),
    ],
)
def test_ui_points_at_the_active_backend(
    compose_config: ComposeConfig,
    monkeypatch: pytest.MonkeyPatch,
    make_variable: str | None,
    backend: str,
    url: str,
) -> None:
    """With the variables the Makefile passes, the ui's settings name the running backend."""
    from photodup.finder.settings import FinderSettings
    from photodup.settings import ClientSettings

    env = makefile_assignments(make_variable) if make_variable else {}
    project = compose_config(BASE_FILES, backend, **env)
    ui = project["services"]["ui"]
    host = url.split("//")[1].split(":")[0]
    assert host in project["services"], f"{host} is not a service of the {backend} profile"
    for key in settings_fields():
        monkeypatch.delenv(key, raising=False)
    for key, value in (ui["environment"] or {}).items():
        if value is not None:
            monkeypatch.setenv(key, value)
    client = ClientSettings()
    assert (client.backend, client.url) == (backend, url)
    assert str(FinderSettings().db_path) == "/data/index.db"
    assert ui["depends_on"][host]["condition"] == "service_healthy"
