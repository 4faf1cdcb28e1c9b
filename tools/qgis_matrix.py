"""The QGIS test matrix: the plugin's QGIS tests on QGIS 3.40 and 3.44 (Debian 13).

``make test-qgis-matrix`` runs this script (as root: it needs ``chroot`` and bind
mounts). For each QGIS release it

1. builds, once, a Debian 13 (trixie) root filesystem with that QGIS using
   ``mmdebstrap`` (3.40 from trixie, 3.44 from trixie-backports), kept under
   ``$HOME/.cache/sounding-earth/rootfs/`` (outside the repository) and reused
   while its recipe is unchanged;
2. copies the repository's files (tracked and untracked, not ignored) into it;
3. fills the project's wheel cache (``$HOME/.cache/sounding-earth/wheels``,
   bind-mounted) with the wheels that Debian 13's Python needs, and installs the
   test requirements into a venv on that Python (``--system-site-packages``, so
   QGIS's PyQGIS, numpy and GDAL are the system's), cached by Python version and
   requirement set;
4. runs the chosen plugin tests, the install end-to-end test among them (the ZIP
   from ``make package`` in a fresh profile, "Install dependencies" from the wheel
   cache, restart, every algorithm, a classification, train-from-labels), and
5. writes the outcome, with the QGIS, Python, numpy and GDAL versions, the date
   and the times taken, into ``bench/results/qgis_matrix.json``.

Run ``python3 tools/qgis_matrix.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("SOUNDING_EARTH_CACHE") or Path.home() / ".cache/sounding-earth")
RESULTS = ROOT / "bench" / "results" / "qgis_matrix.json"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
#: packages every root filesystem gets (QGIS, its Processing providers, a display for
#: the desktop test, pip and venv for the test environment)
BASE_PACKAGES = (
    "qgis",
    "python3-qgis",
    "qgis-providers",
    "xvfb",
    "xauth",
    "python3-pip",
    "python3-venv",
    "ca-certificates",
)
#: where the repository is copied inside a root filesystem
CHROOT_REPO = "/root/sounding-earth"
#: the cache folder as the chroot sees it (bind mount of CACHE)
CHROOT_CACHE = "/root/.cache/sounding-earth"

#: the plugin's QGIS tests the matrix runs. Left out: test_full_disk (needs a small
#: loop-mounted disk of the host), test_corpus_algorithms (every malformed input on
#: every algorithm: input handling, not QGIS-version dependent, and the longest file),
#: test_screenshot (writes docs/images from the demo output) and test_plugin_manager
#: (drives QGIS's pyplugin_installer headless; from QGIS 3.30 it reads settings that
#: only the desktop application registers, so it cannot run in a QgsApplication: the
#: ZIP install is covered by test_install_e2e, in the desktop too).
TESTS = (
    "tests/sounding_qgis/test_install_e2e.py",
    "tests/sounding_qgis/test_plugin_lifecycle.py",
    "tests/sounding_qgis/test_package.py",
    "tests/sounding_qgis/test_pb_tool.py",
    "tests/sounding_qgis/test_qgis_process.py",
    "tests/sounding_qgis/test_algorithms.py",
    "tests/sounding_qgis/test_segmentation_algorithm.py",
    "tests/sounding_qgis/test_train_from_labels.py",
    "tests/sounding_qgis/test_dependencies.py",
    "tests/sounding_qgis/test_installer.py",
    "tests/sounding_qgis/test_settings.py",
    "tests/sounding_qgis/test_sounds_dock.py",
    "tests/sounding_qgis/test_model_chooser.py",
    "tests/sounding_qgis/test_models_dialog.py",
    "tests/sounding_qgis/test_raster_actions.py",
    "tests/sounding_qgis/test_reference_model.py",
)


@dataclass(frozen=True)
class Target:
    """One QGIS release of the matrix and how its root filesystem is made."""

    name: str
    suite: str
    backports: bool

    def recipe(self) -> dict:
        """Everything that decides the root filesystem's content (a change rebuilds it)."""
        return {
            "suite": self.suite,
            "backports": self.backports,
            "packages": list(BASE_PACKAGES),
            "mirror": DEBIAN_MIRROR,
            "version": 1,
        }


TARGETS = {
    "3.40": Target("qgis-3.40", "trixie", backports=False),
    "3.44": Target("qgis-3.44", "trixie", backports=True),
}


def log(message: str) -> None:
    """Progress on stderr, with the time of day."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    log("$ " + " ".join(args))
    return subprocess.run(args, check=True, **kwargs)


# --- root filesystems ------------------------------------------------------------------


def rootfs_path(target: Target) -> Path:
    """Where ``target``'s root filesystem is kept."""
    return CACHE / "rootfs" / target.name


def _stamp(root: Path) -> Path:
    return root / "etc" / "sounding-earth-rootfs.json"


def rootfs_is_current(target: Target) -> bool:
    """The cached root filesystem exists and was built from the current recipe."""
    stamp = _stamp(rootfs_path(target))
    if not stamp.is_file():
        return False
    return json.loads(stamp.read_text())["recipe"] == target.recipe()


def build_rootfs(target: Target) -> float:
    """Build ``target``'s root filesystem with mmdebstrap; return the seconds it took.

    Built under a temporary name and renamed when complete, so an interrupted build
    leaves no half root filesystem that looks usable.
    """
    if shutil.which("mmdebstrap") is None:
        raise SystemExit("mmdebstrap is missing: apt-get install mmdebstrap")
    root = rootfs_path(target)
    partial = root.with_name(root.name + ".partial")
    if _mounted_under(partial):
        raise SystemExit(f"{partial} has mounts: unmount them first: {_mounted_under(partial)}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    sources = [f"deb {DEBIAN_MIRROR} {target.suite} main"]
    hooks = [
        # this machine's CA certificates, for pip and apt behind its TLS proxy
        'cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/" '
        "2>/dev/null || true",
        'chroot "$1" update-ca-certificates',
    ]
    include = list(BASE_PACKAGES)
    if target.backports:
        sources.append(f"deb {DEBIAN_MIRROR} {target.suite}-backports main")
        # QGIS and what it needs from backports, as a user does: apt install -t ...-backports
        qgis = [p for p in include if p.startswith(("qgis", "python3-qgis"))]
        include = [p for p in include if p not in qgis]
        hooks.insert(
            0,
            'chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y '
            f"--no-install-recommends -t {target.suite}-backports {' '.join(qgis)}",
        )
    args = [
        "mmdebstrap",
        "--variant=apt",
        "--include=" + ",".join(include),
        *[f"--customize-hook={hook}" for hook in hooks],
        target.suite,
        str(partial),
        *sources,
    ]
    start = time.monotonic()
    _run(args)
    seconds = time.monotonic() - start
    stamp = {"recipe": target.recipe(), "built": dt.date.today().isoformat(), "seconds": seconds}
    _stamp(partial).write_text(json.dumps(stamp, indent=1) + "\n")
    if _mounted_under(root):  # never delete through a bind mount of the cache
        raise SystemExit(f"{root} has mounts: unmount them first: {_mounted_under(root)}")
    shutil.rmtree(root, ignore_errors=True)
    partial.rename(root)
    log(f"{target.name}: root filesystem built in {seconds:.0f} s ({root})")
    return seconds


# --- inside a root filesystem ----------------------------------------------------------


def _mounted_under(root: Path) -> list[str]:
    resolved = str(root.resolve())
    with open("/proc/mounts", encoding="utf-8") as mounts:
        points = [line.split()[1] for line in mounts]
    return [p for p in points if p == resolved or p.startswith(resolved + "/")]


@contextmanager
def entered(root: Path):
    """/proc, /sys, /dev and the cache folder mounted into ``root`` (unmounted afterwards)."""
    if _mounted_under(root):
        raise SystemExit(f"{root} has mounts already (another matrix run?): {_mounted_under(root)}")
    cache_inside = root / CHROOT_CACHE.lstrip("/")
    cache_inside.mkdir(parents=True, exist_ok=True)
    shutil.copy2("/etc/resolv.conf", root / "etc" / "resolv.conf", follow_symlinks=True)
    mounts = [
        ["mount", "-t", "proc", "proc", str(root / "proc")],
        ["mount", "--rbind", "/sys", str(root / "sys")],
        ["mount", "--rbind", "/dev", str(root / "dev")],
        ["mount", "--bind", str(CACHE), str(cache_inside)],
    ]
    done: list[Path] = []
    try:
        for command in mounts:
            subprocess.run(command, check=True)
            done.append(Path(command[-1]))
        yield root
    finally:
        for point in reversed(done):
            subprocess.run(["umount", "-R", str(point)], check=False)
        left = _mounted_under(root)
        for point in sorted(left, reverse=True):  # busy: detach lazily
            subprocess.run(["umount", "-R", "-l", point], check=False)


def copy_repository(root: Path) -> None:
    """The repository's files (tracked and untracked, not ignored) into ``root``."""
    dest = root / CHROOT_REPO.lstrip("/")
    shutil.rmtree(dest, ignore_errors=True)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_symlink() and not source.exists():  # deleted, not yet committed
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


#: the requirement files whose content decides the test venv
REQUIREMENT_FILES = ("requirements.txt", "requirements-dev.txt", "constraints.txt")
#: Debian packages the tests need besides QGIS (as `make setup` installs them)
TEST_PACKAGES = ("python3-sklearn", "qgis-common", "zip")
VENV = "/opt/sounding-earth-venv"

#: runs inside the root filesystem (bash, as root): make setup's part, then the tests
INSIDE = r"""
set -euo pipefail
cd {repo}
missing=""
for p in {packages}; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
# numpy is QGIS's (Debian's): pin the venv's to it instead of the project's numpy<2
system_numpy=$(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)')
grep -v -E '^numpy' constraints.txt > /root/matrix-constraints.txt
echo "numpy==$system_numpy" >> /root/matrix-constraints.txt
key="$(cat {requirement_files} /root/matrix-constraints.txt | sha256sum | cut -c1-16)-$(/usr/bin/python3 -VV | sha256sum | cut -c1-8)"
if [ "$(cat {venv}/.matrix-stamp 2>/dev/null)" != "$key" ]; then
  start=$(date +%s)
  rm -rf {venv}
  /usr/bin/python3 -m venv --system-site-packages {venv}
  mkdir -p {wheels}
  {venv}/bin/python -m pip --disable-pip-version-check download -q --dest {wheels} \
    --find-links {wheels} -r requirements-dev.txt -c /root/matrix-constraints.txt
  {venv}/bin/python -m pip --disable-pip-version-check install -q --no-index \
    --find-links {wheels} -r requirements-dev.txt -c /root/matrix-constraints.txt
  echo /usr/share/qgis/python/plugins > \
    "$({venv}/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/qgis-processing.pth"
  echo "$key" > {venv}/.matrix-stamp
  echo "{{\"venv_seconds\": $(( $(date +%s) - start ))}}" > /root/matrix-venv.json
else
  echo '{{"venv_seconds": 0}}' > /root/matrix-venv.json
fi
{venv}/bin/python /root/matrix-versions.py > /root/matrix-versions.json
cat /root/matrix-versions.json
rm -rf /tmp/pytest-of-root
set +e
env -i HOME=/root PATH={venv}/bin:/usr/bin:/bin LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
  PYTHONPATH={repo} {venv}/bin/python -m pytest -p no:cacheprovider -n {workers} \
  --dist loadfile --max-worker-restart=0 --junitxml=/root/matrix-junit.xml {tests}
status=$?
rm -rf /tmp/pytest-of-root
exit $status
"""


#: prints the versions that matter as JSON (run by the tests' Python)
VERSIONS_CODE = """
import json, platform
import numpy
from osgeo import gdal
from qgis.core import Qgis
from qgis.PyQt.QtCore import PYQT_VERSION_STR, QT_VERSION_STR
import torch
try:
    debian = open("/etc/debian_version").read().strip()
except OSError:
    debian = None
print(json.dumps({
    "qgis": Qgis.version(), "python": platform.python_version(), "numpy": numpy.__version__,
    "numpy_from": numpy.__file__, "gdal": gdal.__version__, "qt": QT_VERSION_STR,
    "pyqt": PYQT_VERSION_STR, "torch": torch.__version__, "debian": debian,
}))
"""


def _junit_counts(path: Path) -> dict:
    """Passed, failed, errors and skipped tests (and the failures' names) from a JUnit file."""
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "failures": []}
    if not path.is_file():
        return counts
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None:
            counts["failed"] += 1
            counts["failures"].append(name)
        elif case.find("error") is not None:
            counts["errors"] += 1
            counts["failures"].append(name)
        elif case.find("skipped") is not None:
            counts["skipped"] += 1
        else:
            counts["passed"] += 1
    return counts


#: the environment inside: nothing of this machine's (its pip settings, venvs, PYTHON*)
INSIDE_ENV = {"HOME": "/root", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def _run_inside(root: Path, script: str) -> int:
    """Run ``script`` with bash in ``root``; on interruption stop all it started."""
    process = subprocess.Popen(
        ["chroot", str(root), "/bin/bash", "-c", script], env=INSIDE_ENV, start_new_session=True
    )
    try:
        return process.wait()
    except BaseException:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        raise


def _stop(signum, frame) -> None:
    """SIGTERM/SIGINT end the run through the normal exits (mounts are released)."""
    raise SystemExit(128 + signum)


def run_target(target: Target, tests: list[str], workers: int) -> dict:
    """Build (if needed) and enter ``target``'s root filesystem, run the tests; the outcome."""
    start = time.monotonic()
    rootfs_seconds = 0.0
    if not rootfs_is_current(target):
        rootfs_seconds = build_rootfs(target)
    root = rootfs_path(target)
    copy_repository(root)
    for leftover in ("matrix-junit.xml", "matrix-versions.json", "matrix-venv.json"):
        (root / "root" / leftover).unlink(missing_ok=True)
    (root / "root" / "matrix-versions.py").write_text(VERSIONS_CODE)
    script = INSIDE.format(
        repo=CHROOT_REPO,
        packages=" ".join(TEST_PACKAGES),
        requirement_files=" ".join(REQUIREMENT_FILES),
        venv=VENV,
        wheels=f"{CHROOT_CACHE}/wheels",
        workers=workers,
        tests=" ".join(tests),
    )
    log(f"{target.name}: running {len(tests)} test files in {root}")
    with entered(root):
        returncode = _run_inside(root, script)
    home = root / "root"
    return _outcome(
        returncode,
        _read_json(home / "matrix-versions.json"),
        _read_json(home / "matrix-venv.json").get("venv_seconds"),
        _junit_counts(home / "matrix-junit.xml"),
        rootfs_seconds,
        time.monotonic() - start,
        tests,
    )


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _outcome(
    returncode: int,
    versions: dict,
    venv_seconds: float | None,
    counts: dict,
    rootfs_seconds: float,
    seconds: float,
    tests: list[str],
) -> dict:
    """One run's record: passed (exit status 0 and tests ran), versions, counts, times."""
    return {
        "passed": returncode == 0 and counts["passed"] > 0,
        "date": dt.date.today().isoformat(),
        **{key: versions.get(key) for key in ("qgis", "python", "numpy", "gdal", "qt", "pyqt")},
        "torch": versions.get("torch"),
        "debian": versions.get("debian"),
        "tests": counts,
        "seconds": {
            "rootfs_build": round(rootfs_seconds),
            "venv": venv_seconds,
            "total": round(seconds),
        },
        "test_files": tests,
    }


def run_here(python: str, tests: list[str], workers: int) -> dict:
    """The same tests on this machine's QGIS, in the project's venv (``make setup``'s)."""
    start = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    probe = subprocess.run(
        [python, "-c", VERSIONS_CODE], env=env, capture_output=True, text=True, check=True
    )
    versions = json.loads(probe.stdout.strip().splitlines()[-1])
    junit = ROOT / "build" / "qgis-matrix-here.xml"
    junit.parent.mkdir(parents=True, exist_ok=True)
    junit.unlink(missing_ok=True)
    log(f"this machine (QGIS {versions['qgis']}): running {len(tests)} test files")
    run = subprocess.run(
        [python, "-m", "pytest", "-p", "no:cacheprovider", "-n", str(workers)]
        + ["--dist", "loadfile", f"--junitxml={junit}", *tests],
        cwd=ROOT,
        env=env,
    )
    return _outcome(
        run.returncode, versions, 0, _junit_counts(junit), 0, time.monotonic() - start, tests
    )


def write_results(path: Path, key: str, outcome: dict) -> None:
    """Record ``outcome`` for QGIS ``key`` in ``path`` (other releases' entries kept)."""
    results = json.loads(path.read_text()) if path.is_file() else {}
    results.setdefault(
        "about",
        "make test-qgis-matrix (tools/qgis_matrix.py): the plugin's QGIS tests and the install "
        "end-to-end test in Debian 13 root filesystems; last_passed is the date of the last "
        "run that passed.",
    )
    entry = results.setdefault("qgis", {}).get(key, {})
    runs = entry.get("runs", [])
    runs.append(
        {
            "date": outcome["date"],
            "passed": outcome["passed"],
            "cold": outcome["seconds"]["rootfs_build"] > 0,
            "seconds": outcome["seconds"],
        }
    )
    entry.update({k: v for k, v in outcome.items() if k != "date"})
    entry["last_run"] = outcome["date"]
    if outcome["passed"]:
        entry["last_passed"] = outcome["date"]
    entry["runs"] = runs[-10:]
    results["qgis"][key] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _report(key: str, outcome: dict) -> None:
    counts = outcome["tests"]
    log(
        f"QGIS {key}: {'passed' if outcome['passed'] else 'FAILED'} ({counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['errors']} errors, {counts['skipped']} skipped) "
        f"in {outcome['seconds']['total']} s; QGIS {outcome['qgis']}, Python "
        f"{outcome['python']}, numpy {outcome['numpy']}"
    )
    for name in counts["failures"]:
        log(f"  failed: {name}")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: 0 when every chosen QGIS passed."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Needs root (chroot, mount) and mmdebstrap. Root filesystems, the test venv's "
        "wheels and the installed dependency folders stay under $HOME/.cache/sounding-earth "
        "(SOUNDING_EARTH_CACHE moves it); delete rootfs/ there to start from scratch.",
    )
    parser.add_argument(
        "--qgis",
        nargs="+",
        choices=sorted(TARGETS),
        default=sorted(TARGETS),
        help="QGIS releases to test (default: all)",
    )
    parser.add_argument(
        "--tests",
        nargs="+",
        default=list(TESTS),
        help="test files or node ids to run (default: the matrix's set)",
    )
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist processes")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the results file")
    parser.add_argument("--rebuild", action="store_true", help="build the root filesystems again")
    parser.add_argument("--build-only", action="store_true", help="only build root filesystems")
    parser.add_argument(
        "--here",
        metavar="PYTHON",
        help="instead: run the tests on this machine's QGIS with this Python (the project's "
        "venv, e.g. .venv/bin/python) and record them under its QGIS version",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.here:
        outcome = run_here(args.here, args.tests, args.workers)
        key = ".".join(outcome["qgis"].split(".")[:2])
        write_results(args.results, key, outcome)
        _report(key, outcome)
        return 0 if outcome["passed"] else 1
    if os.geteuid() != 0:
        raise SystemExit("the QGIS matrix needs root (chroot and bind mounts): run it with sudo")
    failed = []
    for key in args.qgis:
        target = TARGETS[key]
        if args.rebuild or not rootfs_is_current(target):
            build_rootfs(target)
        if args.build_only:
            continue
        outcome = run_target(target, args.tests, args.workers)
        write_results(args.results, key, outcome)
        _report(key, outcome)
        if not outcome["passed"]:
            failed.append(key)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
