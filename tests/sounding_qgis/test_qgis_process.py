"""An algorithm run from the command line: qgis_process with the plugin installed from its ZIP."""

from __future__ import annotations

import json
import os
import subprocess
import sysconfig
import zipfile
from pathlib import Path

import pytest

#: Debian's /usr/bin/qgis_process is a wrapper adding --noversioncheck, which 3.22 rejects
QGIS_PROCESS = Path("/usr/bin/qgis_process.bin")

pytestmark = pytest.mark.skipif(
    not QGIS_PROCESS.is_file(),
    reason="qgis_process is missing: install Debian's desktop package "
    "(apt-get install --no-install-recommends qgis), which `make setup` does",
)


@pytest.fixture(scope="module")
def qgis_process_env(plugin_zip: Path, tmp_path_factory) -> dict[str, str]:
    """A fresh QGIS profile with the plugin unpacked from its ZIP and enabled."""
    config = tmp_path_factory.mktemp("qgis-config")
    plugins = config / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(plugin_zip) as archive:
        archive.extractall(plugins)
    env = dict(os.environ)
    env.update(
        QGIS_CUSTOM_CONFIG_PATH=str(config),
        QT_QPA_PLATFORM="offscreen",
        # the backend's packages (torch, rasterio, ...) live in this test's environment;
        # in a user's QGIS they come from the plugin's "Install dependencies" folder
        PYTHONPATH=sysconfig.get_paths()["purelib"],
        XDG_RUNTIME_DIR=str(config),
    )
    env.pop("PYTHONHOME", None)
    enable = subprocess.run(
        [str(QGIS_PROCESS), "plugins", "enable", "sounding_qgis"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert enable.returncode == 0, enable.stdout + enable.stderr
    return env


def test_qgis_process_lists_and_runs_classifyraster(qgis_process_env, workspace, tmp_path):
    listed = subprocess.run(
        [str(QGIS_PROCESS), "list"],
        env=qgis_process_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    for name in ("buildpairs", "pretrain", "finetune", "classifyraster", "querysounds"):
        assert f"sounding:{name}" in listed.stdout

    out = tmp_path / "classes.tif"
    run = subprocess.run(
        [
            str(QGIS_PROCESS),
            "run",
            "sounding:classifyraster",
            "--json",
            "--",
            f"INPUT={workspace.raster}",
            f"MODEL={workspace.classifier}",
            "DEVICE=1",
            # one output pixel per 16 px: 64 tiles, not the default 1,024 (the check is the run)
            "STRIDE=16",
            f"OUTPUT={out}",
        ],
        env=qgis_process_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    answer = json.loads(run.stdout[run.stdout.index("{") :])
    assert answer["results"]["OUTPUT"] == str(out)
    assert out.is_file() and out.with_suffix(".qml").is_file()
    import rasterio

    with rasterio.open(out) as dataset:
        assert dataset.crs.to_epsg() == 32633 and dataset.count == 1
        assert set(dataset.read(1).ravel()) <= {0, 1, 2}


def test_qgis_process_reports_the_backend_error(qgis_process_env, workspace, tmp_path):
    run = subprocess.run(
        [
            str(QGIS_PROCESS),
            "run",
            "sounding:classifyraster",
            "--",
            f"INPUT={workspace.raster}",
            f"MODEL={workspace.audiovisual}",
            "DEVICE=1",
            f"OUTPUT={tmp_path / 'classes.tif'}",
        ],
        env=qgis_process_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0
    assert "not a classifier" in run.stdout + run.stderr
    assert not (tmp_path / "classes.tif").exists()
