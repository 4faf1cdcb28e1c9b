"""Every ranking follows the distance the model file names (cosine, or Euclidean for reference models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backend.index import TABLE_COLUMNS, SoundIndex, save_index
from backend.models.modelfile import ModelFileError, ModelMetadata
from backend.models.reference_import import loss_distance, reference_conventions
from backend.ranking import COSINE, EUCLIDEAN, pool, ranking_distance, scores

#: unnormalised embeddings on which the two distances disagree: item 0 points the query's
#: way but lies far out, item 1 lies near the query at an angle
GALLERY = torch.tensor([[10.0, 0.0], [0.9, 0.5], [-1.0, 0.2]])
QUERY = torch.tensor([1.0, 0.0])


def test_cosine_and_euclidean_orders_differ_on_unnormalised_embeddings() -> None:
    by_cosine = scores(QUERY[None], GALLERY, COSINE)[0].argsort(descending=True).tolist()
    by_euclid = scores(QUERY[None], GALLERY, EUCLIDEAN)[0].argsort(descending=True).tolist()
    assert by_cosine == [0, 1, 2]
    assert by_euclid == [1, 2, 0]
    expected = -torch.linalg.norm(GALLERY - QUERY, dim=1)
    assert torch.allclose(scores(QUERY[None], GALLERY, EUCLIDEAN)[0], expected)
    # pooling keeps the scale for Euclidean ranking and renormalises for cosine
    assert torch.allclose(pool(GALLERY[:2], EUCLIDEAN), torch.tensor([5.45, 0.25]))
    assert torch.isclose(pool(GALLERY[:2], COSINE).norm(), torch.tensor(1.0))


def _index(folder, distance: str) -> SoundIndex:
    table = [[str(k), f"sound {k}", "", "", "0.0", "0.0", ""] for k in range(3)]
    assert len(table[0]) == len(TABLE_COLUMNS)
    info = {"model": "m.safetensors", "distance": distance}
    save_index(folder, GALLERY, [0, 1, 2], np.zeros((3, 2)), table, info)
    return SoundIndex.load(folder)


def test_an_index_ranks_by_the_distance_in_its_header(tmp_path) -> None:
    euclidean = _index(tmp_path / "euclidean", EUCLIDEAN)
    cosine = _index(tmp_path / "cosine", COSINE)
    assert euclidean.distance == EUCLIDEAN and cosine.distance == COSINE
    assert [m.key for m in euclidean.search(QUERY, top=3)] == [1, 2, 0]
    assert [m.key for m in cosine.search(QUERY, top=3)] == [0, 1, 2]
    nearest = euclidean.search(QUERY, top=1)[0]
    assert nearest.similarity == pytest.approx(-float(np.hypot(0.1, 0.5)), abs=1e-6)


def test_the_model_file_says_which_distance() -> None:
    assert ranking_distance(ModelMetadata(kind="audiovisual", audio_arch="resnet18")) == COSINE
    for loss, distance in (("TripletLoss", EUCLIDEAN), ("SymmetricCL", COSINE)):
        meta = ModelMetadata(
            kind="audiovisual",
            audio_arch="resnet18",
            family="reference",
            extra={"reference": reference_conventions(loss)},
        )
        assert ranking_distance(meta) == distance
    with pytest.raises(ModelFileError, match="DeepHashingLoss"):
        loss_distance("DeepHashingLoss")
