"""How an audiovisual model ranks sounds against images: the distance its model file names.

This project's models (``native`` family) make L2-normalised embeddings and rank
by cosine similarity. A model imported from the paper's code (``reference``
family) ranks as the reference's evaluation does (khdlr/SoundingEarth
``lib/evaluation.py``): the loss function's ``distance_transform`` (the identity
for the triplet loss the paper uses, an L2 normalisation for its contrastive
losses), then the Euclidean distance. The importer records which in the model
file (``extra["reference"]["distance"]``: ``euclidean`` or ``cosine``), and
``evaluate``, ``index``, ``query``, ``soundmap`` and the "Sounds here" panel all
ask :func:`ranking_distance`.

A score is "higher is closer": the cosine similarity, or minus the Euclidean
distance.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

COSINE = "cosine"
EUCLIDEAN = "euclidean"
DISTANCES = (COSINE, EUCLIDEAN)


def ranking_distance(metadata) -> str:
    """The distance a model ranks by: ``cosine`` (native models) or what its metadata records.

    Args:
        metadata: A ``backend.models.modelfile.ModelMetadata``.

    Raises:
        ValueError: The metadata names a distance this project does not know.
    """
    if getattr(metadata, "family", "native") != "reference":
        return COSINE
    recorded = (metadata.extra.get("reference") or {}).get("distance", EUCLIDEAN)
    return check_distance(recorded)


def check_distance(distance: str) -> str:
    """``distance`` if known, else a ValueError naming the known ones."""
    if distance not in DISTANCES:
        raise ValueError(
            f"unknown ranking distance {distance!r}; expected one of {list(DISTANCES)}"
        )
    return distance


def prepare(embeddings: torch.Tensor, distance: str) -> torch.Tensor:
    """Embeddings ``[..., D]`` as the distance compares them (normalised for cosine)."""
    embeddings = embeddings.float()
    return F.normalize(embeddings, dim=-1) if check_distance(distance) == COSINE else embeddings


def pool(embeddings: torch.Tensor, distance: str) -> torch.Tensor:
    """One embedding ``[D]`` for several ``[n, D]`` (a recording's windows, an extent's tiles).

    The mean (the reference's ``SoundMeanPool``), then :func:`prepare`.
    """
    return prepare(embeddings.float().mean(0), distance)


def scores(queries: torch.Tensor, gallery: torch.Tensor, distance: str) -> torch.Tensor:
    """Closeness ``[Q, N]`` of each query ``[Q, D]`` to each gallery item ``[N, D]``; higher is closer.

    Cosine similarity, or minus the Euclidean distance.
    """
    return prepared_scores(prepare(queries, distance), prepare(gallery, distance), distance)


def prepared_scores(queries: torch.Tensor, gallery: torch.Tensor, distance: str) -> torch.Tensor:
    """:func:`scores` of queries and gallery already :func:`prepare`-d (a gallery searched
    many times is prepared once: normalising 100,000 embeddings costs more than a search)."""
    if distance == COSINE:
        return queries @ gallery.T
    return -torch.cdist(queries.double(), gallery.double()).float()


class _UnnormalisedImageEncoder(torch.nn.Module):
    """An image encoder's embeddings before the L2 normalisation of its ``forward``."""

    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder.embed(x)


def ranking_image_encoder(model, distance: str) -> torch.nn.Module:
    """The image encoder of ``model`` whose tile embeddings :func:`pool` and :func:`scores` expect.

    For cosine ranking, the encoder itself (L2-normalised embeddings); for Euclidean
    ranking, its embeddings as the reference gives them (unnormalised).
    """
    encoder = model.image_encoder
    if check_distance(distance) == EUCLIDEAN and hasattr(encoder, "embed"):
        return _UnnormalisedImageEncoder(encoder)
    return encoder
