"""docker-compose.gpu.yml only adds the GPU: device reservations, CUDA builds, GPU export."""

from __future__ import annotations

import pytest

from deploy.stack import BASE_FILES, GPU_FILES, PROFILES, ComposeConfig, arg_after

GPU_SERVICES = {"exporter", "inference-pytorch", "triton", "bench"}
ONE_NVIDIA_GPU = [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]


@pytest.mark.parametrize("profile", PROFILES)
def test_model_services_reserve_one_nvidia_gpu(compose_config: ComposeConfig, profile: str) -> None:
    for name, service in compose_config(GPU_FILES, profile)["services"].items():
        if name in GPU_SERVICES:
            assert service["deploy"]["resources"]["reservations"]["devices"] == ONE_NVIDIA_GPU
        else:
            # The ui does no inference of its own.
            assert "deploy" not in service, name


@pytest.mark.parametrize("profile", PROFILES)
def test_base_file_reserves_no_gpu(compose_config: ComposeConfig, profile: str) -> None:
    for name, service in compose_config(BASE_FILES, profile)["services"].items():
        assert "deploy" not in service, name


def test_gpu_override_switches_export_to_a_gpu_instance(compose_config: ComposeConfig) -> None:
    cpu = compose_config(BASE_FILES, "triton")["services"]["exporter"]["command"]
    gpu = compose_config(GPU_FILES, "triton")["services"]["exporter"]["command"]
    assert arg_after(cpu, "--instance-kind") == "cpu"
    assert arg_after(gpu, "--instance-kind") == "gpu"
    # Apart from the instance kind the export is the same command.
    assert [a for a in cpu if a != "cpu"] == [a for a in gpu if a != "gpu"]


def test_cpu_instance_kind_is_a_setting(compose_config: ComposeConfig) -> None:
    command = compose_config(BASE_FILES, "triton", TRITON_INSTANCE_KIND="gpu")["services"][
        "exporter"
    ]["command"]
    assert arg_after(command, "--instance-kind") == "gpu"


@pytest.mark.parametrize("extra", ["--fp16", "--tensorrt", "--fp16 --tensorrt"])
def test_fp16_and_tensorrt_are_options(compose_config: ComposeConfig, extra: str) -> None:
    command = compose_config(GPU_FILES, "triton", EXPORT_EXTRA_ARGS=extra)["services"]["exporter"][
        "command"
    ]
    assert command[-len(extra.split()) :] == extra.split()


def test_every_image_builds_on_the_cuda_base(compose_config: ComposeConfig) -> None:
    """One CUDA base for all (the ui too, without a GPU): the big layer is built once."""
    services = compose_config(GPU_FILES, "bench", "pytorch", "build")["services"]
    assert services["base"]["build"]["args"]["TORCH_VARIANT"] == "cuda"
    for name in ("base", "exporter", "inference-pytorch", "bench", "ui"):
        assert services[name]["image"].endswith("-cuda"), name
    for name in ("exporter", "inference-pytorch", "bench", "ui"):
        assert services[name]["build"]["args"]["BASE_IMAGE"] == services["base"]["image"], name
    assert "deploy" not in services["ui"]


def test_override_changes_nothing_else(compose_config: ComposeConfig) -> None:
    """Strip what the override is meant to add; the rest must equal the base file."""
    base = compose_config(BASE_FILES, "bench", "pytorch", "build")["services"]
    gpu = compose_config(GPU_FILES, "bench", "pytorch", "build")["services"]
    for name, service in gpu.items():
        stripped = {k: v for k, v in service.items() if k not in {"deploy", "image", "command"}}
        reference = {k: v for k, v in base[name].items() if k not in {"image", "command"}}
        if "build" in stripped:
            stripped["build"] = {**stripped["build"], "args": {}}
            reference["build"] = {**reference["build"], "args": {}}
        assert stripped == reference, name
