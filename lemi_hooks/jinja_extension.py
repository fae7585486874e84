"""Exposes lemi_hooks to the template's Jinja: platform settings, conventions, rules, escaping.

copier.yml loads this file by path (copier-template-extensions), so each template
checkout Copier renders, possibly an old and a new one in one ``copier update``,
uses its own lemi_hooks, loaded here under a name unique to that checkout.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from jinja2 import Environment
from jinja2.ext import Extension

_PACKAGE_DIR = Path(__file__).resolve().parent


def _load_package() -> str:
    """Import this checkout's lemi_hooks under a unique name; return that name."""
    name = "_lemi_hooks_" + hashlib.sha1(str(_PACKAGE_DIR).encode()).hexdigest()[:12]
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, _PACKAGE_DIR / "__init__.py", submodule_search_locations=[str(_PACKAGE_DIR)]
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return name


def _submodule(name: str) -> ModuleType:
    return importlib.import_module(f"{_load_package()}.{name}")


def yaml_string(value: Any) -> str:
    """A double-quoted scalar that is valid YAML (and JSON) whatever the value holds."""
    return json.dumps(str(value), ensure_ascii=True)


class _Lemi:
    """What templates see as ``lemi``."""

    def __init__(self) -> None:
        self.naming = _submodule("naming")
        self.validation = _submodule("validation")
        self.platform = _submodule("platform").settings()
        self.lifecycle = _submodule("lifecycle")

    def check(self, question: str, value: Any, **answers: Any) -> str:
        # Copier already prefixes "Validation error for question '<name>': ".
        return self.validation.check(question, value, answers).removeprefix(f"{question}: ")

    def conventions(
        self,
        service_name: str,
        environments: list[str],
        external: bool = False,
        domain: str = "",
        service_dependencies: list[str] = (),
        datastore_dependencies: list[str] = (),
        repository: str = "",
    ) -> dict:
        return self.naming.service_conventions(
            service_name, environments, external=external, domain=domain or "",
            service_dependencies=service_dependencies, datastore_dependencies=datastore_dependencies,
            repository=repository,
        )

    def in_project(self, destination: Any) -> bool:
        """False in Copier's scratch renders of an update (see lemi_hooks.lifecycle)."""
        return not self.lifecycle.is_scratch_render(str(destination))

    def update_report(self, destination: Any) -> str:
        """After `copier update`: the files it left with conflicts (Copier itself exits 0)."""
        conflicts = _submodule("update").conflicted_files(Path(str(destination)))
        if not conflicts:
            return "lemi: updated with no conflicts; review with 'git diff' and commit."
        listed = "".join(f"\n  {name}" for name in conflicts)
        return f"lemi: CONFLICTS: the update left these to resolve (search for <<<<<<<), then commit:{listed}"

    def cpu_units(self, value: Any) -> int | None:
        return self.naming.cpu_units(value)

    def memory_mib(self, value: Any) -> int | None:
        return self.naming.memory_mib(value)

    def java_package(self, service_name: str) -> str:
        return self.naming.java_package(service_name)

    def java_class_prefix(self, service_name: str) -> str:
        return self.naming.java_class_prefix(service_name)

    def env_variable_name(self, name: str) -> str:
        return self.naming.env_variable_name(name)


def _memoize_from_string(environment: Environment) -> None:
    """Compile each distinct template string once.

    Copier renders every path part, every answers-file check and every file through
    ``Environment.from_string``, which compiles anew on each call: for lemi's template
    that is hundreds of compiles of the same few strings ("src", "{{ service_path }}"...).
    A compiled template is immutable and renders any context, so one per source suffices.
    """
    compile_string = environment.from_string
    compiled: dict[str, Any] = {}

    def from_string(source: Any, globals: Any = None, template_class: Any = None) -> Any:  # noqa: A002
        if globals is not None or template_class is not None or not isinstance(source, str):
            return compile_string(source, globals, template_class)
        if source not in compiled:
            compiled[source] = compile_string(source)
        return compiled[source]

    environment.from_string = from_string  # type: ignore[method-assign]


class LemiExtension(Extension):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        _memoize_from_string(environment)
        environment.globals["lemi"] = _Lemi()
        environment.filters["yaml_string"] = yaml_string
        environment.filters["hcl_string"] = _submodule("terraform").hcl_string
