"""A run killed with SIGKILL leaves its output whole or absent, and the next run leaves no litter.

Each command runs as ``python -m backend`` in a subprocess and is killed at a
seeded random moment after its first partial file appears (so mostly while it is
writing); then the output is checked, the command is run again to the end (in this
process, through the same CLI entry point: a fresh interpreter would only add the
seconds of importing torch), and no partial file, staged folder or backup may remain
anywhere in the output folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from backend.checkpoint import latest_checkpoint, load_checkpoint
from backend.index import SoundIndex
from backend.models.modelfile import load_audiovisual_model
from backend.raster.job import verify_raster
from tests.backend.data.fake_soundingearth import write_fake_soundingearth
from tests.backend.raster.fake_rasters import (
    save_tiny_audiovisual,
    save_tiny_classifier,
    smooth_image,
    write_raster,
)

ROOT = Path(__file__).resolve().parents[2]
#: the kill comes this long (seconds, uniformly drawn) after the first partial file appears
KILL_WITHIN_S = 0.6
#: a run that has not written a partial file by then is killed anyway
WAIT_FOR_PARTIAL_S = 120.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning"),
]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT), TQDM_DISABLE="1")
    return env


def _litter(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob(".*")
        if ".partial" in p.name or ".backup" in p.name
    )


def _run_and_kill(args: list[str], watch: Path, rng: np.random.Generator) -> tuple[int, float]:
    """Start the command, SIGKILL it a random moment after a partial file appears in ``watch``."""
    child = subprocess.Popen(
        [sys.executable, "-m", "backend", *args],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    delay = float(rng.uniform(0.0, KILL_WITHIN_S))
    deadline = time.monotonic() + WAIT_FOR_PARTIAL_S
    while child.poll() is None and time.monotonic() < deadline and not _litter(watch):
        time.sleep(0.01)
    time.sleep(delay)
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)
    _, err = child.communicate(timeout=60)
    assert child.returncode in (0, -signal.SIGKILL), err.decode()[-2000:]
    return child.returncode, delay


def _run(args: list[str], capsys: pytest.CaptureFixture) -> None:
    """Run the command to the end in this process (``python -m backend`` calls the same main).

    On one thread, as the killed subprocess ran (``OMP_NUM_THREADS=1``).
    """
    import torch

    from backend.cli import main

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        code = main(args)
    finally:
        torch.set_num_threads(threads)
    assert code == 0, capsys.readouterr().err[-3000:]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Model files, a raster, a recording and a SoundingEarth folder (with spectrograms)."""
    root = tmp_path_factory.mktemp("inputs")
    rate = 16000
    t = np.arange(3 * rate) / rate
    soundfile.write(root / "q.wav", (0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), rate)
    write_fake_soundingearth(
        root / "pairs", n=48, seed=1, with_audio=True, with_spectrograms=True, image_px=96
    )
    return {
        "classifier": save_tiny_classifier(root / "classifier.safetensors"),
        "audiovisual": save_tiny_audiovisual(root / "audiovisual.safetensors"),
        "raster": write_raster(
            root / "utm.tif", smooth_image(np.random.default_rng(0), 3, 192, 256)
        ),
        "pairs": root / "pairs",
    }


def _check_raster(path: Path, count: int) -> None:
    import rasterio

    with rasterio.open(path) as src:
        width, height, dtype, found = src.width, src.height, src.dtypes[0], src.count
    assert found == count
    verify_raster(path, width, height, count, dtype)


def _check_run_folder(run: Path) -> None:
    newest = latest_checkpoint(run / "checkpoints")
    if newest is not None:
        assert load_checkpoint(newest)["epoch"] >= 1
    if (run / "model.safetensors").exists():
        load_audiovisual_model(run / "model.safetensors")


@pytest.mark.parametrize("command", ["classify", "embed", "index", "pretrain"])
def test_killed_run_leaves_a_whole_output_or_none_and_the_next_run_no_litter(
    tmp_path: Path, inputs, command: str, capsys: pytest.CaptureFixture
) -> None:
    rng = np.random.default_rng(["classify", "embed", "index", "pretrain"].index(command))
    folder = tmp_path / "out"
    folder.mkdir()
    raster = ["--raster", str(inputs["raster"]), "--device", "cpu", "--batch", "4"]
    if command == "classify":
        out = folder / "classes.tif"
        args = ["classify", *raster, "--model", str(inputs["classifier"]), "--stride", "16"]
        args += ["--probabilities", "--out", str(out)]

        def check() -> None:
            _check_raster(out, 1)
            _check_raster(folder / "classes_probabilities.tif", 3)
            assert (folder / "classes.qml").is_file()

    elif command == "embed":
        out = folder / "emb.tif"
        args = ["embed", *raster, "--model", str(inputs["audiovisual"]), "--stride", "16"]
        args += ["--out", str(out)]

        def check() -> None:
            _check_raster(out, 16)

    elif command == "index":
        out = folder / "index"
        args = ["index", "--data", str(inputs["pairs"]), "--model", str(inputs["audiovisual"])]
        args += ["--device", "cpu", "--workers", "1", "--out", str(out)]

        def check() -> None:
            assert len(SoundIndex.load(out).keys) == 48

    else:
        out = folder / "run"
        args = ["pretrain", "--data", str(inputs["pairs"]), "--out", str(out)]
        args += ["--batch-size", "8", "--image-size", "32", "--embed-dim", "16"]
        args += ["--workers", "0", "--seed", "3", "--epochs", "2", "--device", "cpu"]
        # plumbing, not learning: one step per epoch still writes a checkpoint per epoch;
        # one kept is all a resume needs (each is 260 MB: the weights and Adam's moments)
        args += ["--max-steps-per-epoch", "1", "--keep-checkpoints", "1"]

        def check() -> None:
            _check_run_folder(out)

    # pretraining: kill while a checkpoint is being written
    watch = out / "checkpoints" if command == "pretrain" else folder
    code, delay = _run_and_kill(args, watch, rng)
    if out.exists():  # whole, or not there at all
        check()
    if command == "pretrain":
        _check_run_folder(out)
        if latest_checkpoint(out / "checkpoints") is not None:
            args = [*args, "--resume"]
    _run(args, capsys)
    check()
    assert _litter(folder) == [], f"{command} (killed after +{delay:.2f} s, exit {code})"
