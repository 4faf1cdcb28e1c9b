"""Tests for the retrieval metrics, against a brute-force double loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from backend.metrics import bidirectional_metrics, haversine_km, retrieval_metrics

KS = (1, 5, 10, 100)
FRACTIONS = (0.01, 0.05, 0.10, 0.5)


def reference_haversine(p: tuple[float, float], q: tuple[float, float]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (*p, *q))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


def brute_force(
    query: np.ndarray, gallery: np.ndarray, lonlat: np.ndarray, ks: tuple[int, ...] = KS
) -> dict[str, float]:
    n = len(query)
    ranks, nearest = [], {k: [] for k in ks}
    for i in range(n):
        dist = [float(np.sum((query[i] - gallery[j]) ** 2)) for j in range(n)]
        ranks.append(sum(1 for j in range(n) if dist[j] < dist[i]))
        order = sorted(range(n), key=lambda j: (dist[j], j))  # ties by gallery index
        for k in ks:
            nearest[k].append(min(reference_haversine(lonlat[i], lonlat[j]) for j in order[:k]))
    out = {f"R@{k}": sum(r < k for r in ranks) / n for k in ks}
    for f in FRACTIONS:
        k = max(1, math.ceil(round(f * n, 9)))
        out[f"R@{f * 100:g}%"] = sum(r < k for r in ranks) / n
    ranks1 = sorted(r + 1 for r in ranks)
    out["median_rank"] = (ranks1[(n - 1) // 2] + ranks1[n // 2]) / 2
    for k in ks:
        out[f"D@{k}"] = sum(nearest[k]) / n
    return out


def make_data(n: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # Small integers: many exact ties, and squared distances exact in float64.
    query = rng.integers(-1, 2, size=(n, 8)).astype(np.float32)
    gallery = rng.integers(-1, 2, size=(n, 8)).astype(np.float32)
    gallery[:10] = query[:10] + rng.integers(0, 2, size=(10, 8))  # some near matches
    gallery[20] = gallery[21]  # duplicate gallery items
    lonlat = np.column_stack([rng.uniform(-180, 180, n), rng.uniform(-80, 80, n)])
    return query, gallery, lonlat


@pytest.mark.parametrize("chunk_size", [7, 50, 1024])
@pytest.mark.parametrize("ks", [KS, (1, 2, 3)])  # (1, 2, 3): ties straddle the top-3 cut
def test_metrics_match_brute_force(chunk_size: int, ks: tuple[int, ...]) -> None:
    query, gallery, lonlat = make_data()
    got = retrieval_metrics(
        query, gallery, lonlat, ks=ks, fractions=FRACTIONS, chunk_size=chunk_size
    )
    expected = brute_force(query, gallery, lonlat, ks)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key


def test_tensor_input_and_bidirectional() -> None:
    query, gallery, lonlat = make_data(seed=1)
    both = bidirectional_metrics(
        torch.from_numpy(query),
        torch.from_numpy(gallery),
        lonlat,
        ks=KS,
        fractions=FRACTIONS,
        chunk_size=16,
    )
    assert both["image_to_sound"] == pytest.approx(brute_force(query, gallery, lonlat))
    assert both["sound_to_image"] == pytest.approx(brute_force(gallery, query, lonlat))


def test_perfect_retrieval_and_large_k() -> None:
    x = np.eye(6, dtype=np.float32)
    lonlat = np.zeros((6, 2))
    got = retrieval_metrics(x, x, lonlat)
    assert got["R@1"] == 1.0 and got["median_rank"] == 1.0 and got["R@1%"] == 1.0
    assert got["R@1000"] == 1.0  # k > N is still reported
    assert got["D@1"] == 0.0 and got["D@1000"] == 0.0
    assert "D@5" not in retrieval_metrics(x, x, None)


def test_ties_count_as_not_closer() -> None:
    query = np.zeros((3, 2))
    gallery = np.zeros((3, 2))  # every gallery item is equally close
    got = retrieval_metrics(query, gallery, ks=(1,), fractions=())
    assert got == {"R@1": 1.0, "median_rank": 1.0}


def test_haversine_against_known_distances() -> None:
    # one degree of arc on the equator, and pole to pole
    assert haversine_km(np.array([0.0, 0.0]), np.array([1.0, 0.0])) == pytest.approx(
        6371.0088 * math.pi / 180
    )
    assert haversine_km(np.array([10.0, 90.0]), np.array([-70.0, -90.0])) == pytest.approx(
        6371.0088 * math.pi
    )
    rng = np.random.default_rng(3)
    a = np.column_stack([rng.uniform(-180, 180, 5), rng.uniform(-90, 90, 5)])
    b = np.column_stack([rng.uniform(-180, 180, 5), rng.uniform(-90, 90, 5)])
    expected = [reference_haversine(p, q) for p, q in zip(a, b, strict=True)]
    assert haversine_km(a, b) == pytest.approx(expected)
    assert haversine_km(torch.from_numpy(a), b).numpy() == pytest.approx(expected)


def test_shape_errors_are_explained() -> None:
    with pytest.raises(ValueError, match="same shape"):
        retrieval_metrics(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"lonlat: expected shape \[3, 2\]"):
        retrieval_metrics(np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((3, 3)))
