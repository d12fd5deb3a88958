"""Every pydantic-settings class in ``photodup`` and the environment variable of each field.

Classes are found by reading the source (any class deriving from ``BaseSettings`` or from
another settings class), so a settings class added later is covered without editing a list.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

import photodup

PACKAGE_DIR = Path(photodup.__file__).resolve().parent


@dataclass(frozen=True)
class SettingsField:
    env: str
    cls: type[BaseSettings]
    name: str
    info: FieldInfo

    @property
    def where(self) -> str:
        return f"{self.cls.__module__}.{self.cls.__qualname__}.{self.name}"


def _settings_modules() -> list[str]:
    modules = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        text = path.read_text()
        if "pydantic_settings" not in text:
            continue
        rel = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
        modules.append(".".join(part for part in rel.parts if part != "__init__"))
    return modules


def _class_names(module: str) -> list[str]:
    tree = ast.parse(Path(importlib.import_module(module).__file__ or "").read_text())
    return [node.name for node in tree.body if isinstance(node, ast.ClassDef)]


@cache
def settings_classes() -> tuple[type[BaseSettings], ...]:
    found: list[type[BaseSettings]] = []
    for module_name in _settings_modules():
        module = importlib.import_module(module_name)
        for name in _class_names(module_name):
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, BaseSettings) and obj not in found:
                found.append(obj)
    return tuple(found)


def _env_names(cls: type[BaseSettings], name: str, info: FieldInfo) -> list[str]:
    alias: Any = info.validation_alias
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str)]
    if info.alias:
        return [info.alias]
    return [f"{cls.model_config.get('env_prefix', '')}{name}"]


@cache
def settings_fields() -> dict[str, list[SettingsField]]:
    """Upper-cased variable name -> the fields that read it (one name may serve two classes)."""
    fields: dict[str, list[SettingsField]] = {}
    for cls in settings_classes():
        for name, info in cls.model_fields.items():
            for env in _env_names(cls, name, info):
                key = env if cls.model_config.get("case_sensitive") else env.upper()
                fields.setdefault(key, []).append(SettingsField(key, cls, name, info))
    return fields
