"""Cross-modal retrieval metrics: recall at k, median rank and geographic distance at k.

Two conventions are computed. ``retrieval_metrics`` / ``bidirectional_metrics`` are
this project's top-k convention: ``R@k`` is the share of queries whose true match is
among the ``k`` nearest. ``paper_metrics`` follows the evaluation of the paper's
reference code (khdlr/SoundingEarth, ``lib/evaluation.py``) so figures can be set
beside the paper's: 1-based ranks (tied items share their average rank), ``R@k``
counted as ``rank < k`` (so its R@100 counts ranks 1-99), and sound -> image
distances divided by each image's mean distance to all sounds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

#: Mean Earth radius (IUGG), kilometres.
EARTH_RADIUS_KM = 6371.0088

DEFAULT_KS: tuple[int, ...] = (1, 5, 10, 100, 500, 1000)
DEFAULT_FRACTIONS: tuple[float, ...] = (0.01, 0.05, 0.10)
#: Cut-offs of the paper convention (R@1 is always 0 there: ranks start at 1).
PAPER_KS: tuple[int, ...] = (5, 10, 100, 500, 1000)
#: Earth radius of the reference evaluation's haversine, kilometres.
PAPER_EARTH_RADIUS_KM = 6371.0


def haversine_km(
    lonlat_a: np.ndarray | torch.Tensor,
    lonlat_b: np.ndarray | torch.Tensor,
    radius_km: float = EARTH_RADIUS_KM,
) -> np.ndarray | torch.Tensor:
    """Great-circle distance in kilometres between points given as (longitude, latitude) degrees.

    Args:
        lonlat_a: ``[..., 2]`` points.
        lonlat_b: ``[..., 2]`` points, broadcastable against ``lonlat_a``.
        radius_km: Earth radius (the reference evaluation uses 6371 km).

    Returns:
        ``[...]`` distances: a tensor if either input is a tensor, else a numpy array.
    """
    if isinstance(lonlat_a, torch.Tensor) or isinstance(lonlat_b, torch.Tensor):
        xp, a, b = torch, torch.as_tensor(lonlat_a), torch.as_tensor(lonlat_b)
        a, b = a.to(torch.float64), b.to(device=a.device, dtype=torch.float64)
    else:
        xp, a, b = np, np.asarray(lonlat_a, np.float64), np.asarray(lonlat_b, np.float64)
    lon1, lat1 = xp.deg2rad(a[..., 0]), xp.deg2rad(a[..., 1])
    lon2, lat2 = xp.deg2rad(b[..., 0]), xp.deg2rad(b[..., 1])
    h = (
        xp.sin((lat2 - lat1) / 2) ** 2
        + xp.cos(lat1) * xp.cos(lat2) * xp.sin((lon2 - lon1) / 2) ** 2
    )
    # Clip: rounding can push h a hair outside [0, 1] for antipodal or equal points.
    h = xp.clip(h, 0.0, 1.0)
    return 2 * radius_km * xp.arcsin(xp.sqrt(h))


def _as_float64(x: np.ndarray | torch.Tensor, name: str, device: torch.device | None = None):
    t = torch.as_tensor(x).detach()
    if t.ndim != 2:
        raise ValueError(f"{name}: expected [N, D] embeddings, got shape {list(t.shape)}")
    return t.to(device=device if device is not None else t.device, dtype=torch.float64)


def _fraction_key(fraction: float) -> str:
    return f"R@{fraction * 100:g}%"


def _fraction_k(fraction: float, n: int) -> int:
    # round() first: 0.05 * 100 is 5.000000000000001 in floating point.
    return max(1, math.ceil(round(fraction * n, 9)))


def _top_indices(d2: torch.Tensor, kmax: int) -> torch.Tensor:
    """The ``kmax`` nearest gallery indices per row, ordered by (distance, index)."""
    values, idx = torch.topk(d2, kmax, dim=1, largest=False, sorted=True)
    # topk picks arbitrarily among equal distances; make the order (distance, index).
    by_index = torch.argsort(idx, dim=1)
    idx, values = idx.gather(1, by_index), values.gather(1, by_index)
    by_value = torch.argsort(values, dim=1, stable=True)
    idx, values = idx.gather(1, by_value), values.gather(1, by_value)
    # Rows where ties straddle the cut: the chosen set itself may be arbitrary, so sort
    # those (rare) rows in full; a stable sort orders ties by gallery index.
    boundary = values[:, -1:]
    straddling = (d2 <= boundary).sum(1) > kmax
    if straddling.any():
        rows = straddling.nonzero().squeeze(1)
        full = torch.sort(d2[rows], dim=1, stable=True).indices[:, :kmax]
        idx[rows] = full
    return idx


def retrieval_metrics(
    query: np.ndarray | torch.Tensor,
    gallery: np.ndarray | torch.Tensor,
    lonlat: np.ndarray | torch.Tensor | None = None,
    ks: Sequence[int] = DEFAULT_KS,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    chunk_size: int = 1024,
) -> dict[str, float]:
    """Retrieval metrics where query ``i``'s true match is gallery item ``i``.

    Gallery items are ranked by Euclidean distance to the query (the same order as
    cosine similarity for L2-normalised embeddings). ``rank_i`` counts the gallery items
    strictly closer than the true match (0-based; ties are not closer). Queries are
    processed ``chunk_size`` at a time, so memory stays at ``chunk_size x N``. The
    computation runs in float64 on the query's device.

    Args:
        query: ``[N, D]`` query embeddings.
        gallery: ``[N, D]`` gallery embeddings.
        lonlat: ``[N, 2]`` (longitude, latitude) in degrees of each pair, or ``None`` to
            skip the distance metrics.
        ks: Cut-offs for ``R@k`` and ``D@k``.
        fractions: Cut-offs as fractions of ``N`` (``k = ceil(fraction * N)``).
        chunk_size: Queries per chunk.

    Returns:
        ``"R@k"`` (fraction of queries with ``rank < k``), ``"R@1%"`` etc.,
        ``"median_rank"`` (1-based, as in the paper), and with ``lonlat`` ``"D@k"``: the
        mean over queries of the great-circle distance (km) from the query's true location
        to the nearest location among its ``k`` top-ranked gallery items (ties in distance
        ordered by gallery index).
    """
    pairs = _checked_pairs(query, gallery, lonlat, ks, chunk_size, ("query", "gallery"))
    q, g, n = pairs.query, pairs.gallery, pairs.n
    g_sq = g.pow(2).sum(1)

    def squared_distances(start: int, stop: int) -> torch.Tensor:
        # Squared distances order the gallery like distances, without a sqrt's rounding.
        qc = q[start:stop]
        return qc.pow(2).sum(1, keepdim=True) + g_sq - 2.0 * (qc @ g.T)

    def strict_ranks(d: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
        return (d < true[:, None]).sum(1).to(torch.float64)  # ties are not closer

    ranks, distance_sums = _ranks_in_chunks(
        pairs, chunk_size, squared_distances, strict_ranks, EARTH_RADIUS_KM
    )
    ranks_np = ranks.cpu().numpy()
    metrics: dict[str, float] = {}
    for k in pairs.ks:
        metrics[f"R@{k}"] = float(np.mean(ranks_np < k))
    for fraction in fractions:
        metrics[_fraction_key(fraction)] = float(np.mean(ranks_np < _fraction_k(fraction, n)))
    metrics["median_rank"] = float(np.median(ranks_np + 1))
    return metrics | _mean_distances(distance_sums, n)


@dataclass
class _Pairs:
    """Checked query and gallery embeddings (float64, one device) and the pairs' places."""

    query: torch.Tensor
    gallery: torch.Tensor
    n: int
    ks: list[int]
    locations: torch.Tensor | None


def _checked_pairs(
    query: np.ndarray | torch.Tensor,
    gallery: np.ndarray | torch.Tensor,
    lonlat: np.ndarray | torch.Tensor | None,
    ks: Sequence[int],
    chunk_size: int,
    names: tuple[str, str],
) -> _Pairs:
    """Validate the inputs every retrieval convention takes; raise ``ValueError`` naming them."""
    q = _as_float64(query, names[0])
    g = _as_float64(gallery, names[1], q.device)
    if q.shape != g.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape [N, D], got {list(q.shape)} "
            f"and {list(g.shape)}"
        )
    n = q.shape[0]
    if n == 0:
        raise ValueError("no embeddings to evaluate")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    ks = [int(k) for k in ks]
    if any(k < 1 for k in ks):
        raise ValueError(f"every k must be at least 1, got {ks}")
    locations = None
    if lonlat is not None:
        locations = torch.as_tensor(lonlat).to(device=q.device, dtype=torch.float64)
        if locations.shape != (n, 2):
            raise ValueError(f"lonlat: expected shape [{n}, 2], got {list(locations.shape)}")
    return _Pairs(q, g, n, ks, locations)


def _ranks_in_chunks(
    pairs: _Pairs,
    chunk_size: int,
    distances: Callable[[int, int], torch.Tensor],
    rank: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    radius_km: float,
) -> tuple[torch.Tensor, dict[int, float]]:
    """The one ranking loop of every convention, ``chunk_size`` queries at a time.

    Args:
        pairs: The checked inputs; query ``i``'s true match is gallery item ``i``.
        chunk_size: Queries per chunk (memory stays at ``chunk_size x N``).
        distances: ``(start, stop)`` -> the queries' distances (any monotone form) to
            every gallery item, ``[stop - start, N]``.
        rank: ``(distances, true_distances)`` -> each query's rank (the convention's).
        radius_km: Earth radius of the convention's great-circle distances.

    Returns:
        The ranks ``[N]`` (float64) and, with places, the sum over queries of the
        distance (km) to the nearest place among the ``k`` top-ranked gallery items,
        for every ``k`` (ties in distance ordered by gallery index); ``{}`` without.
    """
    n, device = pairs.n, pairs.query.device
    kmax = min(max(pairs.ks), n) if pairs.ks else 0
    ranks = torch.empty(n, dtype=torch.float64, device=device)
    sums = {k: 0.0 for k in pairs.ks} if pairs.locations is not None else {}
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        rows = torch.arange(start, stop, device=device)
        d = distances(start, stop)
        ranks[start:stop] = rank(d, d[rows - start, rows])
        if pairs.locations is not None and kmax > 0:
            top = _top_indices(d, kmax)
            km = haversine_km(
                pairs.locations[start:stop, None, :], pairs.locations[top], radius_km=radius_km
            )
            nearest_so_far = torch.cummin(km, dim=1).values
            for k in pairs.ks:
                sums[k] += float(nearest_so_far[:, min(k, n) - 1].sum())
    return ranks, sums


def bidirectional_metrics(
    images: np.ndarray | torch.Tensor,
    sounds: np.ndarray | torch.Tensor,
    lonlat: np.ndarray | torch.Tensor | None = None,
    **options: Any,
) -> dict[str, dict[str, float]]:
    """:func:`retrieval_metrics` in both directions (``options``: its ``ks``,
    ``fractions`` and ``chunk_size``).

    Returns:
        ``{"image_to_sound": {...}, "sound_to_image": {...}}``.
    """
    return {
        "image_to_sound": retrieval_metrics(images, sounds, lonlat, **options),
        "sound_to_image": retrieval_metrics(sounds, images, lonlat, **options),
    }


def _average_ranks(distances: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """1-based rank of each row's true match, tied items sharing their average rank."""
    closer = (distances < true[:, None]).sum(1)
    tied = (distances == true[:, None]).sum(1)  # counts the true match itself
    return closer.to(torch.float64) + (tied.to(torch.float64) + 1.0) / 2.0


def _summarise_paper(
    ranks: torch.Tensor, nearest_km: dict[int, float], ks: Sequence[int], n: int
) -> dict[str, float]:
    ranks_np = ranks.cpu().numpy()
    out = {f"R@{k}": float(np.mean(ranks_np < k)) for k in ks}
    out["median_rank"] = float(np.median(ranks_np))
    return out | _mean_distances(nearest_km, n)


def _mean_distances(sums: dict[int, float], n: int) -> dict[str, float]:
    """``"D@k"``: each distance sum of :func:`_ranks_in_chunks` over the ``n`` queries."""
    return {f"D@{k}": total / n for k, total in sums.items()}


def paper_metrics(
    images: np.ndarray | torch.Tensor,
    sounds: np.ndarray | torch.Tensor,
    lonlat: np.ndarray | torch.Tensor | None = None,
    ks: Sequence[int] = PAPER_KS,
    chunk_size: int = 1024,
) -> dict[str, dict[str, float]]:
    """Retrieval metrics in the convention of the paper's reference evaluation.

    With ``d[s, i]`` the Euclidean distance between sound ``s`` and image ``i``, every
    distance is divided by image ``i``'s mean distance to all sounds
    (``d[s, i] / mean_s' d[s', i]``). Image -> sound ranks the sounds of one image's
    column (one common divisor: the order is that of plain distances); sound -> image
    ranks the images of one sound's row, each by its own divisor, which demotes images
    that are close to every sound. A rank is 1-based, and items tied in distance share
    their average rank; ``R@k`` is the share of queries with ``rank < k``, so ``R@1`` is
    always 0 and ``R@100`` counts ranks 1 to 99. ``D@k`` is the mean great-circle
    distance (6371 km Earth radius) from the query's place to the nearest place among
    its ``k`` nearest gallery items (ties by gallery index). The computation runs in
    float64 on the images' device, ``chunk_size`` queries at a time.

    Args:
        images: ``[N, D]`` image embeddings (as the model gives them: unnormalised for a
            reference-family model).
        sounds: ``[N, D]`` sound embeddings; ``sounds[i]`` was recorded at ``images[i]``.
        lonlat: ``[N, 2]`` (longitude, latitude) degrees of each pair, or ``None`` to skip
            the distance metrics.
        ks: Cut-offs of ``R@k`` and ``D@k``.
        chunk_size: Queries per chunk.

    Returns:
        ``{"image_to_sound": {...}, "sound_to_image": {...}}`` with ``"R@k"``,
        ``"median_rank"`` and, with ``lonlat``, ``"D@k"``.
    """
    pairs = _checked_pairs(images, sounds, lonlat, ks, chunk_size, ("images", "sounds"))
    img, snd, n = pairs.query, pairs.gallery, pairs.n
    img_sq, snd_sq = img.pow(2).sum(1), snd.pow(2).sum(1)
    image_mean = torch.empty(n, dtype=torch.float64, device=img.device)

    def image_rows(start: int, stop: int) -> torch.Tensor:
        # row i of the image-by-sound matrix, divided by its own mean
        d = _euclidean(img[start:stop], snd, snd_sq)
        # An image at distance 0 from every sound has a column of zeros: keep it so.
        image_mean[start:stop] = torch.where(d.mean(1) > 0, d.mean(1), 1.0)
        return d / image_mean[start:stop, None]

    def sound_rows(start: int, stop: int) -> torch.Tensor:
        # row s of the sound-by-image matrix, each image by its own mean
        return _euclidean(snd[start:stop], img, img_sq) / image_mean[None, :]

    results = {}
    for direction, rows, reverse in (
        ("image_to_sound", image_rows, False),
        ("sound_to_image", sound_rows, True),
    ):
        # sound -> image ranks the images: query and gallery swap places
        order = dataclasses.replace(pairs, query=snd, gallery=img) if reverse else pairs
        ranks, sums = _ranks_in_chunks(
            order, chunk_size, rows, _average_ranks, PAPER_EARTH_RADIUS_KM
        )
        results[direction] = _summarise_paper(ranks, sums, pairs.ks, n)
    return results


def _euclidean(query: torch.Tensor, gallery: torch.Tensor, g_sq: torch.Tensor) -> torch.Tensor:
    d2 = query.pow(2).sum(1, keepdim=True) + g_sq - 2.0 * (query @ gallery.T)
    return d2.clamp_min(0.0).sqrt()
