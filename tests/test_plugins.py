"""The plugin contract: built-ins and third-party plugins load through the same entry points."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

import imgrestore.plugins as plugins
from imgrestore.cli import cli
from imgrestore.images import Picture, read_image, write_image
from imgrestore.plugins import DuplicateTaskError, build_registry

from conftest import REPO

FAKES = Path(__file__).parent / "fake_plugins"
EXAMPLE = REPO / "examples" / "imgrestore-sharpen"


def _entry_point(name: str, value: str) -> metadata.EntryPoint:
    return metadata.EntryPoint(name=name, value=value, group=plugins.ENTRY_POINT_GROUP)


def _example_entry_points() -> list[metadata.EntryPoint]:
    """The entry points exactly as the example's pyproject.toml declares them."""
    declared = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]["entry-points"]["imgrestore"]
    return [_entry_point(name, value) for name, value in declared.items()]


@pytest.fixture
def with_plugins(monkeypatch: pytest.MonkeyPatch):
    """Installs extra entry points next to the real ones (as `pip install` of a plugin would)."""
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.syspath_prepend(str(EXAMPLE))
    real = plugins._entry_points()

    def install(*extra: metadata.EntryPoint) -> None:
        monkeypatch.setattr(plugins, "_entry_points", lambda: real + list(extra))
        plugins.reset_registry()

    return install


def test_builtin_denoise_comes_through_the_entry_point_group() -> None:
    names = {ep.name: ep.value for ep in metadata.entry_points(group="imgrestore")}
    assert names.get("denoise") == "imgrestore_denoise"
    registry = build_registry()
    assert registry.task("denoise").plugin == "denoise"


def test_third_party_example_plugin_runs_end_to_end(with_plugins, cli_runner, tmp_path, monkeypatch, astronaut) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with_plugins(*_example_entry_points())
    import imgrestore_sharpen.inference

    monkeypatch.setattr(imgrestore_sharpen.inference, "MODEL", tmp_path / "home" / "sharpen.onnx")
    result = cli_runner.invoke(cli, ["tasks"])
    assert "sharpen" in result.output and "denoise" in result.output
    write_image(tmp_path / "in.png", Picture(color=astronaut[:64, :96]))
    result = cli_runner.invoke(cli, ["sharpen", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--amount", "2"])
    assert result.exit_code == 0, result.output
    out = read_image(tmp_path / "out.png").color.astype(float)
    # sharpening raises local contrast: the Laplacian energy grows
    lap = lambda a: np.abs(np.diff(a, 2, axis=0)).mean()
    assert lap(out) > 1.3 * lap(astronaut[:64, :96].astype(float))
    result = cli_runner.invoke(cli, ["plugins"])
    assert "sharpen" in result.output


def test_readme_shows_the_example_plugin_verbatim() -> None:
    readme = (REPO / "README.md").read_text()
    for path in [EXAMPLE / "pyproject.toml", *sorted((EXAMPLE / "imgrestore_sharpen").glob("*.py"))]:
        assert path.read_text().strip() in readme, f"README's plugin example differs from {path}"


def test_broken_plugin_is_reported_and_others_still_work(with_plugins, cli_runner) -> None:
    with_plugins(_entry_point("broken", "broken_plugin"))
    registry = plugins.get_registry()
    assert "denoise" in registry.tasks
    assert registry.plugins["broken"].error.startswith("ImportError")
    result = cli_runner.invoke(cli, ["plugins"])
    assert "broken" in result.output and "FAILED" in result.output
    result = cli_runner.invoke(cli, ["tasks"])
    assert result.exit_code == 0 and "denoise" in result.output


def test_two_plugins_claiming_one_task_is_an_error_naming_both(with_plugins, cli_runner) -> None:
    with_plugins(_entry_point("clashing", "clashing_plugin"))
    with pytest.raises(DuplicateTaskError, match="'denoise'.*'clashing'"):
        plugins.get_registry()
    plugins.reset_registry()
    result = cli_runner.invoke(cli, ["tasks"])
    assert result.exit_code != 0 and "denoise" in result.output and "clashing" in result.output


def test_disable_plugins_by_name(with_plugins, cli_runner, monkeypatch) -> None:
    with_plugins(_entry_point("broken", "broken_plugin"))
    names = [entry_point.name for entry_point in plugins._entry_points()]
    assert "broken" in names and "denoise" in names
    monkeypatch.setenv("IMGRESTORE_DISABLE_PLUGINS", " ,".join(names) + ", ")  # spaces and a trailing comma
    registry = plugins.get_registry()
    assert registry.tasks == {}
    assert all(registry.plugins[name].blocked for name in names)
    assert registry.plugins["broken"].error is None  # blocked before import
    result = cli_runner.invoke(cli, ["plugins"])
    assert result.output.count("disabled") == len(names)
    result = cli_runner.invoke(cli, ["denoise", "in/", "out/"])
    assert result.exit_code == 2 and "the plugin 'denoise' is disabled by IMGRESTORE_DISABLE_PLUGINS" in result.output


def test_a_name_in_the_disable_list_that_no_plugin_has_is_reported(with_plugins, cli_runner, monkeypatch) -> None:
    """A typo (denoize) disables nothing: say so, rather than leave the user wondering."""
    monkeypatch.setenv("IMGRESTORE_DISABLE_PLUGINS", "denoize")
    with_plugins()
    assert plugins.get_registry().unknown_disabled == ["denoize"]
    result = cli_runner.invoke(cli, ["plugins"])
    assert "denoize" in result.output and "no such plugin" in result.output


def test_plugin_commands_hook(with_plugins) -> None:
    with_plugins(_entry_point("command", "command_plugin"))
    import click

    group = click.Group()
    plugins.get_registry().manager.hook.imgrestore_register_commands(cli=group)
    assert "hello" in group.commands


def test_the_example_plugins_top_module_imports_nothing_heavy() -> None:
    """What `imgrestore --help` pays for the plugin: its registration module, without numpy or onnx."""
    script = (f"import sys\nsys.path.insert(0, {str(EXAMPLE)!r})\nimport imgrestore_sharpen\n"
              "print(sorted(m for m in ('numpy', 'onnx', 'onnxruntime', 'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_a_plugin_failing_halfway_through_registering_contributes_nothing(with_plugins, cli_runner) -> None:
    """Its first task would otherwise run, and its commands be added, while it is reported FAILED."""
    with_plugins(_entry_point("halfway", "halfway_plugin"))
    registry = plugins.get_registry()
    assert "halfway" not in registry.tasks and "denoise" in registry.tasks
    assert "the second task's model is missing" in registry.plugins["halfway"].error
    import click

    group = click.Group()
    registry.register_commands(group)
    assert "halfway-tool" not in group.commands


def test_a_plugin_whose_commands_hook_raises_is_reported_and_the_rest_work(with_plugins, cli_runner) -> None:
    with_plugins(_entry_point("failing-command", "failing_command_plugin"), _entry_point("command", "command_plugin"))
    import click

    registry = plugins.get_registry()
    group = click.Group()
    registry.register_commands(group)
    assert "hello" in group.commands
    assert "cannot add my command" in registry.plugins["failing-command"].error
    result = cli_runner.invoke(cli, ["plugins"])
    assert result.exit_code == 0 and "FAILED" in result.output and "denoise" in result.output


def test_a_task_named_like_a_core_command_fails_its_plugin(with_plugins, cli_runner) -> None:
    """`imgrestore masks` is the core command; a task of that name could never run."""
    with_plugins(_entry_point("core-name", "core_name_plugin"))
    result = cli_runner.invoke(cli, ["plugins"])
    assert "core-name" in result.output and "name of a core command" in result.output
    assert "masks" not in plugins.get_registry().tasks


def test_a_misspelled_hook_and_an_exit_at_import_are_plugin_failures(with_plugins, cli_runner) -> None:
    with_plugins(_entry_point("misspelled", "misspelled_plugin"), _entry_point("exiting", "exiting_plugin"))
    result = cli_runner.invoke(cli, ["plugins", "-v"])
    assert result.exit_code == 0, result.output
    registry = plugins.get_registry()
    assert "unknown hook imgrestore_register_task " in registry.plugins["misspelled"].error
    assert "imgrestore_register_tasks" in registry.plugins["misspelled"].error
    assert registry.plugins["exiting"].error == "SystemExit: this plugin needs a GPU"
    assert "Traceback" in result.output and "exiting_plugin.py" in result.output  # -v shows where
    assert "denoise" in registry.tasks


def test_two_plugins_under_one_name_are_an_error_naming_both(with_plugins, cli_runner) -> None:
    """Otherwise the second silently replaced the first (the built-in denoise went missing)."""
    with_plugins(_entry_point("denoise", "clashing_plugin"))
    result = cli_runner.invoke(cli, ["tasks"])
    assert result.exit_code != 0
    assert "two plugins are both named 'denoise'" in result.output
    assert "clashing_plugin" in result.output and "imgrestore_denoise" in result.output


def test_one_plugin_seen_twice_on_the_path_loads_once(with_plugins) -> None:
    with_plugins(_entry_point("command", "command_plugin"), _entry_point("command", "command_plugin"))
    assert plugins.get_registry().plugins["command"].error is None
