"""Outputs appear whole or not at all: partial names, the sweep of killed writers, a full disk."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from backend.atomic import (
    OutputError,
    atomic_path,
    atomic_write_text,
    remove_stale_partials,
    staged_outputs,
    temporary_sibling,
)
from backend.cli import main
from tests.backend.data.fake_soundingearth import write_fake_soundingearth
from tests.backend.raster.fake_rasters import smooth_image, write_raster
from tests.full_disk import MODES, full_folder


def _dead_pid() -> int:
    """The PID of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_partial_name_carries_the_output_name_and_the_pid(tmp_path: Path) -> None:
    tmp = temporary_sibling(tmp_path / "classes.tif")
    assert tmp.parent == tmp_path
    assert tmp.name.startswith(f".classes.tif.{os.getpid()}-") and tmp.name.endswith(".partial.tif")
    assert temporary_sibling(tmp_path / "classes.tif") != tmp


def test_sweep_removes_what_dead_writers_left_and_nothing_else(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getppid()
    stale = [
        tmp_path / f".classes.tif.{dead}-1.partial.tif",
        tmp_path / f".classes.tif.{dead}-1.partial.tif.ovr",
        tmp_path / f".classes.qml.{dead}-2.partial.qml",
        tmp_path / f".emb.tif.{os.getpid()}-999999.partial.tif",  # ours, no longer in use
    ]
    kept = [
        tmp_path / f".classes.tif.{alive}-1.partial.tif",  # a running writer's
        tmp_path / "classes.tif",
        tmp_path / ".hidden.txt",
        tmp_path / ".young.tif.0123abcd.partial.tif",  # an earlier version's, young
    ]
    old_legacy = tmp_path / ".old.tif.89abcdef.partial.tif"
    for path in [*stale, *kept, old_legacy]:
        path.write_bytes(b"x")
    staged_folder = tmp_path / f".index.{dead}-3.partial"
    (staged_folder / "sub").mkdir(parents=True)
    hour_ago = time.time() - 2 * 3600
    os.utime(old_legacy, (hour_ago, hour_ago))
    in_use = temporary_sibling(tmp_path / "live.tif")
    in_use.write_bytes(b"x")

    removed = remove_stale_partials(tmp_path)

    assert sorted(removed) == sorted([*stale, staged_folder, old_legacy])
    assert all(p.exists() for p in [*kept, in_use])
    assert not any(p.exists() for p in [*stale, staged_folder, old_legacy])


def test_sweep_restores_a_backup_whose_output_is_missing(tmp_path: Path) -> None:
    dead = _dead_pid()
    backup = tmp_path / f".index.{dead}-1.backup"
    backup.mkdir()
    (backup / "embeddings.safetensors").write_bytes(b"x")
    other = tmp_path / f".other.{dead}-2.backup"
    other.mkdir()
    (tmp_path / "other").mkdir()
    remove_stale_partials(tmp_path)
    assert (tmp_path / "index" / "embeddings.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index", "other"]


def test_a_new_write_sweeps_a_killed_writers_partial(tmp_path: Path) -> None:
    left = tmp_path / f".report.json.{_dead_pid()}-1.partial.json"
    left.write_text("{")
    atomic_write_text(tmp_path / "report.json", "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_staged_outputs_appear_together_or_not_at_all(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old")

    def refuse(tmp: Path) -> None:
        raise OutputError(f"{tmp} is incomplete")

    with pytest.raises(OutputError, match="incomplete"), staged_outputs() as staged:
        staged.write_text(tmp_path / "a.txt", "new")
        staged.path(tmp_path / "b.tif", refuse).write_bytes(b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert (tmp_path / "a.txt").read_text() == "old"

    with staged_outputs() as staged:
        staged.write_text(tmp_path / "a.txt", "new")
        staged.write_text(tmp_path / "b.txt", "b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_cancellation_is_not_blamed_on_the_disk(tmp_path: Path) -> None:
    from backend.progress import Cancelled

    with pytest.raises(Cancelled), atomic_path(tmp_path / "x.bin") as tmp:
        tmp.write_bytes(b"x")
        raise Cancelled()
    assert list(tmp_path.iterdir()) == []


# -- a full disk ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """A raster, a recording and a tiny SoundingEarth folder."""
    root = tmp_path_factory.mktemp("inputs")
    rate = 16000
    t = np.arange(3 * rate) / rate
    soundfile.write(root / "q.wav", (0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), rate)
    write_fake_soundingearth(root / "sounds", n=12, image_px=64)
    return {
        "raster": write_raster(
            root / "utm.tif", smooth_image(np.random.default_rng(0), 3, 192, 256)
        ),
        "audio": root / "q.wav",
        "sounds": root / "sounds",
    }


def _command(name: str, inputs: dict[str, Path], models: dict[str, Path], out: Path) -> list[str]:
    raster = ["--raster", str(inputs["raster"]), "--device", "cpu"]
    return {
        "classify": ["classify", *raster, "--model", str(models["classifier"])],
        "embed": ["embed", *raster, "--model", str(models["audiovisual"])],
        "soundmap": [
            "soundmap",
            *raster,
            "--model",
            str(models["audiovisual"]),
            "--audio",
            str(inputs["audio"]),
        ],
        "index": [
            "index",
            "--data",
            str(inputs["sounds"]),
            "--model",
            str(models["audiovisual"]),
            "--device",
            "cpu",
            "--workers",
            "1",
        ],
    }[name] + ["--out", str(out)]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """The raster tests' tiny classifier and audiovisual model files."""
    from tests.backend.raster.fake_rasters import save_tiny_audiovisual, save_tiny_classifier

    root = tmp_path_factory.mktemp("models")
    return {
        "classifier": save_tiny_classifier(root / "classifier.safetensors"),
        "audiovisual": save_tiny_audiovisual(root / "audiovisual.safetensors"),
    }


OUTPUTS = {"classify": "classes.tif", "embed": "emb.tif", "soundmap": "heat.tif", "index": "index"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("command", list(OUTPUTS))
def test_a_full_disk_is_an_error_that_names_the_output_and_leaves_nothing(
    tmp_path: Path, inputs, models, capsys, command: str, mode: str
) -> None:
    with full_folder(tmp_path, mode) as folder:
        out = folder / OUTPUTS[command]
        code = main(_command(command, inputs, models, out))
        left = sorted(p.name for p in folder.iterdir())
    captured = capsys.readouterr()
    assert code == 2, captured.err
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in captured.err, captured.err
    assert "disk is full" in errors[0] and str(out) in errors[0], errors[0]
    assert "wrote" not in captured.out and "indexed" not in captured.out
    assert left == [], f"{command} left {left} on a full disk"


def _limit_file_size(limit: int):
    """For ``preexec_fn``: this file size limit, and write() failing with EFBIG instead of SIGXFSZ."""

    def apply() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(
            resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1])
        )

    return apply


def test_build_pairs_on_a_full_disk_says_so_in_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    """A write error raised by the library itself (``shutil``/PIL/GDAL, before any check of
    ours) is an error naming the output, exit status 2, not a traceback."""
    import rasterio
    from pyproj import Transformer
    from rasterio.transform import from_origin

    side = 200
    with rasterio.open(
        tmp_path / "ortho.tif", "w", driver="GTiff", width=side, height=side, count=3,
        dtype="uint8", crs="EPSG:32633", transform=from_origin(500000, 5000000, 2, 2),
    ) as dst:  # fmt: skip
        dst.write(smooth_image(np.random.default_rng(0), 3, side, side).astype(np.uint8))
    # noise compresses badly: the copy of the recording is far over the limit
    noise = 0.1 * np.random.default_rng(1).standard_normal(16000 * 2)
    soundfile.write(tmp_path / "a.flac", noise, 16000)
    lon, lat = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True).transform(
        500200, 5000000 - 200
    )
    (tmp_path / "points.csv").write_text(f"lon,lat,audio\n{lon},{lat},a.flac\n")
    out = tmp_path / "out" / "pairs"
    argv = ["build-pairs", "--raster", "ortho.tif", "--points", "points.csv"]
    argv += ["--audio-field", "audio", "--out", str(out), "--tile-metres", "200", "--tile-px", "32"]
    # 16 KB: enough for what importing torch writes, not for the 60 KB recording
    done = subprocess.run(
        [sys.executable, "-m", "backend", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_file_size(16384),
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "disk is full" in errors[0] and str(out) in errors[0], errors
    assert not out.exists() and list((tmp_path / "out").iterdir()) == []


def test_an_output_path_that_is_a_folder_is_an_error_and_changes_nothing(
    tmp_path: Path, inputs, models, capsys
) -> None:
    out = tmp_path / "emb.tif"
    (out / "inside").mkdir(parents=True)
    code = main(_command("embed", inputs, models, out))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert f"cannot write {out}: it is a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emb.tif"]
    assert [p.name for p in out.iterdir()] == ["inside"]
