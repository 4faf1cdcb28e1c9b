"""bench/reference_recipe.py: the reference's training step that `make bench` times ours against."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from backend.losses import batch_triplet_loss
from bench import reference_recipe as recipe
from bench.pretrain_bench import prepare_data


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> Path:
    return prepare_data(40, tmp_path_factory.mktemp("pairs") / "se", image_px=520)


def test_augmentation_gives_the_reference_input_and_is_seeded() -> None:
    tile = np.random.default_rng(0).integers(0, 256, (600, 600, 3), dtype=np.uint8)
    first = recipe.augment(tile, np.random.default_rng(1))
    assert first.shape == (192, 192, 3) and first.dtype == np.float32
    np.testing.assert_array_equal(first, recipe.augment(tile, np.random.default_rng(1)))
    assert not np.array_equal(first, recipe.augment(tile, np.random.default_rng(2)))
    # ImageNet-normalised pixels: 0..255 maps into about -2.1..2.6
    assert -2.2 < first.min() and first.max() < 2.7


def test_unrotated_and_unstretched_geometry_leaves_the_image() -> None:
    image = np.random.default_rng(0).integers(0, 256, (192, 192, 3), dtype=np.uint8)
    np.testing.assert_array_equal(recipe._rotate(image, 0.0), image)
    # a reflect-101 border: a coordinate one past the edge reads the pixel before it
    weights = recipe._linear_weights(np.array([-1.0, 0.0, 191.0, 192.0]), 192)
    assert weights.sum(1).tolist() == [1.0, 1.0, 1.0, 1.0]
    assert weights[0, 1] == 1.0 and weights[3, 190] == 1.0


def test_the_recipe_loss_is_the_references_triplet_loss() -> None:
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(8, 16, generator=generator), torch.randn(8, 16, generator=generator)
    expected = batch_triplet_loss(a, b, 1.0, "all_pairs")
    assert torch.allclose(recipe.triplet_loss(a, b), expected, atol=1e-6)


def test_loader_yields_reference_batches_and_a_step_trains(pairs: Path) -> None:
    keys = recipe.train_keys(pairs)
    assert keys and all(key % 10 not in (2, 5, 7) for key in keys)
    dataset = recipe.RecipeDataset(pairs, keys)
    key, image, window = dataset[0]
    assert key == keys[0] and image.shape == (3, 192, 192) and window.shape == (1, 128, 128)
    # spectrogram pixels mapped to the reference's range exp(-1.5)..exp(0.5)
    assert window.min() >= recipe.SPECTROGRAM_LOW - 1e-6
    assert window.max() <= recipe.SPECTROGRAM_HIGH + 1e-6
    _, images, audio = recipe.collate([dataset[i] for i in range(4)])
    assert images.shape == (4, 3, 192, 192) and audio.shape == (4, 1, 128, 128)
    torch.manual_seed(0)
    model = recipe.RecipeModel()
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.LEARNING_RATE)
    before = model.image.conv1.weight.detach().clone()
    z_img, z_snd = model(images, audio)
    assert z_img.shape == z_snd.shape == (4, recipe.EMBED_DIM)
    loss = recipe.triplet_loss(z_img, z_snd)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss) and not torch.equal(before, model.image.conv1.weight)
