"""The GPU path: a real training run, the raster engine and an imported reference model on CUDA.

Marked ``cuda``: skipped where no CUDA GPU is present (tests/conftest.py), run by
``tools/gpu_check.sh`` on a GPU machine.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

pytestmark = pytest.mark.cuda


@pytest.fixture
def exact_cuda():
    """fp32 convolutions and matmuls without TF32, so CUDA and CPU can be compared closely."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_auto_resolves_to_the_gpu() -> None:
    from backend.device import resolve_device

    assert resolve_device("auto").type == "cuda"


def test_pretrain_runs_on_the_gpu_in_bf16(tmp_path: Path) -> None:
    from backend.models.modelfile import load_audiovisual_model
    from backend.train import PretrainConfig, pretrain
    from tests.backend.data.fake_soundingearth import write_fake_soundingearth

    data = tmp_path / "pairs"
    write_fake_soundingearth(data, n=40, seed=1, with_audio=False, with_spectrograms=True)
    out = tmp_path / "run"
    config = PretrainConfig(
        data=str(data),
        out=str(out),
        epochs=2,
        batch_size=8,
        image_size=32,
        embed_dim=16,
        workers=2,
        seed=3,
        lr=2e-3,
        device="cuda",
    )
    result = pretrain(config)
    with (out / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    losses = [float(row["train_loss"]) for row in rows[1:]]
    assert len(losses) == 2 and all(np.isfinite(losses)) and all(v > 0 for v in losses)
    assert result.metrics[-1]["global_batch"] == 8
    model, metadata = load_audiovisual_model(out / "model.safetensors")
    assert metadata.provenance["epochs_completed"] == 2
    assert next(model.parameters()).device.type == "cpu"  # the file loads anywhere


def test_the_raster_engine_classifies_on_the_gpu_as_on_the_cpu(tmp_path: Path, exact_cuda) -> None:
    from backend.raster.classify import classify_raster
    from tests.backend.raster.fake_rasters import save_tiny_classifier, smooth_image, write_raster

    model = save_tiny_classifier(tmp_path / "cls.safetensors")
    raster = write_raster(tmp_path / "img.tif", smooth_image(np.random.default_rng(0), 3, 256, 256))
    maps = {}
    for device in ("cpu", "cuda"):
        out = tmp_path / f"classes-{device}.tif"
        result = classify_raster(raster, model, out, device=device, precision="fp32")
        assert result.precision == "fp32"
        with rasterio.open(out) as dst:
            maps[device] = dst.read(1)
    agreement = float((maps["cpu"] == maps["cuda"]).mean())
    assert agreement >= 0.99, agreement
    bf16 = classify_raster(raster, model, tmp_path / "classes-auto.tif", device="cuda")
    assert bf16.precision in ("bf16", "fp32")


def test_an_imported_reference_model_embeds_on_the_gpu_as_on_the_cpu(
    tmp_path: Path, exact_cuda
) -> None:
    from backend.models.modelfile import load_audiovisual_model
    from backend.models.reference_import import import_reference_checkpoint
    from tests.backend.models.fake_reference_checkpoint import write_fake_checkpoint

    for arch in ("resnet18", "resnet50"):
        checkpoint = tmp_path / f"{arch}.pt"
        write_fake_checkpoint(checkpoint, image_arch=arch, embed_dim=32, seed=5)
        model_file = tmp_path / f"{arch}.safetensors"
        import_reference_checkpoint(checkpoint, model_file, image_arch=arch)
        generator = torch.Generator().manual_seed(0)
        images = torch.rand(4, 3, 192, 192, generator=generator)
        windows = torch.rand(4, 1, 128, 128, generator=generator)
        embeddings = {}
        for device in ("cpu", "cuda"):
            model, _ = load_audiovisual_model(model_file, device=torch.device(device))
            with torch.inference_mode():
                z_img = model.encode_image(images.to(device)).cpu()
                z_snd = model.encode_audio(windows.to(device)).cpu()
            embeddings[device] = (z_img, z_snd)
        for cpu, gpu in zip(embeddings["cpu"], embeddings["cuda"], strict=True):
            scale = cpu.abs().max()
            assert torch.allclose(gpu, cpu, atol=1e-4 * float(scale), rtol=1e-4), arch
