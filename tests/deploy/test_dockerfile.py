"""The application image: hadolint-clean, pinned, layered for caching, non-root, healthchecked."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import PurePath

from deploy.stack import BASE_FILES, REPO, ComposeConfig, tool

DOCKERFILE = REPO / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n(\s*#.*\n)*", " ", DOCKERFILE.read_text())
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def stages() -> dict[str, list[tuple[str, str]]]:
    """Stage name -> its instructions."""
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            current = []
            found[rest.split(" AS ")[-1].strip()] = current
        current.append((keyword, rest))
    return found


def test_hadolint_is_clean() -> None:
    done = subprocess.run(
        [str(tool("hadolint")), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_ignored_rule_is_justified() -> None:
    lines = DOCKERFILE.read_text().splitlines()
    pragmas = [i for i, line in enumerate(lines) if "hadolint ignore=" in line]
    for i in pragmas:
        above = lines[i - 1].strip()
        assert above.startswith("#") and "hadolint" not in above, (
            f"line {i + 1}: explain why {lines[i].strip()} in a comment right above it"
        )


def test_base_images_are_pinned() -> None:
    text = DOCKERFILE.read_text()
    (default,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", default)
    for keyword, rest in instructions():
        if keyword == "FROM":
            image = rest.split()[0]
            assert image in {"${PYTHON_IMAGE}", "builder", "runtime"}, image


def test_compose_passes_the_same_base(compose_config: ComposeConfig) -> None:
    text = DOCKERFILE.read_text()
    (default,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    for name, service in compose_config(BASE_FILES, "bench", "pytorch")["services"].items():
        if "build" in service:
            assert service["build"]["args"]["PYTHON_IMAGE"] == default, name


def test_dependencies_are_installed_before_the_code_is_copied() -> None:
    builder = stages()["builder"]
    copy_src = next(i for i, (k, rest) in enumerate(builder) if k == "COPY" and "src" in rest)
    deps = next(
        i for i, (k, rest) in enumerate(builder) if k == "RUN" and "-c requirements.lock" in rest
    )
    lock_copy = next(
        i for i, (k, rest) in enumerate(builder) if k == "COPY" and "requirements.lock" in rest
    )
    assert lock_copy < deps < copy_src


def test_runtime_is_slim_and_non_root() -> None:
    all_stages = stages()
    runtime = all_stages["runtime"]
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in runtime
    # No compilers or pip caches come along: the runtime stage installs nothing itself.
    assert not any(k == "RUN" and "pip install" in rest for k, rest in runtime)
    (user,) = [rest for k, rest in runtime if k == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    for target in ("exporter", "ui", "bench", "pytorch"):
        assert all_stages[target][0] == ("FROM", f"runtime AS {target}"), target
        assert not any(k == "USER" for k, _ in all_stages[target]), target


def test_long_running_targets_have_healthchecks_like_compose(
    compose_config: ComposeConfig,
) -> None:
    services = compose_config(BASE_FILES, "pytorch")["services"]
    all_stages = stages()
    for target, service in (("pytorch", "inference-pytorch"), ("ui", "ui")):
        (check,) = [rest for k, rest in all_stages[target] if k == "HEALTHCHECK"]
        url = re.search(r"urlopen\('([^']+)'", check)
        assert url is not None, check
        assert url.group(1) in services[service]["healthcheck"]["test"][-1], target
    for target in ("exporter", "bench"):
        assert ("HEALTHCHECK", "NONE") in all_stages[target], target


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
    for needed in ("src", "pyproject.toml", "requirements.lock", "README.md"):
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
