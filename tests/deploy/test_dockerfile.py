"""The images: hadolint-clean, pinned, one shared base, cached layers, non-root, healthchecked.

Layout (the design card's): services/base/ holds the one dependency layer; each deployable's
folder (services/pytorch/, services/ui/, exporter/, bench/) holds a Dockerfile that only
builds FROM it and adds its command, port and HEALTHCHECK.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path, PurePath

import pytest

from deploy.dockerfiles import ALL, BASE, DEPLOYABLES, STANDIN, TRITON, arg_default, stages
from deploy.stack import BASE_FILES, GPU_FILES, REPO, ComposeConfig, tool


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(REPO)))
def test_hadolint_is_clean(path: Path) -> None:
    done = subprocess.run(
        [str(tool("hadolint")), "--no-color", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(REPO)))
def test_every_ignored_rule_is_justified(path: Path) -> None:
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if "hadolint ignore=" in line:
            above = lines[i - 1].strip()
            assert above.startswith("#") and "hadolint" not in above, (
                f"{path}:{i + 1}: explain why {line.strip()} in a comment right above it"
            )


def test_base_images_are_pinned() -> None:
    for path in (BASE, STANDIN):
        default = arg_default(path, "PYTHON_IMAGE")
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", default)
    assert arg_default(STANDIN, "PYTHON_IMAGE") == arg_default(BASE, "PYTHON_IMAGE")
    assert re.fullmatch(
        r"nvcr\.io/nvidia/tritonserver:\d\d\.\d\d-py3", arg_default(TRITON, "TRITON_IMAGE")
    )
    for image in (stage[0][1].split()[0] for stage in stages(BASE).values()):
        assert image in {"${PYTHON_IMAGE}", "builder"}, image


@pytest.mark.parametrize("service", DEPLOYABLES)
def test_each_deployable_builds_only_from_the_base(service: str) -> None:
    """One FROM, the base image; nothing installed, no USER of its own (the base's applies)."""
    path = DEPLOYABLES[service] / "Dockerfile"
    (stage,) = stages(path).values()
    assert stage[0] == ("FROM", "${BASE_IMAGE}"), service
    assert arg_default(path, "BASE_IMAGE") == "photodup-base:dev-cpu"
    for keyword, rest in stage:
        assert keyword not in {"RUN", "COPY", "ADD", "USER"}, (service, keyword, rest)
    assert any(keyword == "CMD" for keyword, _ in stage), service


def test_compose_builds_the_layout(compose_config: ComposeConfig) -> None:
    services = compose_config(BASE_FILES, "bench", "pytorch", "build")["services"]
    base = services["base"]
    assert Path(base["build"]["context"]) == REPO
    assert base["build"]["dockerfile"] == "services/base/Dockerfile"
    assert base["build"]["args"]["PYTHON_IMAGE"] == arg_default(BASE, "PYTHON_IMAGE")
    assert base["build"]["args"]["TORCH_VARIANT"] == "cpu"
    assert base["image"] == "photodup-base:dev-cpu"
    assert base["profiles"] == ["build"]
    for name, folder in DEPLOYABLES.items():
        build = services[name]["build"]
        assert Path(build["context"]) == folder, name
        assert build["dockerfile"] == "Dockerfile", name
        assert build["args"] == {"BASE_IMAGE": base["image"]}, name


def test_gpu_builds_every_deployable_on_the_cuda_base(compose_config: ComposeConfig) -> None:
    services = compose_config(GPU_FILES, "bench", "pytorch", "build")["services"]
    assert services["base"]["build"]["args"]["TORCH_VARIANT"] == "cuda"
    assert services["base"]["image"] == "photodup-base:dev-cuda"
    for name in (*DEPLOYABLES, "triton-image"):
        assert services[name]["build"]["args"]["BASE_IMAGE"] == "photodup-base:dev-cuda", name


def test_dependencies_are_installed_before_the_code_is_copied() -> None:
    builder = stages(BASE)["builder"]
    copy_src = next(i for i, (k, rest) in enumerate(builder) if k == "COPY" and "src" in rest)
    deps = next(
        i for i, (k, rest) in enumerate(builder) if k == "RUN" and "-c requirements.lock" in rest
    )
    lock_copy = next(
        i for i, (k, rest) in enumerate(builder) if k == "COPY" and "requirements.lock" in rest
    )
    assert lock_copy < deps < copy_src


def test_runtime_is_slim_and_non_root() -> None:
    runtime = stages(BASE)["runtime"]
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in runtime
    # No compilers or pip caches come along: the runtime stage installs nothing itself.
    assert not any(k == "RUN" and "pip install" in rest for k, rest in runtime)
    (user,) = [rest for k, rest in runtime if k == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    # The base is the last stage, so `FROM ${BASE_IMAGE}` gets the runtime, not the builder.
    assert list(stages(BASE))[-1] == "runtime"
    (standin_user,) = [rest for k, rest in instructions_of(STANDIN) if k == "USER"]
    assert standin_user.split(":")[0] == uid


def instructions_of(path: Path) -> list[tuple[str, str]]:
    return [pair for stage in stages(path).values() for pair in stage]


def test_long_running_images_have_healthchecks_like_compose(
    compose_config: ComposeConfig,
) -> None:
    services = compose_config(BASE_FILES, "pytorch", "triton")["services"]
    for service in ("inference-pytorch", "ui"):
        path = DEPLOYABLES[service] / "Dockerfile"
        (check,) = [rest for k, rest in instructions_of(path) if k == "HEALTHCHECK"]
        url = re.search(r"urlopen\('([^']+)'", check)
        assert url is not None, check
        assert url.group(1) in services[service]["healthcheck"]["test"][-1], service
    for service in ("exporter", "bench"):
        assert ("HEALTHCHECK", "NONE") in instructions_of(DEPLOYABLES[service] / "Dockerfile")
    # The baked Triton image checks the same model-ready endpoint as the Compose service.
    (check,) = [rest for k, rest in instructions_of(TRITON) if k == "HEALTHCHECK"]
    url = re.search(r"urlopen\('([^']+)'", check)
    assert url is not None and url.group(1) in services["triton"]["healthcheck"]["test"][-1]


def test_baked_triton_image_exports_in_a_stage_and_copies_only_the_repository() -> None:
    found = stages(TRITON)
    assert list(found) == ["export", "${TRITON_IMAGE}"]
    assert found["export"][0] == ("FROM", "${BASE_IMAGE} AS export")
    served = found["${TRITON_IMAGE}"]
    assert ("COPY", "--from=export /tmp/models /models") in served
    assert not any(k == "RUN" for k, _ in served)
    (expose,) = [rest for k, rest in served if k == "EXPOSE"]
    assert expose.split() == ["8000", "8001", "8002"]
    run = " ".join(rest for k, rest in found["export"] if k == "RUN")
    for arg in ("FP16", "TENSORRT", "INSTANCE_KIND", "TRITON_BACKEND", "PRETRAINED"):
        assert f"${{{arg}}}" in run, arg


def test_every_dependency_is_pinned_in_the_lock() -> None:
    """The image installs pyproject's dependencies with -c requirements.lock: each needs a pin."""
    lock = {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, version in re.findall(
            r"^([A-Za-z0-9_.-]+)==(\S+)$", (REPO / "requirements.lock").read_text(), re.MULTILINE
        )
    }
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name = re.split(r"[<>=!~\[;\s]", requirement, maxsplit=1)[0]
        assert re.sub(r"[-_.]+", "-", name).lower() in lock, f"{name} has no pin in the lock"
    # The CPU variant reads exactly these two lines to fetch the CPU wheels.
    assert {"torch", "torchvision"} <= set(lock)


def test_dockerignore_keeps_the_context_small_and_private() -> None:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    ignored = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    for entry in (".git", ".venv", "model_repository/*/", ".env", "**/__pycache__", ".cache"):
        assert entry in ignored, entry
    for needed in ("src", "pyproject.toml", "requirements.lock", "README.md", "services"):
        assert needed not in ignored, needed


def test_package_data_covers_every_non_python_file() -> None:
    """The image installs the package for real (not editable, as .venv does): a template or
    asset that package-data misses would be absent only in the container."""
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["photodup"]
    package = REPO / "src" / "photodup"
    for path in package.rglob("*"):
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in str(path):
            rel = path.relative_to(package)
            assert any(rel.match(p) or PurePath("x", rel).match(p) for p in patterns), rel
