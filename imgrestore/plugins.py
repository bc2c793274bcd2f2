"""The plugin manager: built-in and third-party plugins load through one path.

Built-in tasks are entry points of the `imgrestore` group in our own pyproject.toml, exactly like
a third-party plugin's, so there is no second way in. Loading happens once, on first use.
A plugin that fails to import is recorded with its error and the rest still load.
`IMGRESTORE_DISABLE_PLUGINS=a,b` blocks plugins by entry-point name before they are imported.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field, replace
from importlib import metadata

import pluggy

from imgrestore import hookspecs
from imgrestore.task import TaskSpec

ENTRY_POINT_GROUP = "imgrestore"
DISABLE_VARIABLE = "IMGRESTORE_DISABLE_PLUGINS"


class DuplicateTaskError(RuntimeError):
    """Two plugins registered the same task name."""


@dataclass
class PluginInfo:
    name: str
    module: str
    version: str
    tasks: list[str] = field(default_factory=list)
    error: str | None = None
    detail: str | None = None
    blocked: bool = False


@dataclass
class Registry:
    manager: pluggy.PluginManager
    plugins: dict[str, PluginInfo]
    tasks: dict[str, TaskSpec]
    unknown_disabled: list[str] = field(default_factory=list)
    """Names in IMGRESTORE_DISABLE_PLUGINS that no installed plugin has (a typo disables nothing)."""

    def task(self, name: str) -> TaskSpec:
        try:
            return self.tasks[name]
        except KeyError:
            known = ", ".join(sorted(self.tasks)) or "none"
            raise KeyError(f"no task named {name!r} (known tasks: {known})") from None

    @property
    def failures(self) -> list[PluginInfo]:
        return [info for info in self.plugins.values() if info.error]


def _disabled() -> set[str]:
    return {name.strip() for name in os.environ.get(DISABLE_VARIABLE, "").split(",") if name.strip()}


def _entry_points() -> list[metadata.EntryPoint]:
    return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def _version(entry_point: metadata.EntryPoint) -> str:
    distribution = getattr(entry_point, "dist", None)
    return distribution.version if distribution is not None else "unknown"


def build_registry(entry_points: list[metadata.EntryPoint] | None = None) -> Registry:
    """Load every plugin and collect its tasks. Raises DuplicateTaskError naming both plugins."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    blocked = _disabled()
    plugins: dict[str, PluginInfo] = {}
    tasks: dict[str, TaskSpec] = {}
    for entry_point in entry_points if entry_points is not None else _entry_points():
        info = PluginInfo(name=entry_point.name, module=entry_point.value, version=_version(entry_point))
        plugins[entry_point.name] = info
        if entry_point.name in blocked:
            info.blocked = True
            manager.set_blocked(entry_point.name)
            continue
        try:
            module = entry_point.load()
            manager.register(module, name=entry_point.name)
        except Exception as error:  # a broken plugin must not take the others down
            info.error = f"{type(error).__name__}: {error}"
            info.detail = traceback.format_exc()
            continue

        def register(spec: TaskSpec, _plugin: str = entry_point.name) -> None:
            if spec.name in tasks:
                raise DuplicateTaskError(
                    f"task {spec.name!r} is registered by both plugin {tasks[spec.name].plugin!r} "
                    f"and plugin {_plugin!r}; disable one with {DISABLE_VARIABLE}"
                )
            tasks[spec.name] = replace(spec, plugin=_plugin)
            plugins[_plugin].tasks.append(spec.name)

        hook = manager.subset_hook_caller("imgrestore_register_tasks", remove_plugins=[
            other for other in manager.get_plugins() if other is not module
        ])
        try:
            hook(register=register)
        except DuplicateTaskError:
            raise
        except Exception as error:
            info.error = f"{type(error).__name__} while registering tasks: {error}"
    return Registry(manager=manager, plugins=plugins, tasks=tasks, unknown_disabled=sorted(blocked - set(plugins)))


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _registry
    if _registry is None:
        _registry = build_registry()
    return _registry


def reset_registry() -> None:
    """Forget the loaded plugins (tests, and programs that change the environment)."""
    global _registry
    _registry = None
