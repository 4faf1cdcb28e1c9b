"""A user's own QGIS: the ZIP in a fresh profile, "Install dependencies", restart, classify, train.

Runs as a new user would on Debian's QGIS: Debian's Python (/usr/bin/python3, the
one QGIS embeds) with a clean environment, so no venv and no PYTHONPATH, and the
system's own packages (python3-sympy 1.11, jinja2, PIL, matplotlib ...) on the path.
The plugin's installer code (the command and the background job the dialog runs)
installs the full requirement set from the local wheel cache ``make setup`` fills
(offline, through the documented wheel-folder option), into the profile's
dependency folder. Then new processes on that profile (``qgis_process`` and a
PyQGIS script loading the plugin through ``qgis.utils``) register every algorithm,
import every backend package from the right place, run a classification and train a
classifier from survey points (train-from-labels).

The installed folder (several GB) is shared between runs in
``~/.cache/sounding-earth/e2e-deps/<hash of requirement set, pins, Python>``,
built by the installer's own code the first time; the restart-and-run part
always runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sounding_qgis.helpers import unpack_plugin

SYSTEM_PYTHON = Path("/usr/bin/python3")
#: Debian's /usr/bin/qgis_process is a wrapper adding --noversioncheck, which 3.22 rejects
QGIS_PROCESS = Path("/usr/bin/qgis_process.bin")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def wheel_cache() -> Path:
    """The wheel folder ``make setup`` fills (WHEEL_CACHE overrides, as in the Makefile)."""
    return Path(os.environ.get("WHEEL_CACHE") or Path.home() / ".cache/sounding-earth/wheels")


def shared_deps_root() -> Path:
    """Where installed dependency folders are kept between test runs."""
    return Path(
        os.environ.get("SOUNDING_EARTH_E2E_DEPS") or Path.home() / ".cache/sounding-earth/e2e-deps"
    )


def user_env(config: Path, **extra: str) -> dict[str, str]:
    """A new user's environment: no venv, no PYTHONPATH, QGIS's profile in ``config``."""
    env = {
        "HOME": os.environ.get("HOME", str(config)),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
        "QGIS_CUSTOM_CONFIG_PATH": str(config),
        "XDG_RUNTIME_DIR": str(config),
    }
    env.update(extra)
    return env


#: runs under /usr/bin/python3 in the fresh profile: what "Install dependencies" runs
INSTALL_SCRIPT = r"""
import hashlib, json, sys, time
from pathlib import Path

plugins, mode = sys.argv[1], sys.argv[2]
sys.path.insert(0, plugins)
from qgis.core import QgsApplication

app = QgsApplication([], False)
app.initQgis()
import sounding_qgis  # noqa: F401  (puts the bundled backend on the path)
from backend.deps import REQUIRED_PACKAGES
from sounding_qgis.dependencies import (
    check_dependencies, choose_build, constraints_text, dependency_folder, format_command,
    install_command,
)
from sounding_qgis.installer import install_into

status = check_dependencies()
build = choose_build()
target = Path(sys.argv[3]) if mode == "install" else dependency_folder()
command = install_command(status.missing, target, build=build)
key = hashlib.sha256(json.dumps(
    [sorted(REQUIRED_PACKAGES.values()), constraints_text(), sys.version, build.kind,
     sorted(status.missing)]
).encode()).hexdigest()[:16]
print(json.dumps({
    "missing": status.missing, "python": command[0], "build": build.describe(),
    "kind": build.kind, "command": format_command(command), "key": key,
    "folder": str(dependency_folder()),
}), flush=True)
if mode == "install":
    start = time.monotonic()
    output = install_into(command, target)
    print(output[-3000:])
    print(json.dumps({"seconds": time.monotonic() - start}), flush=True)
"""

#: runs under /usr/bin/python3 after the "restart": QGIS loads the plugin from the profile
RESTART_SCRIPT = r"""
import json, sys
from pathlib import Path
from qgis.core import QgsApplication

app = QgsApplication([], False)
app.initQgis()
sys.path.insert(0, "/usr/share/qgis/python/plugins")
from processing.core.Processing import Processing
Processing.initialize()
import qgis.utils

plugins = sys.argv[1]
sys.path.insert(0, plugins)
qgis.utils.plugin_paths.insert(0, plugins)
qgis.utils.updateAvailablePlugins()
assert qgis.utils.loadPlugin("sounding_qgis"), "the plugin did not load"
assert qgis.utils.startProcessingPlugin("sounding_qgis"), "the plugin did not start"
from sounding_qgis.dependencies import check_dependencies, dependency_folder, shadowed_packages

status = check_dependencies()
names = ["torch", "torchvision", "torchaudio", "rasterio", "soundfile", "safetensors",
         "sympy", "mpmath", "networkx", "jinja2", "filelock", "fsspec", "typing_extensions",
         "PIL", "attr", "affine", "numpy", "osgeo"]
modules = {}
for name in names:
    module = __import__(name)
    modules[name] = [getattr(module, "__file__", ""), str(getattr(module, "__version__", ""))]
registry = QgsApplication.processingRegistry()
print(json.dumps({
    "ok": status.ok, "errors": status.errors, "folder": str(dependency_folder()),
    "shadowed": [str(s) for s in shadowed_packages()], "modules": modules,
    "algorithms": sorted(a.id() for a in registry.algorithms() if a.id().startswith("sounding:")),
}), flush=True)
qgis.utils.unloadPlugin("sounding_qgis")
app.exitQgis()
"""

#: the old mechanism (folder appended after the system's packages), to show the trap is real
APPENDED_SCRIPT = r"""
import sys
sys.path.append(sys.argv[1])
try:
    import torchvision  # noqa: F401
except Exception as error:
    import sympy
    print(f"FAILS {type(error).__name__}: {error} (sympy {sympy.__version__} from {sympy.__file__})")
else:
    print("IMPORTS")
"""


def _run(args, env, timeout, what):
    run = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, f"{what} failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    return run


def _last_json(text: str) -> dict:
    return json.loads([line for line in text.splitlines() if line.startswith("{")][-1])


def _system_sympy_version() -> str | None:
    run = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import sympy; print(sympy.__version__)"],
        env={"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/")},
        capture_output=True,
        text=True,
    )
    return run.stdout.strip() if run.returncode == 0 else None


def _installed_folder(plugins: Path, config: Path, scripts: Path) -> tuple[Path, dict]:
    """The shared dependency folder for this requirement set; installed now when missing."""
    cache = wheel_cache()
    assert cache.is_dir() and any(cache.glob("*.whl")), (
        f"the wheel cache {cache} is empty or missing: `make setup` fills it "
        "(WHEEL_CACHE=... to use another folder)"
    )
    env = user_env(config, SOUNDING_EARTH_WHEEL_FOLDER=str(cache))
    script = scripts / "install.py"
    script.write_text(INSTALL_SCRIPT)
    plan = _last_json(
        _run([str(SYSTEM_PYTHON), str(script), str(plugins), "plan"], env, 300, "planning").stdout
    )
    folder = shared_deps_root() / plan["key"]
    if not (folder / ".complete").is_file():
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.parent.mkdir(parents=True, exist_ok=True)
        run = subprocess.run(
            [str(SYSTEM_PYTHON), str(script), str(plugins), "install", str(partial)],
            env=env,
            capture_output=True,
            text=True,
            timeout=3000,
        )
        assert run.returncode == 0, (
            f"installing the requirement set from the wheel cache {cache} failed; a wheel "
            f"it needs is probably missing there (`make setup` downloads them):\n"
            f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        )
        plan["install_seconds"] = _last_json(run.stdout)["seconds"]
        partial.with_name(partial.name + "-constraints.txt").unlink(missing_ok=True)
        (partial / ".complete").write_text(plan["command"] + "\n")
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    return folder, plan


@dataclass
class InstalledProfile:
    """A fresh QGIS profile with the plugin from its ZIP and its dependency folder filled."""

    config: Path
    plugins: Path
    shared: Path
    plan: dict


@pytest.fixture(scope="module")
def installed_profile(plugin_zip: Path, tmp_path_factory) -> InstalledProfile:
    """Install the plugin ZIP into a fresh profile, then "Install dependencies" into it."""
    for needed in (SYSTEM_PYTHON, QGIS_PROCESS):
        assert needed.is_file(), f"{needed} is missing: `make setup` installs Debian's qgis"
    root = tmp_path_factory.mktemp("user")
    config = root / "qgis-config"
    profile = unpack_plugin(config, plugin_zip)
    plugins = profile / "python" / "plugins"

    shared, plan = _installed_folder(plugins, config, root)
    # a fresh profile without a venv: every backend package is missing, and the
    # installer runs QGIS's own Python (the build for this machine) from the wheel folder
    assert {"torch", "torchvision", "rasterio"} <= set(plan["missing"]), plan
    assert plan["python"] == str(SYSTEM_PYTHON), plan
    assert plan["command"].startswith(f"{SYSTEM_PYTHON} -m pip install"), plan
    assert "--no-index --find-links" in plan["command"], plan
    assert plan["folder"] == str(profile / "python" / "sounding_earth_deps"), plan
    # the profile's folder is the shared one (installed by the same code, maybe earlier)
    Path(plan["folder"]).symlink_to(shared, target_is_directory=True)
    assert not list(shared.glob("numpy*")), "QGIS's numpy must not be in the folder"
    size_gb = (
        int(
            subprocess.run(
                ["du", "-sb", str(shared)], capture_output=True, text=True
            ).stdout.split()[0]
        )
        / 1e9
    )
    print(
        f"\ndependency folder {shared}: {size_gb:.2f} GB; "
        f"install {plan.get('install_seconds', 'cached')} s; {plan['build']}"
    )
    # enabled as the plugin manager does after installing it (QGIS3.ini of the profile)
    enable = [str(QGIS_PROCESS), "plugins", "enable", "sounding_qgis"]
    _run(enable, user_env(config), 300, "enabling the plugin")
    return InstalledProfile(config, plugins, shared, plan)


#: packages that must come from the dependency folder after the restart
FROM_FOLDER = (
    "torch", "torchvision", "torchaudio", "rasterio", "soundfile", "safetensors", "sympy",
    "mpmath", "networkx", "jinja2", "filelock", "fsspec", "typing_extensions", "PIL", "attr",
    "affine",
)  # fmt: skip


def _check_imports(loaded: dict, system_sympy: str | None) -> None:
    """Every backend package from the folder, QGIS's numpy and GDAL from the system."""
    assert loaded["ok"], loaded["errors"]
    # what QGIS imported before the plugin loaded stays (certifi ...), and is reported
    print(f"imported before the plugin: {loaded['shadowed']}")
    folder = loaded["folder"]
    for name in FROM_FOLDER:
        assert loaded["modules"][name][0].startswith(folder), (name, loaded["modules"][name])
        assert not [s for s in loaded["shadowed"] if s.startswith(f"{name} ")], name
    assert loaded["modules"]["sympy"][1] != system_sympy
    for name in ("numpy", "osgeo"):  # QGIS's own stay in charge
        assert loaded["modules"][name][0].startswith("/usr/lib/python3/"), loaded["modules"][name]


def test_install_dependencies_then_restart_runs_every_algorithm(
    installed_profile: InstalledProfile, workspace, tmp_path: Path
):
    start = time.monotonic()
    config, plugins, shared = (
        installed_profile.config,
        installed_profile.plugins,
        installed_profile.shared,
    )

    # The old mechanism (folder after the system's packages) fails next to Debian's
    # sympy 1.11; with the folder first (the plugin's way) everything imports.
    appended = tmp_path / "appended.py"
    appended.write_text(APPENDED_SCRIPT)
    old_way = _run(
        [str(SYSTEM_PYTHON), str(appended), str(shared)], user_env(config), 300, "old way"
    )
    system_sympy = _system_sympy_version()
    print(f"system sympy {system_sympy}; folder appended: {old_way.stdout.strip()}")
    if system_sympy is not None and tuple(map(int, system_sympy.split(".")[:2])) < (1, 13):
        assert old_way.stdout.startswith("FAILS"), old_way.stdout

    # "Restart QGIS": a new process on the profile loads the plugin through qgis.utils.
    restart = tmp_path / "restart.py"
    restart.write_text(RESTART_SCRIPT)
    loaded = _last_json(
        _run(
            [str(SYSTEM_PYTHON), str(restart), str(plugins)], user_env(config), 600, "restart"
        ).stdout
    )
    _check_imports(loaded, system_sympy)

    from sounding_qgis.provider import algorithm_classes

    expected = sorted(f"sounding:{cls().name()}" for cls in algorithm_classes())
    assert loaded["algorithms"] == expected

    # ... and qgis_process, the other QGIS executable, on the same profile.
    env = user_env(config)
    listed = _run([str(QGIS_PROCESS), "list"], env, 300, "qgis_process list").stdout
    assert [a for a in expected if a not in listed] == []
    out = tmp_path / "classes.tif"
    run = _run(
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
        env,
        600,
        "classifyraster",
    )
    answer = json.loads(run.stdout[run.stdout.index("{") :])
    assert answer["results"]["OUTPUT"] == str(out)
    import rasterio

    with rasterio.open(out) as dataset:
        assert dataset.crs.to_epsg() == 32633 and dataset.count == 1
        assert set(dataset.read(1).ravel()) <= {0, 1, 2}
    print(f"end to end: {time.monotonic() - start:.0f} s")


def _write_labels(path: Path, n: int = 48, seed: int = 0) -> Path:
    """Survey points over the workspace raster (GeoJSON, EPSG:4326), class by quadrant."""
    import numpy as np
    from rasterio.warp import transform

    from tests.sounding_qgis.helpers import RASTER_CRS, RASTER_ORIGIN, RASTER_RESOLUTION

    size = 128 * RASTER_RESOLUTION
    rng = np.random.default_rng(seed)
    xs = RASTER_ORIGIN[0] + rng.uniform(20.0, size - 20.0, n)
    ys = RASTER_ORIGIN[1] - rng.uniform(20.0, size - 20.0, n)
    lons, lats = transform(RASTER_CRS, "EPSG:4326", xs.tolist(), ys.tolist())
    names = ["water", "forest", "cropland", "urban"]  # the raster's quadrants
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "landcover": names[
                    2 * int(RASTER_ORIGIN[1] - y >= size / 2)
                    + int(x - RASTER_ORIGIN[0] >= size / 2)
                ]
            },
        }
        for x, y, lon, lat in zip(xs, ys, lons, lats, strict=True)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_train_from_labels_in_the_restarted_qgis(
    installed_profile: InstalledProfile, workspace, tmp_path: Path
):
    """qgis_process on the profile trains a classifier from survey points, then classifies."""
    labels = _write_labels(tmp_path / "survey.geojson")
    out, classes = tmp_path / "labels.safetensors", tmp_path / "labels.tif"
    run = _run(
        [
            str(QGIS_PROCESS),
            "run",
            "sounding:trainfromlabels",
            "--json",
            "--",
            f"INPUT={workspace.raster}",
            f"LABELS={labels}",
            "FIELD=landcover",
            # small tiles and blocks: the 256 m raster holds 16 blocks
            "TILE_METRES=32",
            "BLOCK_METRES=64",
            "FOLDS=4",
            "EPOCHS=2",
            "DEVICE=1",
            f"OUTPUT={out}",
            f"CLASSES={classes}",
        ],
        user_env(installed_profile.config),
        900,
        "trainfromlabels",
    )
    answer = json.loads(run.stdout[run.stdout.index("{") :])["results"]
    assert answer["OUTPUT"] == str(out) and 0.0 <= answer["ACCURACY"] <= 1.0
    report = json.loads(Path(answer["REPORT_JSON"]).read_text(encoding="utf-8"))
    assert report["samples"] == 48
    from backend.models.classifier import load_classifier

    _, metadata = load_classifier(out)
    assert sorted(metadata.class_names) == ["cropland", "forest", "urban", "water"]
    import rasterio

    with rasterio.open(classes) as dataset:
        assert dataset.crs.to_epsg() == 32633
        assert set(dataset.read(1).ravel()) <= {0, 1, 2, 3, 255}


#: runs inside the QGIS desktop (--code), after it has loaded the enabled plugins
DESKTOP_CODE = r"""
import json, os, traceback
from pathlib import Path
import qgis.utils
from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import QTimer

OUT = Path(os.environ["SOUNDING_E2E_OUT"])


def report():
    try:
        import sys

        from sounding_qgis.dependencies import (
            dependency_folder, format_command, install_command, shadowed_packages,
        )
        from sounding_qgis.qgis_python import qgis_python_executable

        plugin = qgis.utils.plugins.get("sounding_qgis")
        modules = {}
        for name in os.environ["SOUNDING_E2E_MODULES"].split(","):
            module = __import__(name)
            modules[name] = [getattr(module, "__file__", ""), str(getattr(module, "__version__", ""))]
        registry = QgsApplication.processingRegistry()
        OUT.write_text(json.dumps({
            "ok": plugin.dependencies.ok, "errors": plugin.dependencies.errors,
            "executable": sys.executable, "python": qgis_python_executable(),
            "command": format_command(install_command(["torch"])),
            "actions": [a.text() for a in plugin.actions], "folder": str(dependency_folder()),
            "shadowed": [str(s) for s in shadowed_packages()], "modules": modules,
            "algorithms": sorted(
                a.id() for a in registry.algorithms() if a.id().startswith("sounding:")
            ),
        }))
    except Exception:
        OUT.write_text(json.dumps({"error": traceback.format_exc()}))
    QgsProject.instance().setDirty(False)
    os._exit(0)


QTimer.singleShot(2000, report)
"""


def test_qgis_desktop_restarted_on_the_profile_has_a_working_plugin(
    installed_profile: InstalledProfile, tmp_path: Path
):
    """The real QGIS window (under Xvfb) with the plugin enabled: no install mode any more."""
    assert shutil.which("xvfb-run"), "xvfb-run is missing: `make setup` installs xvfb"
    code, out = tmp_path / "desktop.py", tmp_path / "desktop.json"
    code.write_text(DESKTOP_CODE)
    env = user_env(
        installed_profile.config,
        SOUNDING_E2E_OUT=str(out),
        SOUNDING_E2E_MODULES=",".join((*FROM_FOLDER, "numpy", "osgeo")),
    )
    env.pop("QT_QPA_PLATFORM")  # a real (virtual) display
    # the first python3 on PATH is another installation (a pyenv shim, conda ...)
    decoy = tmp_path / "decoy" / "python3"
    decoy.parent.mkdir()
    decoy.write_text("#!/bin/sh\necho '[3, 12, \"/opt/decoy\"]'\n")
    decoy.chmod(0o755)
    env["PATH"] = f"{decoy.parent}:{env['PATH']}"
    run = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "/usr/bin/qgis", "--nologo",
         "--noversioncheck", "--code", str(code)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.is_file(), f"QGIS exited with {run.returncode}:\n{run.stderr[-3000:]}"
    loaded = json.loads(out.read_text())
    assert "error" not in loaded, loaded.get("error")
    _check_imports(loaded, _system_sympy_version())
    from sounding_qgis.plugin import CLASSIFY_TEXT, INSTALL_TEXT
    from sounding_qgis.provider import algorithm_classes

    assert CLASSIFY_TEXT in loaded["actions"] and INSTALL_TEXT not in loaded["actions"]
    # the command names QGIS's own Python (Debian's), not the first python3 on PATH
    print(f"inside QGIS: sys.executable {loaded['executable']}, pip runs {loaded['python']}")
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert loaded["python"] in ("/usr/bin/python3", f"/usr/bin/python{minor}"), loaded
    assert loaded["command"].startswith(f"{loaded['python']} -m pip install"), loaded
    assert loaded["algorithms"] == sorted(f"sounding:{cls().name()}" for cls in algorithm_classes())
