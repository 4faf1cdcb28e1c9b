"""Fixtures for the plugin tests: the packaged ZIP, and isolated plugin imports."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_PREFIXES = ("sounding_qgis", "backend")


def _is_ours(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in PLUGIN_PREFIXES)


@pytest.fixture(scope="session")
def plugin_zip(tmp_path_factory) -> Path:
    """Build the plugin ZIP exactly as ``make package`` does."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "package_plugin.py"), "--out", str(out)],
        check=True,
        cwd=ROOT,
    )
    return out / "sounding_qgis.zip"


@pytest.fixture
def isolated_plugin_modules():
    """Forget our packages while a test imports a plugin copy; restore them afterwards.

    Lets a test load the plugin from an unpacked ZIP (not from the repository)
    without disturbing the modules other tests hold.
    """
    saved_modules = {name: mod for name, mod in sys.modules.items() if _is_ours(name)}
    saved_path = list(sys.path)
    for name in saved_modules:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in [n for n in sys.modules if _is_ours(n)]:
            del sys.modules[name]
        sys.modules.update(saved_modules)
        sys.path[:] = saved_path


@pytest.fixture
def unpacked_plugin(plugin_zip: Path, tmp_path: Path) -> Path:
    """The ZIP unpacked into a fresh plugins folder; returns that folder."""
    plugins = tmp_path / "plugins"
    with zipfile.ZipFile(plugin_zip) as archive:
        archive.extractall(plugins)
    return plugins
