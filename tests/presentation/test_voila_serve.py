"""The dashboard's Voila launcher: its settings reach Voila as one value each (a setting the user
gives replaces the kit's default, since traitlets refuses a setting given twice), and its page
template is found by Voila on top of Voila's own `lab` template. The page itself (no request
leaves the machine, a stuck cell is stopped) is checked in tests/browser/test_browser_dashboard.py.
"""

from __future__ import annotations

import os

import pytest

from vramkit.present import voila_serve

voila_app = pytest.importorskip("voila.app", reason="voila is not installed")


def _config(argv: list[str]):
    app = voila_app.Voila()
    app.parse_command_line(argv)
    return app.config


def test_defaults_reach_voila():
    config = _config(voila_serve.voila_args(["nb.ipynb"]))
    assert config.Voila.ip == "127.0.0.1"
    assert config.VoilaConfiguration.template == "vramkit"
    assert config.VoilaExecutor.timeout == voila_serve.CELL_TIMEOUT_S == 120
    assert config.VoilaExecutor.startup_timeout == 60
    assert "--VoilaExecutor.timeout" in config.VoilaExecutor.cell_timeout_instruction


def test_the_dashboards_kernels_get_the_reports_kernel_client():
    """Voila's executor asks its kernel manager for a client: the one with the fix for the lost
    wake-up (vramkit.report.kernel), so a dashboard panel cannot stall its page either."""
    from jupyter_server.services.kernels.kernelmanager import ServerKernelManager

    from vramkit.report.kernel import WatchedChannel, WatchedKernelClient

    config = _config(voila_serve.voila_args(["nb.ipynb"]))
    km = ServerKernelManager(config=config, kernel_name="python3")
    assert km.client_factory is WatchedKernelClient
    assert WatchedKernelClient.shell_channel_class.default_value is WatchedChannel


@pytest.mark.parametrize(
    ("given", "section", "key", "value"),
    [
        ("--VoilaExecutor.timeout=300", "VoilaExecutor", "timeout", 300),
        ("--template=lab", "VoilaConfiguration", "template", "lab"),
        ("--VoilaConfiguration.template=lab", "VoilaConfiguration", "template", "lab"),
        ("--Voila.ip=0.0.0.0", "Voila", "ip", "0.0.0.0"),
    ],
)
def test_a_setting_given_replaces_the_default(given, section, key, value):
    argv = voila_serve.voila_args(["nb.ipynb", given])
    assert argv[-1] == given
    assert not any(a.startswith(f"--{section}.{key}=") for a in argv[:-1])
    # given twice, traitlets stops Voila with "only accepts one value"; once, the user's wins
    assert getattr(_config(argv)[section], key) == value


def test_the_template_extends_voilas_lab_template():
    from jupyter_core.paths import jupyter_path
    from voila.paths import collect_template_paths

    roots = [str(voila_serve.JUPYTER_ROOT), *jupyter_path()]
    paths = collect_template_paths(["voila", "nbconvert"], "vramkit", prune=True, root_dirs=roots)
    ours = voila_serve.JUPYTER_ROOT / "voila" / "templates" / "vramkit"
    assert paths[0] == str(ours)
    assert any(p.endswith("voila/templates/lab") for p in paths)
    assert (ours / "index.html.j2").read_text().startswith("{#-")


def test_jupyter_path_puts_the_template_root_first():
    assert voila_serve.jupyter_path(None) == str(voila_serve.JUPYTER_ROOT)
    joined = voila_serve.jupyter_path("/elsewhere")
    assert joined.split(os.pathsep) == [str(voila_serve.JUPYTER_ROOT), "/elsewhere"]


def test_visitors_get_a_pre_run_kernel_by_default():
    """The kit's launcher keeps one kernel per notebook started and run before a visitor comes
    (issue 22: the kernel's start and the cells leave the first load), refilled at once."""
    config = _config(voila_serve.voila_args(["nb.ipynb"]))
    assert config.VoilaConfiguration.preheat_kernel is True
    assert config.VoilaConfiguration.default_pool_size == voila_serve.POOL_SIZE == 1
    # Voila builds the pool's kernel manager class at start-up: the setting is kept as text
    # until that class (named VoilaKernelManager, with a fill_delay trait) takes it
    assert float(config.VoilaKernelManager.fill_delay) == voila_serve.FILL_DELAY_S == 0
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from voila.voila_kernel_manager import voila_kernel_manager_factory

    cls = voila_kernel_manager_factory(AsyncMappingKernelManager, True, 1)
    assert cls.__name__ == "VoilaKernelManager"
    assert "fill_delay" in cls.class_traits(config=True)


@pytest.mark.parametrize(
    "given", ["--preheat_kernel=False", "--VoilaConfiguration.preheat_kernel=False"]
)
def test_preheat_can_be_switched_off(given):
    argv = voila_serve.voila_args(["nb.ipynb", given])
    assert _config(argv).VoilaConfiguration.preheat_kernel is False
    assert sum("preheat_kernel" in a for a in argv) == 1


@pytest.mark.parametrize(
    ("given", "preheat"),
    [("--progressive_rendering=True", False), ("--progressive_rendering=False", True),
     ("--VoilaConfiguration.progressive_rendering=True", False)],
)  # fmt: skip
def test_progressive_rendering_leaves_the_preheat_default_out(given, preheat):
    """Voila refuses a pre-run kernel pool with progressive rendering: asking for the latter
    drops the kit's preheat default instead of stopping Voila."""
    from voila.configuration import VoilaConfiguration

    config = _config(voila_serve.voila_args(["nb.ipynb", given]))
    assert VoilaConfiguration(config=config).preheat_kernel is preheat
