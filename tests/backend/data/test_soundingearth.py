"""Tests of backend.data.soundingearth on tiny fake data in the SoundingEarth layout."""

from __future__ import annotations

import collections
import csv
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from backend.audio import N_MELS, centre_window, load_audio, log_mel, read_spectrogram_image
from backend.cli import main
from backend.data.soundingearth import (
    METADATA_COLUMNS,
    MetadataError,
    Pair,
    PairDataset,
    Recording,
    batch_failures,
    geographic_split,
    prepare_spectrograms,
    read_metadata,
    reference_split,
    scan_pairs,
)
from backend.progress import Cancelled
from tests.backend.data.fake_soundingearth import FIRST_KEY, write_fake_soundingearth


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only-by-convention fake dataset shared by the tests that do not modify it."""
    root = tmp_path_factory.mktemp("soundingearth")
    write_fake_soundingearth(root, n=12, seed=0)
    return root


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def row(key: str, longitude: str = "8.5", latitude: str = "47.3", description: str = "") -> list:
    values = dict.fromkeys(METADATA_COLUMNS, "")
    values.update(key=key, longitude=longitude, latitude=latitude, description=description)
    values["title"] = f"title {key}"
    return [values[c] for c in METADATA_COLUMNS]


# --- metadata -------------------------------------------------------------------------------


def test_read_metadata_of_fake_dataset(fake_root: Path) -> None:
    recordings = read_metadata(fake_root / "metadata.csv")
    assert [r.key for r in recordings] == list(range(FIRST_KEY, FIRST_KEY + 12))
    first = recordings[0]
    assert first.description == 'Birds, wind and "traffic"\nrecorded at fake site 0'
    assert first.title == f"Fake recording {FIRST_KEY}"
    assert first.long_key == f"fake{FIRST_KEY:06d}"
    assert first.licenseurl.startswith("http://creativecommons.org/")
    assert isinstance(first.latitude, float) and -90 <= first.latitude <= 90
    assert set(first.fields) == set(METADATA_COLUMNS)


def test_malformed_latitude_names_physical_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "metadata.csv"
    rows = [
        row("1", description="two\nlines, with a comma"),  # lines 2-3
        row("2", description='a "quoted"\nthree\nline text'),  # lines 4-6
        row("3", latitude="abc", description="starts here\nends here"),  # lines 7-8
    ]
    write_rows(path, list(METADATA_COLUMNS), rows)
    with pytest.raises(MetadataError) as caught:
        read_metadata(path)
    message = str(caught.value)
    assert "metadata.csv line 7, column 'latitude': expected a number in [-90, 90], got 'abc'" in (
        message
    )


@pytest.mark.parametrize(
    ("bad_row", "expected"),
    [
        (row("x1"), "line 3, column 'key': expected an integer, got 'x1'"),
        (row("5", longitude="200"), "line 3, column 'longitude': expected a number in [-180, 180]"),
        (row("5", latitude="nan"), "line 3, column 'latitude'"),
        (row("1"), "line 3, column 'key': duplicate key 1 (first on line 2)"),
        (row("5")[:-2], "line 3: expected 18 fields, got 16"),
    ],
)
def test_malformed_rows(tmp_path: Path, bad_row: list, expected: str) -> None:
    path = tmp_path / "metadata.csv"
    write_rows(path, list(METADATA_COLUMNS), [row("1"), bad_row])
    with pytest.raises(MetadataError, match=None) as caught:
        read_metadata(path)
    assert expected in str(caught.value)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "metadata.csv"
    header = [c for c in METADATA_COLUMNS if c not in ("latitude", "key")]
    write_rows(path, header, [["a"] * len(header)])
    with pytest.raises(MetadataError, match="missing required columns 'key', 'latitude'"):
        read_metadata(path)


def test_extra_and_absent_optional_columns_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "metadata.csv"
    write_rows(path, ["key", "latitude", "longitude", "habitat"], [["9", "-33.9", "18.4", "coast"]])
    (recording,) = read_metadata(path)
    assert recording.key == 9 and recording.longitude == pytest.approx(18.4)
    assert recording.fields["habitat"] == "coast"
    assert recording.title == "" and recording.creator == ""


def test_empty_metadata(tmp_path: Path) -> None:
    path = tmp_path / "metadata.csv"
    path.write_text("")
    with pytest.raises(MetadataError, match="empty"):
        read_metadata(path)


# --- splits ---------------------------------------------------------------------------------


def test_reference_split_counts() -> None:
    counts = collections.Counter(reference_split(key) for key in range(1000))
    assert counts == {"train": 700, "val": 100, "test": 200}
    assert reference_split(17) == "val"
    assert reference_split(32) == reference_split(45) == "test"


def random_recordings(count: int, seed: int) -> list[Recording]:
    rng = np.random.default_rng(seed)
    # clustered around a few towns, so many cells hold several recordings
    centres = rng.uniform([-10, 35], [30, 60], size=(20, 2))
    picks = centres[rng.integers(0, 20, count)] + rng.normal(0, 0.3, size=(count, 2))
    return [
        Recording(key, "", float(lon), float(lat), "", "", "", "")
        for key, (lon, lat) in enumerate(picks)
    ]


def cell_of(recording: Recording, cell_km: float) -> tuple[int, int]:
    from backend.data.soundingearth.splits import _grid_cell

    return _grid_cell(recording.longitude, recording.latitude, cell_km)


def test_geographic_split_keeps_cells_together_and_is_deterministic() -> None:
    recordings = random_recordings(2000, seed=1)
    split = geographic_split(recordings, cell_km=20.0, seed=4)

    assert set(split) == {r.key for r in recordings}
    splits_per_cell = collections.defaultdict(set)
    for recording in recordings:
        splits_per_cell[cell_of(recording, 20.0)].add(split[recording.key])
    assert all(len(s) == 1 for s in splits_per_cell.values())
    assert len(splits_per_cell) > 100
    shares = collections.Counter(split.values())
    assert shares["train"] / 2000 == pytest.approx(0.7, abs=0.05)
    assert shares["val"] / 2000 == pytest.approx(0.1, abs=0.05)
    assert shares["test"] / 2000 == pytest.approx(0.2, abs=0.05)

    assert geographic_split(list(reversed(recordings)), cell_km=20.0, seed=4) == split
    assert geographic_split(recordings, cell_km=20.0, seed=5) != split


def test_geographic_cells_are_about_cell_km_wide() -> None:
    # 200 km east-west and north-south cross about ten 20 km cells, at the equator and at 60 N
    for latitude in (0.0, 60.0):
        span_deg = 200.0 / (111.32 * np.cos(np.radians(latitude)))
        east_west = {
            cell_of(Recording(0, "", float(x), latitude, "", "", "", ""), 20.0)
            for x in np.linspace(0.0, span_deg, 400, endpoint=False)
        }
        north_south = {
            cell_of(Recording(0, "", 5.0, float(y), "", "", "", ""), 20.0)[0]
            for y in np.linspace(latitude, latitude + 200.0 / 111.32, 400, endpoint=False)
        }
        assert len(east_west) in (10, 11)
        assert len(north_south) in (10, 11)


# --- scanning -------------------------------------------------------------------------------


def test_scan_reports_missing_audio_and_corrupt_image(tmp_path: Path) -> None:
    keys = write_fake_soundingearth(tmp_path, n=12, seed=1)
    next((tmp_path / "audio").glob(f"{keys[3]}.*")).unlink()
    (tmp_path / "images" / f"{keys[5]}.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken jpeg")

    scan = scan_pairs(tmp_path, split=None)

    assert scan.summary() == "skipped 2 of 12 pairs: 1 missing audio, 1 unreadable image"
    assert scan.total == 12 and len(scan.pairs) == 10
    assert keys[3] not in {p.recording.key for p in scan.pairs}
    skipped_csv = tmp_path / "out" / "skipped.csv"
    scan.write_skipped_csv(skipped_csv)
    with open(skipped_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(int(r["key"]), r["reason"]) for r in rows] == [
        (keys[3], "missing audio"),
        (keys[5], "unreadable image"),
    ]
    assert rows[1]["path"].endswith(f"images{os.sep}{keys[5]}.jpg")


def test_scan_splits_and_summary_plurals(tmp_path: Path) -> None:
    keys = write_fake_soundingearth(tmp_path, n=12, seed=2, with_audio=False)
    # keys 100..111: test = 102, 105; val = 107; train = the other 9
    train = scan_pairs(tmp_path, split="train")
    assert train.total == 9
    assert train.summary() == "skipped 9 of 9 pairs: 9 missing audio"
    val = scan_pairs(tmp_path, split="val")
    assert [k for k, _, _ in val.skipped] == [107]
    for key in keys[:2]:
        (tmp_path / "images" / f"{key}.jpg").unlink()
    everything = scan_pairs(tmp_path, split=None)
    assert everything.summary() == "skipped 12 of 12 pairs: 10 missing audio, 2 missing images"
    geo = [
        scan_pairs(tmp_path, split=s, split_mode="geographic", cell_km=500).total
        for s in ("train", "val", "test")
    ]
    assert sum(geo) == 12


def test_scan_without_problems_and_sound_sources(tmp_path: Path) -> None:
    keys = write_fake_soundingearth(tmp_path, n=4, seed=3, with_audio=True, with_spectrograms=True)
    cache = tmp_path / "cache" / "logmel"
    cache.mkdir(parents=True)
    np.save(cache / f"{keys[0]}.npy", np.zeros((N_MELS, 10), dtype=np.float16))
    next((tmp_path / "audio").glob(f"{keys[1]}.*")).unlink()

    # every recording has a JPG: the release's encoding, one source for all
    scan = scan_pairs(tmp_path, split=None)
    assert scan.summary() == "skipped 0 of 4 pairs" and scan.encoding == "jpg"
    assert all(p.spectrogram.parent.name == "spectrograms" for p in scan.pairs)

    scan = scan_pairs(tmp_path, split=None, spectrograms="audio")
    assert scan.summary() == "skipped 1 of 4 pairs: 1 missing audio" and scan.encoding == "logmel"
    by_key = {p.recording.key: p for p in scan.pairs}
    assert by_key[keys[0]].spectrogram == cache / f"{keys[0]}.npy"  # the cache wins
    assert keys[1] not in by_key  # its JPG is another encoding
    assert by_key[keys[2]].audio is not None and by_key[keys[2]].spectrogram is None


def test_scan_reports_unreadable_audio(tmp_path: Path) -> None:
    keys = write_fake_soundingearth(tmp_path, n=3, seed=4)
    next((tmp_path / "audio").glob(f"{keys[2]}.*")).write_bytes(b"nonsense" * 50)
    scan = scan_pairs(tmp_path, split=None)
    assert scan.summary() == "skipped 1 of 3 pairs: 1 unreadable audio"
    assert (
        scan_pairs(tmp_path, split=None, check_readable=False).summary() == "skipped 0 of 3 pairs"
    )


def _half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_scan_skips_every_kind_of_undecodable_file_like_a_missing_one(tmp_path: Path) -> None:
    keys = write_fake_soundingearth(tmp_path, n=12, seed=6, image_px=128)
    audio = {key: next((tmp_path / "audio").glob(f"{key}.*")) for key in keys}
    _half(tmp_path / "images" / f"{keys[0]}.jpg")  # PIL verify() passes this one
    (tmp_path / "images" / f"{keys[1]}.jpg").write_bytes(b"")
    (tmp_path / "images" / f"{keys[2]}.jpg").write_bytes(os.urandom(3000))
    flac = [key for key in keys[3:] if audio[key].suffix == ".flac"][0]
    _half(audio[flac])  # the header still promises every frame
    random_audio = [key for key in keys[3:] if key != flac][:4]
    for key in random_audio:  # random bytes named .wav, .ogg, .mp3, ...
        audio[key].write_bytes(np.random.default_rng(key).bytes(5000))
    (tmp_path / "images" / f"{keys[-1]}.jpg").unlink()

    scan = scan_pairs(tmp_path, split=None)

    assert scan.summary() == (
        "skipped 9 of 12 pairs: 5 unreadable audio, 3 unreadable images, 1 missing image"
    )
    reasons = {key: reason for key, reason, _ in scan.skipped}
    assert [reasons[k] for k in keys[:3]] == ["unreadable image"] * 3
    assert reasons[flac] == "unreadable audio"
    assert {reasons[k] for k in random_audio} == {"unreadable audio"}
    # every usable pair really decodes
    dataset = PairDataset(scan.pairs, context_px=32, train=False)
    assert all(dataset[i]["ok"] for i in range(len(dataset)))


def test_scan_skips_a_broken_precomputed_spectrogram(tmp_path: Path) -> None:
    keys = write_fake_soundingearth(tmp_path, n=3, seed=7, with_audio=False, with_spectrograms=True)
    _half(tmp_path / "spectrograms" / f"{keys[1]}.jpg")
    scan = scan_pairs(tmp_path, split=None)
    assert scan.summary() == "skipped 1 of 3 pairs: 1 unreadable audio"
    assert scan.skipped[0][2].endswith(f"{keys[1]}.jpg")


def _break_after_scan(root: Path, keys: list[int]) -> list[Path]:
    """Damage files the scan already accepted: a truncated image, a truncated cache file."""
    image = root / "images" / f"{keys[0]}.jpg"
    _half(image)
    cache = root / "cache" / "logmel"
    cache.mkdir(parents=True, exist_ok=True)
    spec = cache / f"{keys[1]}.npy"
    np.save(spec, np.zeros((N_MELS, 300), dtype=np.float16))
    _half(spec)
    return [image, spec]


def test_pair_dataset_completes_batches_when_a_file_breaks_after_the_scan(
    tmp_path: Path,
) -> None:
    keys = write_fake_soundingearth(tmp_path, n=8, seed=8, image_px=96)
    pairs = scan_pairs(tmp_path, split=None).pairs
    assert len(pairs) == 8
    broken = _break_after_scan(tmp_path, keys)
    pairs[1] = Pair(pairs[1].recording, pairs[1].image, pairs[1].audio, broken[1])

    def epoch(workers: int) -> list[dict]:
        dataset = PairDataset(pairs, context_px=32, seed=5)
        dataset.set_epoch(3)
        loader = torch.utils.data.DataLoader(dataset, batch_size=4, num_workers=workers)
        return list(loader)

    in_process, in_worker = epoch(0), epoch(1)
    # the batches are full, and the same substitutes are drawn in a worker and in-process
    assert [len(b["index"]) for b in in_worker] == [4, 4]
    for a, b in zip(in_process, in_worker, strict=True):
        assert a["index"].tolist() == b["index"].tolist()
        torch.testing.assert_close(a["audio"], b["audio"])
    used = in_worker[0]["index"].tolist()
    assert used[0] not in (0, 1) and used[1] not in (0, 1) and used[2:] == [2, 3]
    failures = batch_failures(in_worker[0]) + batch_failures(in_worker[1])
    assert [(key, reason) for key, reason, _ in failures] == [
        (keys[0], "unreadable image"),
        (keys[1], "unreadable audio"),
    ]
    assert failures[0][2] == str(broken[0]) and failures[1][2] == str(broken[1])
    # each epoch draws its substitutes from (seed, epoch, index): the same in every run
    drawn = []
    for _ in range(2):
        dataset = PairDataset(pairs, context_px=32, seed=5)
        dataset.set_epoch(4)
        drawn.append([dataset[i]["index"] for i in (0, 1)])
    assert drawn[0] == drawn[1] and not set(drawn[0]) & {0, 1}
    scan = scan_pairs(tmp_path, split=None, check_readable=False).with_failures(failures)
    assert scan.summary() == "skipped 2 of 8 pairs: 1 unreadable audio, 1 unreadable image"


def test_evaluation_drops_pairs_that_break_after_the_scan(tmp_path: Path) -> None:
    keys = write_fake_soundingearth(tmp_path, n=6, seed=9, image_px=96)
    pairs = scan_pairs(tmp_path, split=None).pairs
    _break_after_scan(tmp_path, keys)
    dataset = PairDataset(pairs, context_px=32, train=False)
    items = [dataset[i] for i in range(len(dataset))]
    assert [item["ok"] for item in items] == [False, True, True, True, True, True]
    assert batch_failures({"failed": [items[0]["failed"]]})[0][:2] == (keys[0], "unreadable image")


def test_scan_without_metadata(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="metadata.csv"):
        scan_pairs(tmp_path)


# --- prepare --------------------------------------------------------------------------------


class CancelAfter:
    """A progress that asks to stop once ``limit`` cache files exist (like a killed run)."""

    def __init__(self, folder: Path, limit: int) -> None:
        self.folder, self.limit = folder, limit

    def progress(self, fraction: float, message: str = "") -> None:
        pass

    def is_cancelled(self) -> bool:
        return self.folder.is_dir() and len(list(self.folder.glob("*.npy"))) >= self.limit


def test_prepare_is_resumable_and_does_not_rewrite(tmp_path: Path) -> None:
    keys = write_fake_soundingearth(tmp_path, n=8, seed=5)
    cache = tmp_path / "cache" / "logmel"

    with pytest.raises(Cancelled):
        prepare_spectrograms(tmp_path, progress=CancelAfter(cache, 3))
    first_run = sorted(cache.iterdir())
    assert len(first_run) == 3 and all(p.suffix == ".npy" for p in first_run)  # no partial files
    old = 1_000_000_000  # 2001: any rewrite would move the mtime to now
    for path in first_run:
        os.utime(path, (old, old))
    stale = cache / f".{keys[7]}.npy.0123abcd.partial.npy"  # as left by a killed run
    stale.write_bytes(b"half")
    os.utime(stale, (old, old))

    report = prepare_spectrograms(tmp_path)

    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{k}.npy" for k in keys)
    assert all(path.stat().st_mtime == old for path in first_run)
    assert report.decoded == 5 and report.already_cached == 3
    assert not stale.exists()  # a killed run's temporary file is cleaned up
    assert report.summary() == "skipped 0 of 8 pairs"
    assert (tmp_path / "cache" / "skipped.csv").read_text().splitlines() == ["key,reason,path"]

    audio = next((tmp_path / "audio").glob(f"{keys[6]}.*"))
    cached = np.load(cache / f"{keys[6]}.npy")
    assert cached.dtype == np.float16 and cached.shape[0] == N_MELS
    expected = log_mel(load_audio(audio)).numpy()
    np.testing.assert_allclose(cached.astype(np.float32), expected, atol=1e-3)

    again = prepare_spectrograms(tmp_path)
    assert again.decoded == 0 and again.already_cached == 8


def test_prepare_records_bad_and_missing_audio(tmp_path: Path) -> None:
    keys = write_fake_soundingearth(tmp_path, n=6, seed=6)
    next((tmp_path / "audio").glob(f"{keys[1]}.*")).write_bytes(b"")
    next((tmp_path / "audio").glob(f"{keys[4]}.*")).unlink()

    report = prepare_spectrograms(tmp_path, workers=2)

    assert report.summary() == "skipped 2 of 6 pairs: 1 missing audio, 1 unreadable audio"
    assert report.decoded == 4
    with open(tmp_path / "cache" / "skipped.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(int(r["key"]), r["reason"]) for r in rows] == [
        (keys[1], "unreadable audio"),
        (keys[4], "missing audio"),
    ]
    assert not (tmp_path / "cache" / "logmel" / f"{keys[1]}.npy").exists()


# --- dataset --------------------------------------------------------------------------------


def test_pair_dataset_shapes_and_seeded_windows(fake_root: Path) -> None:
    pairs = scan_pairs(fake_root, split=None).pairs
    dataset = PairDataset(pairs, context_px=64, seed=7)
    assert len(dataset) == 12

    item = dataset[0]
    assert item["image"].dtype == torch.uint8 and item["image"].shape == (3, 64, 64)
    assert item["audio"].dtype == torch.float32 and item["audio"].shape == (1, N_MELS, 128)
    assert item["index"] == 0
    assert 0.0 <= float(item["audio"].min()) and float(item["audio"].max()) <= 1.0

    # a recording long enough for many windows (pick the longest)
    long_index = max(range(12), key=lambda i: float(pairs[i].recording.fields["mp3seconds"]))
    twin = PairDataset(pairs, context_px=64, seed=7)
    dataset.set_epoch(3)
    twin.set_epoch(3)
    torch.testing.assert_close(dataset[long_index]["audio"], twin[long_index]["audio"])
    epoch_windows = []
    for epoch in range(4):
        dataset.set_epoch(epoch)
        epoch_windows.append(dataset[long_index]["audio"])
    assert any(not torch.equal(epoch_windows[0], w) for w in epoch_windows[1:])

    evaluation = PairDataset(pairs, context_px=64, train=False)
    evaluation.set_epoch(1)
    centre = evaluation[long_index]["audio"]
    evaluation.set_epoch(2)
    torch.testing.assert_close(centre, evaluation[long_index]["audio"])


def test_pair_dataset_sound_sources_agree(tmp_path: Path) -> None:
    """Precomputed JPG, raw audio and the prepare cache each feed the same centre window."""
    keys = write_fake_soundingearth(tmp_path, n=2, seed=8, with_spectrograms=True)
    pairs = scan_pairs(tmp_path, split=None, spectrograms="jpg").pairs
    assert pairs[1].spectrogram == tmp_path / "spectrograms" / f"{keys[1]}.jpg"
    from_jpg = PairDataset(pairs, context_px=32, train=False)[1]["audio"][0]
    torch.testing.assert_close(
        from_jpg, centre_window(read_spectrogram_image(pairs[1].spectrogram))
    )

    audio_only = scan_pairs(tmp_path, split=None, spectrograms="audio").pairs
    assert all(p.spectrogram is None for p in audio_only)
    decoded = PairDataset(audio_only, context_px=32, train=False)[0]["audio"][0]
    torch.testing.assert_close(decoded, centre_window(log_mel(load_audio(pairs[0].audio))))
    assert not torch.allclose(
        decoded, PairDataset(pairs, context_px=32, train=False)[0]["audio"][0]
    )

    prepare_spectrograms(tmp_path)
    cached_pairs = scan_pairs(tmp_path, split=None, spectrograms="audio").pairs
    assert cached_pairs[0].spectrogram == tmp_path / "cache" / "logmel" / f"{keys[0]}.npy"
    from_cache = PairDataset(cached_pairs, context_px=32, train=False)[0]["audio"][0]
    torch.testing.assert_close(from_cache, decoded, atol=1e-3, rtol=0)


def test_pair_dataset_uses_centre_512_region(tmp_path: Path) -> None:
    # a 700 px tile: red border, green centre 512 px square
    tile = np.zeros((700, 700, 3), dtype=np.uint8)
    tile[..., 0] = 255
    tile[94:606, 94:606] = (0, 255, 0)
    Image.fromarray(tile).save(tmp_path / "big.jpg", quality=95)
    small = np.zeros((300, 400, 3), dtype=np.uint8)
    small[:, :50] = (0, 0, 255)  # only outside the centre 300 px square
    small[:, 50:350] = (255, 255, 255)
    small[:, 350:] = (0, 0, 255)
    Image.fromarray(small).save(tmp_path / "small.jpg", quality=95)
    spec = tmp_path / "s.npy"
    np.save(spec, np.zeros((N_MELS, 200), dtype=np.float16))
    recording = Recording(1, "", 0.0, 0.0, "", "", "", "")
    pairs = [Pair(recording, tmp_path / name, None, spec) for name in ("big.jpg", "small.jpg")]
    dataset = PairDataset(pairs, context_px=128)

    big = dataset[0]["image"].float()
    assert big.shape == (3, 128, 128)
    assert float(big[1].mean()) > 240 and float(big[0].mean()) < 15  # no red border
    small_image = dataset[1]["image"].float()
    assert float(small_image.mean()) > 240  # only the white centre square


def test_pair_dataset_in_dataloader_workers(fake_root: Path) -> None:
    pairs = scan_pairs(fake_root, split=None).pairs[:4]
    dataset = PairDataset(pairs, context_px=32, seed=1)
    dataset.set_epoch(2)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=1)
    batches = list(loader)
    assert batches[0]["image"].shape == (2, 3, 32, 32)
    assert batches[1]["audio"].shape == (2, 1, N_MELS, 128)
    torch.testing.assert_close(batches[1]["audio"][1], dataset[3]["audio"])
    assert batches[1]["index"].tolist() == [2, 3]


# --- command line ---------------------------------------------------------------------------


def test_cli_prepare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["prepare", "--help"])
    assert exit_info.value.code == 0
    assert "cache/ENCODING" in capsys.readouterr().out

    keys = write_fake_soundingearth(tmp_path, n=3, seed=9)
    next((tmp_path / "audio").glob(f"{keys[0]}.*")).unlink()
    assert main(["prepare", "--data", str(tmp_path), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 of 3 pairs: 1 missing audio" in out
    assert "skipped.csv" in out
    assert len(list((tmp_path / "cache" / "logmel").glob("*.npy"))) == 2

    assert main(["prepare", "--data", str(tmp_path / "absent")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_pair_dataset_names_unreadable_image_when_nothing_can_replace_it(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really")
    spec = tmp_path / "s.npy"
    np.save(spec, np.zeros((N_MELS, 200), dtype=np.float16))
    recording = Recording(1, "", 0.0, 0.0, "", "", "", "")
    dataset = PairDataset([Pair(recording, broken, None, spec)], context_px=32)
    with pytest.raises(OSError, match="broken.jpg"):
        dataset[0]
