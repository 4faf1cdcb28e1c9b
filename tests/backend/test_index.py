"""Sound embedding index: build, load, exact search and extent queries."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from safetensors import safe_open

from backend.extent_query import query_extent, write_query_json
from backend.index import (
    EMBEDDINGS_FILE,
    TABLE_COLUMNS,
    TABLE_FILE,
    SoundIndex,
    SoundIndexError,
    build_index,
    save_index,
)
from backend.metrics import haversine_km
from backend.progress import Cancelled
from backend.raster.grid import Extent, RasterInputError
from tests.backend.data.fake_soundingearth import write_fake_soundingearth
from tests.backend.raster.fake_rasters import (
    UTM_ORIGIN,
    save_tiny_audiovisual,
    smooth_image,
    write_raster,
)
from tests.cancelling import CancelAfter


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return save_tiny_audiovisual(tmp_path_factory.mktemp("index_model") / "av.safetensors")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("sounds")
    keys = write_fake_soundingearth(root, n=10, image_px=64)
    for path in (root / "audio").glob(f"{keys[3]}.*"):
        path.unlink()  # no sound at all
    for path in (root / "audio").glob(f"{keys[5]}.*"):
        path.write_bytes(b"garbage")  # unreadable
    return root, keys


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, dataset, model_file):
    out = tmp_path_factory.mktemp("built") / "index"
    summary = build_index(dataset[0], model_file, out, device="cpu", workers=2)
    assert summary.count == 8
    return out, summary


def test_index_holds_normalised_embeddings_and_a_table(index_dir, dataset) -> None:
    out, summary = index_dir
    root, keys = dataset
    assert sorted(k for k, _, _ in summary.skipped) == [keys[3], keys[5]]
    reasons = {key: reason for key, reason, _ in summary.skipped}
    assert reasons == {keys[3]: "missing audio", keys[5]: "unreadable audio"}
    assert summary.summary() == (
        f"skipped 2 of {len(keys)} recordings: 1 missing audio, 1 unreadable audio"
    )
    with open(summary.out / "skipped.csv", newline="") as handle:
        listed = list(csv.DictReader(handle))
    assert [int(row["key"]) for row in listed] == [keys[3], keys[5]]
    with safe_open(str(out / EMBEDDINGS_FILE), framework="pt") as handle:
        header = handle.metadata()
        embeddings = handle.get_tensor("embeddings")
    assert header["count"] == "8" and header["embed_dim"] == "16" and header["model"]
    torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(8))
    lines = (out / TABLE_FILE).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "key,title,creator,licenseurl,longitude,latitude,file"
    assert len(lines) == 9
    assert not any(p.name.startswith(".") for p in out.parent.iterdir())


def test_search_is_exact_and_reports_metadata_and_distance(index_dir, dataset) -> None:
    index = SoundIndex.load(index_dir[0])
    assert len(index) == 8 and index.embed_dim == 16
    query = torch.nn.functional.normalize(
        torch.randn(16, generator=torch.Generator().manual_seed(0)), dim=0
    )
    matches = index.search(query, top=5, centre_lonlat=(13.4, 52.5))
    scores = (index.embeddings @ query).numpy()
    assert [m.key for m in matches] == [int(index.keys[i]) for i in np.argsort(-scores)[:5]]
    assert [m.rank for m in matches] == [1, 2, 3, 4, 5]
    best = matches[0]
    assert best.similarity == pytest.approx(scores.max(), abs=1e-6)
    assert best.title == f"Fake recording {best.key}" and best.creator.startswith("recordist")
    assert best.licence.startswith("http://creativecommons.org")
    assert best.distance_km == pytest.approx(
        float(haversine_km(np.array([best.longitude, best.latitude]), np.array([13.4, 52.5])))
    )
    from pathlib import Path

    assert Path(best.file).is_file() and Path(best.file).parent == dataset[0] / "audio"
    assert index.search(query, top=100)[-1].rank == 8  # top larger than the index


def test_query_extent_finds_sounds_for_the_imagery(tmp_path, index_dir, model_file) -> None:
    raster = write_raster(tmp_path / "img.tif", smooth_image(np.random.default_rng(0), 3, 96, 128))
    extent = Extent(UTM_ORIGIN[0] + 8, UTM_ORIGIN[1] - 40, UTM_ORIGIN[0] + 40, UTM_ORIGIN[1] - 8)
    result = query_extent(index_dir[0], model_file, raster, extent, top=3, device="cpu")
    assert result.tiles == 4  # 32 m x 32 m at 0.5 m: 2 x 2 tiles of 32 px
    assert len(result.matches) == 3
    lon, lat = result.centre_lonlat
    assert 12.0 < lon < 16.0 and 50.0 < lat < 54.0
    assert all(m.distance_km is not None and m.distance_km >= 0 for m in result.matches)
    # the same extent in lon/lat gives the same centre
    from rasterio.warp import transform_bounds

    ll = Extent(*transform_bounds("EPSG:32633", "EPSG:4326", *extent.as_tuple()))
    again = query_extent(index_dir[0], model_file, raster, ll, "EPSG:4326", top=3, device="cpu")
    assert again.centre_lonlat == pytest.approx(result.centre_lonlat, abs=1e-3)
    write_query_json(tmp_path / "answer.json", result, raster=str(raster))
    answer = json.loads((tmp_path / "answer.json").read_text())
    assert answer["matches"][0]["rank"] == 1 and "distance_km" in answer["matches"][0]
    assert answer["centre"]["latitude"] == pytest.approx(lat)
    with pytest.raises(RasterInputError, match="outside the raster"):
        query_extent(index_dir[0], model_file, raster, Extent(0, 0, 1, 1), device="cpu")


def test_large_extent_is_sampled_with_at_most_max_tiles(tmp_path, index_dir, model_file) -> None:
    raster = write_raster(tmp_path / "img.tif", smooth_image(np.random.default_rng(1), 3, 256, 256))
    extent = Extent(UTM_ORIGIN[0], UTM_ORIGIN[1] - 128, UTM_ORIGIN[0] + 128, UTM_ORIGIN[1])
    result = query_extent(index_dir[0], model_file, raster, extent, max_tiles=16, device="cpu")
    assert 0 < result.tiles <= 16


def test_another_model_is_refused(tmp_path, index_dir) -> None:
    other = save_tiny_audiovisual(tmp_path / "other.safetensors", seed=1)
    index = SoundIndex.load(index_dir[0])
    with pytest.raises(SoundIndexError, match="not the model the index was built with"):
        index.check_model(other, 16)
    with pytest.raises(SoundIndexError, match="16-d embeddings but the model makes 32-d"):
        index.check_model(other, 32)


def test_cancelled_build_leaves_nothing(tmp_path, dataset, model_file) -> None:
    out = tmp_path / "index"
    with pytest.raises(Cancelled):
        build_index(dataset[0], model_file, out, device="cpu", progress=CancelAfter(0))
    assert list(tmp_path.iterdir()) == []


def test_rebuild_replaces_an_index_but_never_another_folder(tmp_path) -> None:
    emb = torch.nn.functional.normalize(torch.randn(3, 4), dim=1)
    rows = [[str(k), "t", "c", "l", "0.0", "0.0", ""] for k in range(3)]
    out = save_index(tmp_path / "idx", emb, [0, 1, 2], np.zeros((3, 2)), rows, {"model": "m"})
    save_index(out, emb[:2], [0, 1], np.zeros((2, 2)), rows[:2], {"model": "m"})
    assert len(SoundIndex.load(out)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"x")
    with pytest.raises(SoundIndexError, match="not a sound index"):
        save_index(tmp_path / "photos", emb, [0, 1, 2], np.zeros((3, 2)), rows, {})
    assert (tmp_path / "photos" / "a.jpg").is_file()


def test_missing_index_and_missing_faiss_are_explained(tmp_path, index_dir) -> None:
    with pytest.raises(FileNotFoundError, match="not a sound index"):
        SoundIndex.load(tmp_path)
    try:
        import faiss  # noqa: F401
    except ImportError:
        with pytest.raises(SoundIndexError, match="pip install faiss-cpu"):
            SoundIndex.load(index_dir[0], use_faiss=True)
    else:
        index = SoundIndex.load(index_dir[0], use_faiss=True)
        exact = SoundIndex.load(index_dir[0])
        q = exact.embeddings[0]
        assert [m.key for m in index.search(q, 3)] == [m.key for m in exact.search(q, 3)]


def test_search_over_many_sounds_matches_a_full_sort(tmp_path) -> None:
    generator = torch.Generator().manual_seed(0)
    emb = torch.nn.functional.normalize(torch.randn(20_000, 32, generator=generator), dim=1)
    rows = [[str(k), f"t{k}", "c", "l", "0.0", "0.0", ""] for k in range(20_000)]
    out = save_index(tmp_path / "big", emb, list(range(20_000)), np.zeros((20_000, 2)), rows, {})
    index = SoundIndex.load(out)
    query = torch.randn(32, generator=generator)
    expected = np.argsort(-(emb @ torch.nn.functional.normalize(query, dim=0)).numpy())[:10]
    assert [m.key for m in index.search(query, 10)] == expected.tolist()
    assert all(m.distance_km is None for m in index.search(query, 10))


def test_an_index_keeps_its_embeddings_as_its_distance_compares_them() -> None:
    """Cosine: normalised once when the index is made (not on every search), and the
    ranking is the cosine one; Euclidean: kept as they are."""
    generator = torch.Generator().manual_seed(0)
    emb = torch.randn(500, 16, generator=generator) * torch.rand(500, 1, generator=generator) * 5
    keys = np.arange(500)
    columns = {name: [""] * 500 for name in TABLE_COLUMNS}
    cosine = SoundIndex(emb, keys, np.zeros((500, 2)), columns, {"distance": "cosine"})
    torch.testing.assert_close(cosine.embeddings.norm(dim=1), torch.ones(500))
    query = torch.randn(16, generator=generator)
    unit = torch.nn.functional.normalize
    expected = np.argsort(-(unit(emb, dim=1) @ unit(query, dim=0)).numpy())[:10]
    assert [m.key for m in cosine.search(query, 10)] == expected.tolist()
    euclidean = SoundIndex(emb, keys, np.zeros((500, 2)), columns, {"distance": "euclidean"})
    assert torch.equal(euclidean.embeddings, emb)
    expected = np.argsort(torch.cdist(query[None].double(), emb.double())[0].numpy())[:10]
    assert [m.key for m in euclidean.search(query, 10)] == expected.tolist()


def test_a_model_trained_on_short_windows_is_indexed_with_its_windows(tmp_path, dataset) -> None:
    """A model file recording 32-frame windows gets its sounds cut into 32-frame windows."""
    from backend.audio import model_window_frames
    from backend.data.soundingearth import choose_spectrograms, load_pair_spectrogram, read_metadata
    from backend.models.modelfile import load_audiovisual_model
    from backend.raster.soundmap import sound_embedding

    root, keys = dataset
    short = tmp_path / "short.safetensors"
    save_tiny_audiovisual(short, spectrogram="logmel", window_frames=32)
    model, meta = load_audiovisual_model(short, device="cpu")
    assert model_window_frames(meta) == 32
    summary = build_index(root, short, tmp_path / "index", device="cpu", workers=1)
    index = SoundIndex.load(summary.out)
    recordings = read_metadata(root / "metadata.csv")
    recording = next(r for r in recordings if r.key == keys[0])
    sounds = choose_spectrograms(root, recordings, None, "logmel", str(short))
    spec = load_pair_spectrogram(sounds.pair(recording, root / "images" / f"{keys[0]}.jpg"))
    expected = {f: sound_embedding(model, spec, window_frames=f) for f in (32, 128)}
    got = index.embeddings[int(np.flatnonzero(index.keys == keys[0])[0])]
    torch.testing.assert_close(got, expected[32], atol=1e-5, rtol=1e-4)
    assert not torch.allclose(got, expected[128], atol=1e-3)
