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
from typing import Any

import pluggy

from imgrestore import hookspecs
from imgrestore.task import TaskSpec

ENTRY_POINT_GROUP = "imgrestore"
DISABLE_VARIABLE = "IMGRESTORE_DISABLE_PLUGINS"


class PluginConflictError(RuntimeError):
    """Two plugins claim one name: installing both is ambiguous, so nothing runs until one goes."""


class DuplicateTaskError(PluginConflictError):
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

    def register_commands(self, cli: Any) -> None:
        """Let each plugin add its click commands. One that raises is recorded as failed (and
        reported like a plugin that failed to import) instead of taking every command down."""
        for name, module in self.manager.list_name_plugin():
            if module is None:  # blocked
                continue
            hook = self.manager.subset_hook_caller("imgrestore_register_commands", remove_plugins=[
                other for other in self.manager.get_plugins() if other is not module
            ])
            try:
                hook(cli=cli)
            except Exception as error:
                info = self.plugins[name]
                info.error = f"{type(error).__name__} while adding commands: {error}"
                info.detail = traceback.format_exc()

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


def _one_per_name(entry_points: list[metadata.EntryPoint]) -> list[metadata.EntryPoint]:
    """The entry points with one per name. The same plugin seen twice (two sys.path entries of one
    distribution) counts once; two different plugins under one name are a conflict: otherwise
    the second would silently replace the first."""
    by_name: dict[str, metadata.EntryPoint] = {}
    for entry_point in entry_points:
        seen = by_name.setdefault(entry_point.name, entry_point)
        if seen is not entry_point and (seen.value, _distribution(seen)) != (entry_point.value, _distribution(entry_point)):
            raise PluginConflictError(
                f"two plugins are both named {entry_point.name!r}: {entry_point.value} "
                f"({_distribution(entry_point)}) and {seen.value} ({_distribution(seen)}); uninstall one"
            )
    return list(by_name.values())


def _distribution(entry_point: metadata.EntryPoint) -> str:
    distribution = getattr(entry_point, "dist", None)
    return f"distribution {distribution.name}" if distribution is not None else "no distribution"


def _unknown_hooks(manager: pluggy.PluginManager, module: object) -> list[str]:
    """Hook implementations with no specification: a misspelled hook would otherwise be ignored."""
    return sorted(caller.name for caller in manager.get_hookcallers(module) or [] if not caller.has_spec())


def build_registry(entry_points: list[metadata.EntryPoint] | None = None,
                   reserved: frozenset[str] = frozenset()) -> Registry:
    """Load every plugin and collect its tasks. Raises PluginConflictError (DuplicateTaskError for
    a task name) naming both plugins. A plugin that fails to import or to register is recorded
    with its error and contributes nothing; the others still load. `reserved` names (the core
    commands) cannot be task names: such a task could never be run from the command line."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    blocked = _disabled()
    plugins: dict[str, PluginInfo] = {}
    tasks: dict[str, TaskSpec] = {}
    for entry_point in _one_per_name(entry_points if entry_points is not None else _entry_points()):
        info = PluginInfo(name=entry_point.name, module=entry_point.value, version=_version(entry_point))
        plugins[entry_point.name] = info
        if entry_point.name in blocked:
            info.blocked = True
            manager.set_blocked(entry_point.name)
            continue
        try:
            module = entry_point.load()
            manager.register(module, name=entry_point.name)
        except (Exception, SystemExit) as error:  # a broken plugin must not take the others down
            info.error = f"{type(error).__name__}: {error}"
            info.detail = traceback.format_exc()
            continue
        try:
            own = _register_tasks(manager, module, reserved)
        except Exception as error:
            manager.unregister(module)
            info.error = f"{type(error).__name__} while registering tasks: {error}"
            info.detail = traceback.format_exc()
            continue
        for spec in own:
            if spec.name in tasks:
                raise DuplicateTaskError(
                    f"task {spec.name!r} is registered by both plugin {tasks[spec.name].plugin!r} "
                    f"and plugin {entry_point.name!r}; disable one with {DISABLE_VARIABLE}"
                )
            tasks[spec.name] = replace(spec, plugin=entry_point.name)
            info.tasks.append(spec.name)
    return Registry(manager=manager, plugins=plugins, tasks=tasks, unknown_disabled=sorted(blocked - set(plugins)))


def _register_tasks(manager: pluggy.PluginManager, module: object, reserved: frozenset[str]) -> list[TaskSpec]:
    """The tasks one plugin registers, all or none: a failure halfway leaves no half-registered plugin."""
    unknown = _unknown_hooks(manager, module)
    if unknown:
        known = ", ".join(sorted(name for name in dir(hookspecs) if name.startswith(hookspecs.PROJECT + "_")))
        raise ValueError(f"unknown hook {', '.join(unknown)} (the hooks are: {known})")
    own: list[TaskSpec] = []

    def register(spec: TaskSpec) -> None:
        if any(spec.name == earlier.name for earlier in own):
            raise ValueError(f"task {spec.name!r} registered twice")
        if spec.name in reserved:
            raise ValueError(f"task {spec.name!r} has the name of a core command, so it could never run")
        own.append(spec)

    hook = manager.subset_hook_caller("imgrestore_register_tasks", remove_plugins=[
        other for other in manager.get_plugins() if other is not module
    ])
    hook(register=register)
    return own


_registry: Registry | None = None


def get_registry(reserved: frozenset[str] = frozenset()) -> Registry:
    """The process-wide registry, built on first use (`reserved`: see build_registry)."""
    global _registry
    if _registry is None:
        _registry = build_registry(reserved=reserved)
    return _registry


def reset_registry() -> None:
    """Forget the loaded plugins (tests, and programs that change the environment)."""
    global _registry
    _registry = None
