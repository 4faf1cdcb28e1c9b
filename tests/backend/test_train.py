"""Pretraining: the run folder, resume after SIGKILL, DDP on two Gloo ranks, and errors."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from backend.checkpoint import latest_checkpoint, load_checkpoint, prune_checkpoints
from backend.distributed import DistributedContext
from backend.models.modelfile import load_audiovisual_model
from backend.train import (
    PretrainConfig,
    encoder_resolution_m,
    epoch_order,
    model_metadata,
    pretrain,
    rank_indices,
)
from tests.backend.data.fake_soundingearth import write_fake_soundingearth

ROOT = Path(__file__).resolve().parents[2]
# one checkpoint is all a resume needs (each holds the weights and Adam's two moments)
TINY = dict(
    batch_size=8, image_size=32, embed_dim=16, workers=0, seed=3, lr=2e-3, keep_checkpoints=1
)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """72 pairs (about 50 train, 7 val) with precomputed spectrograms and small tiles."""
    root = tmp_path_factory.mktemp("pairs")
    write_fake_soundingearth(
        root, n=72, seed=1, with_audio=False, with_spectrograms=True, image_px=96
    )
    return root


@pytest.fixture(autouse=True)
def one_thread():
    """Torch on one thread here, as in this module's CLI runs (``OMP_NUM_THREADS=1``).

    Batches of eight 32 px tiles gain little from a second thread, and on a busy
    machine waiting threads spin: the in-process runs took several times longer.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT), TQDM_DISABLE="1")
    return env


def _cli(data: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "backend", "pretrain", "--data", str(data), "--out", str(out),
        "--batch-size", "8", "--image-size", "32", "--embed-dim", "16", "--workers", "0",
        "--seed", "3", "--lr", "2e-3",
        # one checkpoint is all a resume needs (two runs at 264 MB a checkpoint filled 1.2 GB)
        "--keep-checkpoints", "1", *extra,
    ]  # fmt: skip


def test_pretrain_writes_a_complete_run_folder(tiny_data: Path, tmp_path: Path):
    out = tmp_path / "run"
    torch.manual_seed(3)
    # two steps an epoch: every parameter moves, and the folder is the same
    config = PretrainConfig(
        data=str(tiny_data),
        out=str(out),
        epochs=2,
        max_steps_per_epoch=2,
        **TINY,  # keep_checkpoints=1
    )
    result = pretrain(config)
    for name in ("config.json", "model.safetensors", "metrics.csv", "curves.png", "skipped.csv"):
        assert (out / name).is_file(), name
    # only the newest checkpoint is kept (--keep-checkpoints 1)
    assert [p.name for p in sorted((out / "checkpoints").iterdir())] == ["epoch-0002.safetensors"]
    with (out / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["0", "1", "2"]  # epoch 0 = the untrained model
    assert float(rows[0]["val_i2s_median_rank"]) >= 1
    assert all(float(row["train_loss"]) > 0 for row in rows[1:])
    assert result.metrics[-1]["global_batch"] == 8

    model, metadata = load_audiovisual_model(out / "model.safetensors")
    assert metadata.kind == "audiovisual" and metadata.embed_dim == 16 and metadata.tile_px == 32
    assert metadata.provenance["epochs_completed"] == 2
    # training changed the weights: compare with a fresh model built from the same seed
    from backend.models.encoders import AudiovisualModel

    torch.manual_seed(3)
    untrained = AudiovisualModel("resnet18", "resnet18", 16)
    changed = [
        name
        for name, value in model.state_dict().items()
        if value.dtype.is_floating_point and not torch.equal(value, untrained.state_dict()[name])
    ]
    assert len(changed) > 50
    # checkpoints are safetensors carrying the optimizer state; nothing is pickled
    state = load_checkpoint(latest_checkpoint(out / "checkpoints"))
    assert state["epoch"] == 2 and state["optimizer"]["state"]


def test_a_second_run_into_the_same_folder_is_refused(tiny_data: Path, tmp_path: Path):
    out = tmp_path / "run"
    pretrain(
        PretrainConfig(data=str(tiny_data), out=str(out), epochs=1, max_steps_per_epoch=1, **TINY)
    )
    with pytest.raises(ValueError, match="--resume"):
        pretrain(PretrainConfig(data=str(tiny_data), out=str(out), epochs=1, **TINY))


def test_bad_settings_are_named(tiny_data: Path, tmp_path: Path):
    with pytest.raises(ValueError, match="--loss"):
        pretrain(PretrainConfig(data=str(tiny_data), out=str(tmp_path / "a"), loss="hinge"))
    with pytest.raises(ValueError, match="--batch-size"):
        pretrain(
            PretrainConfig(data=str(tiny_data), out=str(tmp_path / "b"), batch_size=500, workers=0)
        )


def test_infonce_trains(tiny_data: Path, tmp_path: Path):
    result = pretrain(
        PretrainConfig(
            data=str(tiny_data),
            out=str(tmp_path / "r"),
            epochs=1,
            loss="infonce",
            max_steps_per_epoch=2,
            **TINY,
        )
    )
    assert result.final_loss > 0 and result.final_loss == result.final_loss


def test_rank_indices_split_each_global_batch_between_ranks():
    order = epoch_order(40, seed=1, epoch=2)
    assert sorted(order) == list(range(40)) and order != list(range(40))
    assert order == epoch_order(40, seed=1, epoch=2) != epoch_order(40, seed=1, epoch=3)
    ranks = [rank_indices(order, 4, DistributedContext(rank=r, world_size=2)) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1]) == 20  # 40 // 8 = 5 global batches of 8, 4 each
    for step in range(5):
        global_batch = ranks[0][step * 4 : step * 4 + 4] + ranks[1][step * 4 : step * 4 + 4]
        assert global_batch == order[step * 8 : step * 8 + 8]


def _kill_in_epoch_2_then_resume(data: Path, killed: Path) -> None:
    """Run 3 epochs into ``killed``, SIGKILL it in the second, resume it to the end."""
    process = subprocess.Popen(
        _cli(data, killed, "--epochs", "3"),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    first = killed / "checkpoints" / "epoch-0001.safetensors"
    deadline = time.monotonic() + 300
    while not first.exists():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)  # well into the second epoch (an epoch takes several seconds)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "checkpoints" / "epoch-0002.safetensors").exists(), "killed too late"
    assert not list((killed / "checkpoints").glob("*.partial*"))

    resumed = subprocess.run(
        _cli(data, killed, "--epochs", "3", "--resume"),
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr and "after epoch 1" in resumed.stderr


@pytest.mark.slow
def test_resume_after_sigkill_gives_the_uninterrupted_weights(tiny_data: Path, tmp_path: Path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    # the uninterrupted run goes on beside the killed and resumed ones: each run uses one
    # thread, so on two cores they overlap; they share nothing but the data folder
    with (tmp_path / "straight.log").open("wb") as log:
        uninterrupted = subprocess.Popen(
            _cli(tiny_data, straight, "--epochs", "3"),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            _kill_in_epoch_2_then_resume(tiny_data, killed)
            uninterrupted.wait(timeout=600)
        finally:
            if uninterrupted.poll() is None:
                uninterrupted.kill()
                uninterrupted.wait()
    assert uninterrupted.returncode == 0, (tmp_path / "straight.log").read_text()[-3000:]

    a = load_file(straight / "model.safetensors")
    b = load_file(killed / "model.safetensors")
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert different == []
    with (killed / "metrics.csv").open() as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["0", "1", "2", "3"]


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, deepest first (Linux's /proc; empty elsewhere)."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found = _descendants(child) + [child] + found
    return found


def _run_showing_stacks_on_hang(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run ``command``; if it hangs, fail with every process's Python stacks.

    The processes run with Python's fault handler on; SIGABRT makes each one print
    all its threads' stacks to the captured stderr before it dies, so a hang in
    CI says where it was (a worker in a collective, the launcher waiting, teardown).
    """
    env = _env() | {"PYTHONFAULTHANDLER": "1"}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # all at once, before the launcher can react to a worker's death by killing the rest
        for pid in [process.pid, *_descendants(process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGABRT)
        time.sleep(2)
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(
            f"{command[2:6]} did not finish in {timeout} s; the stacks of its processes:\n"
            f"{stderr[-20000:]}\nstdout:\n{stdout[-2000:]}"
        )
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.mark.slow
def test_two_gloo_ranks_train_in_step_on_the_global_batch(tiny_data: Path, tmp_path: Path):
    out = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "backend", "pretrain", "--data", str(tiny_data), "--out", str(out),
        "--batch-size", "4", "--image-size", "32", "--embed-dim", "16", "--workers", "0",
        "--device", "cpu", "--epochs", "1", "--max-steps-per-epoch", "3",
    ]  # fmt: skip
    done = _run_showing_stacks_on_hang(command, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = json.loads((out / "ranks.json").read_text())
    assert [r["rank"] for r in ranks] == [0, 1]
    assert ranks[0]["weights_sha256"] == ranks[1]["weights_sha256"]
    # each rank computed the loss over the gathered global batch, so the values agree;
    # a loss over each rank's local half would differ between ranks
    assert len(ranks[0]["first_losses"]) == 3
    assert ranks[0]["first_losses"] == pytest.approx(ranks[1]["first_losses"], abs=1e-6)
    with (out / "metrics.csv").open() as handle:
        last = list(csv.DictReader(handle))[-1]
    assert int(float(last["global_batch"])) == 8 and int(float(last["pairs_seen"])) == 24


def test_prune_checkpoints_keeps_the_newest(tmp_path: Path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for name in ("epoch-0001.safetensors", "epoch-0002.safetensors", "epoch-0010.safetensors"):
        (folder / name).write_bytes(b"x")
    (folder / "epoch-0011.safetensors.partial").write_bytes(b"x")  # not complete: not counted
    assert prune_checkpoints(folder, 0) == []  # 0 keeps all
    removed = prune_checkpoints(folder, 2)
    assert [p.name for p in removed] == ["epoch-0001.safetensors"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "epoch-0002.safetensors",
        "epoch-0010.safetensors",
        "epoch-0011.safetensors.partial",
    ]


def test_model_file_records_the_ground_resolution_the_encoder_saw(tmp_path: Path):
    data = tmp_path / "pairs"
    data.mkdir()
    config = PretrainConfig(data=str(data), out=str(tmp_path / "run"), image_size=96)
    assert model_metadata(config, {}).resolution_m is None  # no dataset.json: unknown
    # 256 px tiles at 0.5 m: the centre 3/4 (192 px = 96 m) seen at 96 px -> 1 m per pixel
    (data / "dataset.json").write_text(json.dumps({"tile_resolution_m": 0.5, "tile_px": 256}))
    assert model_metadata(config, {}).resolution_m == pytest.approx(1.0)
    # tiles larger than the 512 px context: only its centre 384 px are seen
    (data / "dataset.json").write_text(json.dumps({"tile_resolution_m": 0.5, "tile_px": 1024}))
    assert model_metadata(config, {}).resolution_m == pytest.approx(2.0)
    assert encoder_resolution_m(0.5, None, 192) == pytest.approx(1.0)


class _CancelAtEpoch:
    """Cancels a run when it reaches ``epoch`` (as a user pressing Cancel would)."""

    def __init__(self, epoch: int) -> None:
        self.epoch, self.seen = epoch, ""

    def progress(self, fraction: float, message: str = "") -> None:
        self.seen = message

    def is_cancelled(self) -> bool:
        return self.seen.startswith(f"epoch {self.epoch}/")


@pytest.mark.slow
def test_a_file_that_fails_only_while_training_is_replaced_counted_and_resumable(
    tmp_path: Path,
):
    from backend.audio import N_MELS
    from backend.progress import Cancelled

    data = tmp_path / "pairs"
    write_fake_soundingearth(
        data, n=24, seed=4, with_audio=False, with_spectrograms=True, image_px=48
    )
    # spectrogram images the scan can decode but that are no spectrograms (64 rows, not
    # 128): they fail inside the loader; three of the pairs the first epoch's three steps
    # of four draw
    from PIL import Image

    from backend.data.soundingearth import scan_pairs

    train = scan_pairs(data, split="train").pairs
    order = epoch_order(len(train), seed=TINY["seed"], epoch=1)
    broken = [train[i].recording.key for i in order[:12:4]]
    for key in broken:
        Image.fromarray(np.zeros((N_MELS // 2, 400), np.uint8)).save(
            data / "spectrograms" / f"{key}.jpg"
        )
    tiny = dict(TINY, batch_size=4, max_steps_per_epoch=3)

    straight = pretrain(PretrainConfig(data=str(data), out=str(tmp_path / "a"), epochs=2, **tiny))
    assert straight.skipped_summary.startswith("skipped 3 of ")
    assert straight.skipped_summary.endswith(": 3 unreadable audio")
    with (tmp_path / "a" / "skipped.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(int(r["key"]) for r in rows) == sorted(broken)
    assert all(r["path"].endswith(".jpg") for r in rows)
    assert [m["steps"] for m in straight.metrics[1:]] == [3, 3]  # every batch was completed
    # its model file is compared below; its checkpoint (260 MB) is not read again
    shutil.rmtree(tmp_path / "a" / "checkpoints")

    config = PretrainConfig(data=str(data), out=str(tmp_path / "b"), epochs=2, **tiny)
    with pytest.raises(Cancelled):
        pretrain(config, progress=_CancelAtEpoch(2))
    resumed = pretrain(config, resume=True)
    assert resumed.skipped_summary == straight.skipped_summary
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(resumed.model_path)
    assert [k for k in a if not torch.equal(a[k], b[k])] == []


class _Losses:
    """A progress callback keeping the loss of every step."""

    def __init__(self) -> None:
        self.losses: list[float] = []

    def progress(self, fraction: float, message: str = "") -> None:
        self.losses.append(float(message.rsplit("loss ", 1)[1]))

    def is_cancelled(self) -> bool:
        return False


def test_the_fast_defaults_train_as_the_plain_fp32_path(tiny_data: Path, tmp_path: Path):
    """The fused AdamW step (opt-in) and channels_last (a CPU default) change speed, not training.

    One step is compared: Adam divides by the gradient's magnitude, which turns
    last-bit differences of near-zero gradients into weight changes of up to 2 x lr,
    so longer runs drift apart as any two summation orders do.
    """
    from backend.device import fused_optimizer

    # off by default: a killed and resumed run must end with the uninterrupted weights
    assert fused_optimizer(torch.device("cpu")) == {}
    runs = {}
    for name, channels_last, fused in (
        ("default", None, True),
        ("unfused", None, False),
        ("plain", False, False),
    ):
        losses = _Losses()
        config = PretrainConfig(
            data=str(tiny_data),
            out=str(tmp_path / name),
            epochs=1,
            max_steps_per_epoch=1,
            precision="fp32",
            channels_last=channels_last,
            fused_optimizer=fused,
            **TINY,
        )
        result = pretrain(config, progress=losses)
        runs[name] = (losses.losses, load_file(str(result.model_path)))
        shutil.rmtree(tmp_path / name)  # the weights are in memory: keep the disk small
    assert runs["default"][0] == runs["unfused"][0]
    for key, value in runs["unfused"][1].items():
        assert torch.allclose(runs["default"][1][key], value, atol=1e-6), key
    # channels_last sums convolutions in another order: the same loss; Adam's first
    # update (about lr x the gradient's sign) already differs where a gradient is ~0
    assert runs["default"][0] == pytest.approx(runs["plain"][0], abs=1e-4)
