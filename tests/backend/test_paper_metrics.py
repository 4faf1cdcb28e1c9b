"""The paper's retrieval convention against a brute-force reading of the reference evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from backend.metrics import paper_metrics

KS = (1, 2, 3, 5, 10, 100)


def haversine_6371(p, q) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (*p, *q))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def brute_force(images, sounds, lonlat, ks=KS) -> dict[str, dict[str, float]]:
    """The reference's evaluation, written out with loops.

    matrix[s][i] is the distance from sound s to image i, divided by the mean of
    column i (image i's mean distance to all sounds). Image -> sound ranks column
    i, sound -> image ranks row s. A rank is 1-based and tied values share their
    average rank (pandas' default); the nearest k are the k smallest values, ties
    kept in index order; R@k counts rank < k.
    """
    n = len(images)
    matrix = [
        [
            math.sqrt(
                sum((float(a) - float(b)) ** 2 for a, b in zip(images[i], sounds[s], strict=True))
            )
            for i in range(n)
        ]
        for s in range(n)
    ]
    for i in range(n):
        mean = sum(matrix[s][i] for s in range(n)) / n
        for s in range(n):
            matrix[s][i] /= mean
    out = {}
    for name, values_of in (
        ("image_to_sound", lambda q: [matrix[s][q] for s in range(n)]),
        ("sound_to_image", lambda q: [matrix[q][i] for i in range(n)]),
    ):
        ranks, nearest = [], {k: [] for k in ks}
        for q in range(n):
            values = values_of(q)
            order = sorted(range(n), key=lambda j: (values[j], j))
            positions = [p + 1 for p, j in enumerate(order) if values[j] == values[q]]
            ranks.append(sum(positions) / len(positions))
            for k in ks:
                nearest[k].append(min(haversine_6371(lonlat[q], lonlat[j]) for j in order[:k]))
        result = {f"R@{k}": sum(r < k for r in ranks) / n for k in ks}
        ordered = sorted(ranks)
        result["median_rank"] = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2
        for k in ks:
            result[f"D@{k}"] = sum(nearest[k]) / n
        out[name] = result
    return out


def make_data(n: int, seed: int, integers: bool):
    rng = np.random.default_rng(seed)
    if integers:
        # small integers: exact squared distances, many ties, duplicate items
        images = rng.integers(-1, 2, size=(n, 6)).astype(np.float64)
        sounds = rng.integers(-1, 2, size=(n, 6)).astype(np.float64)
        sounds[: n // 4] = images[: n // 4]
        sounds[n // 2] = sounds[n // 2 + 1]
    else:
        images = rng.standard_normal((n, 16)) * rng.uniform(0.2, 3.0, (n, 1))
        sounds = 0.5 * images + rng.standard_normal((n, 16))
    lonlat = np.column_stack([rng.uniform(-180, 180, n), rng.uniform(-80, 80, n)])
    return images, sounds, lonlat


@pytest.mark.parametrize("integers", [False, True])
@pytest.mark.parametrize("chunk_size", [5, 1024])
def test_paper_metrics_match_a_brute_force_reference_evaluation(integers, chunk_size):
    for seed in range(3):
        images, sounds, lonlat = make_data(37, seed, integers)
        got = paper_metrics(images, sounds, lonlat, ks=KS, chunk_size=chunk_size)
        expected = brute_force(images, sounds, lonlat)
        for direction in ("image_to_sound", "sound_to_image"):
            assert got[direction] == pytest.approx(expected[direction], rel=1e-9, abs=1e-9)


def test_hand_computed_case_ranks_from_one_and_normalises_sound_to_image():
    # Image 0 is close to every sound (a "hub"), image 1 far from all but its own.
    images = np.array([[0.0], [10.0]])
    sounds = np.array([[1.0], [9.0]])
    # distances d[s][i]: s0: (1, 9), s1: (9, 1); image means: i0 5, i1 5 -> no change here
    m = paper_metrics(images, sounds, ks=(1, 2, 3))
    for direction in ("image_to_sound", "sound_to_image"):
        assert m[direction] == {"R@1": 0.0, "R@2": 1.0, "R@3": 1.0, "median_rank": 1.0}

    # Three pairs on a line: image 2 is a hub close to every sound.
    images = np.array([[0.0], [4.0], [2.0]])
    sounds = np.array([[1.0], [4.5], [5.0]])
    # d[s][i]: s0 (1, 3, 1), s1 (4.5, 0.5, 2.5), s2 (5, 1, 3); image means (3.5, 1.5, 6.5/3)
    m = paper_metrics(images, sounds, ks=(2,))
    # image -> sound (columns): i0 ranks s0 first (1); i1 ranks s1 first (1);
    # i2: s0 1 < s1 2.5 < s2 3 -> its own sound s2 ranks 3
    assert m["image_to_sound"]["median_rank"] == 1.0
    assert m["image_to_sound"]["R@2"] == pytest.approx(2 / 3)
    # sound -> image (rows over normalised values):
    # s0: (1/3.5, 3/1.5, 3/6.5) = (0.286, 2, 0.462): own image i0 rank 1
    # s1: (4.5/3.5, 0.5/1.5, 7.5/6.5) = (1.29, 0.333, 1.15): own image i1 rank 1
    # s2: (5/3.5, 1/1.5, 9/6.5) = (1.43, 0.667, 1.38): own image i2 rank 2
    # (unnormalised, s0 would tie i0 and i2 at distance 1 and rank i0 1.5)
    assert m["sound_to_image"]["median_rank"] == 1.0
    assert m["sound_to_image"]["R@2"] == pytest.approx(2 / 3)


def test_tied_distances_share_their_average_rank():
    images = np.zeros((4, 2))
    sounds = np.zeros((4, 2))  # every distance 0: all four tie at rank (1+2+3+4)/4
    m = paper_metrics(images, sounds, ks=(3, 4))
    for direction in ("image_to_sound", "sound_to_image"):
        assert m[direction] == {"R@3": 1.0, "R@4": 1.0, "median_rank": 2.5}
    m = paper_metrics(images, sounds, ks=(2,))
    assert m["image_to_sound"]["R@2"] == 0.0


def test_paper_metrics_accept_tensors_and_reject_bad_shapes():
    images, sounds, lonlat = make_data(12, 0, False)
    a = paper_metrics(torch.from_numpy(images).float(), torch.from_numpy(sounds).float(), lonlat)
    b = paper_metrics(images.astype(np.float32), sounds.astype(np.float32), lonlat)
    assert a == b
    with pytest.raises(ValueError, match="same shape"):
        paper_metrics(images, sounds[:5])
    with pytest.raises(ValueError, match="lonlat"):
        paper_metrics(images, sounds, lonlat[:3])
