"""One spectrogram encoding per model: round trips, the JPG front end, mixing and mismatches refused."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from backend.audio import (
    JPG,
    JPG_HIGH,
    JPG_LOW,
    JPG_SAMPLE_RATE,
    LOGMEL,
    N_MELS,
    EncodingError,
    encoding_metadata,
    jpg_pixels,
    jpg_spectrogram,
    load_audio,
    log_mel,
    model_encoding,
    read_cached_spectrogram,
    read_spectrogram_image,
    spectrogram_for_model,
    write_spectrogram_image,
)
from backend.cli import main
from backend.data.soundingearth import (
    PairDataset,
    cache_folder,
    load_pair_spectrogram,
    prepare_spectrograms,
    scan_pairs,
)
from backend.index import SoundIndex, build_index
from backend.models.encoders import AudiovisualModel
from backend.models.modelfile import (
    ModelMetadata,
    load_audiovisual_model,
    load_model_metadata,
    save_audiovisual_model,
)
from backend.raster.soundmap import recording_embedding, sound_embedding
from tests.backend.data.fake_soundingearth import write_fake_soundingearth


def tone(frequency: float, seconds: float = 2.0, rate: int = JPG_SAMPLE_RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    noise = 0.01 * np.random.default_rng(0).standard_normal(t.size)
    return (0.5 * np.sin(2 * np.pi * frequency * t) + noise).astype(np.float32)


def tiny_model(path: Path, encoding: str | None) -> Path:
    """A random 8-d audiovisual model file recording ``encoding`` (None: an old file)."""
    torch.manual_seed(0)
    model = AudiovisualModel("resnet18", "resnet18", embed_dim=8)
    metadata = ModelMetadata(
        kind="audiovisual",
        audio_arch="resnet18",
        embed_dim=8,
        tile_px=32,
        spectrogram=encoding_metadata(encoding) if encoding else None,
    )
    save_audiovisual_model(path, model, metadata)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("encoding_models")
    return {name: tiny_model(folder / f"{name}.safetensors", name) for name in (LOGMEL, JPG)}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> tuple[Path, list[int]]:
    """6 recordings: 0-2 only as audio, 3-5 only as spectrograms/*.jpg."""
    root = tmp_path_factory.mktemp("mixed")
    keys = write_fake_soundingearth(root, n=6, seed=2, with_spectrograms=True, image_px=64)
    for key in keys[:3]:
        (root / "spectrograms" / f"{key}.jpg").unlink()
    for key in keys[3:]:
        next((root / "audio").glob(f"{key}.*")).unlink()
    return root, keys


# --- the JPG encoding --------------------------------------------------------------------------


def test_jpg_pixel_map_inverts_the_reference_loader() -> None:
    decibels = torch.tensor([-40.0, -15.0, -5.0, 0.0, 5.0, 20.0])
    pixels = jpg_pixels(decibels)
    assert pixels.dtype == torch.uint8
    assert pixels[0] == 0 and pixels[1] == 0 and pixels[4] == 255 and pixels[5] == 255
    # the reference loader: LOW + p / 255 (HIGH - LOW) gives back exp(S / 10) within one step
    loaded = JPG_LOW + pixels.double() / 255 * (JPG_HIGH - JPG_LOW)
    inside = torch.exp(decibels[1:5].double() / 10)
    step = (JPG_HIGH - JPG_LOW) / 255
    assert float((loaded[1:5] - inside).abs().max()) <= step / 2 + 1e-12


def test_jpg_round_trip_audio_to_image_to_reader(tmp_path: Path) -> None:
    wav = tmp_path / "tone.wav"
    soundfile.write(wav, tone(300.0, rate=44100), 44100)
    spec = spectrogram_for_model(wav, JPG)
    assert spec.shape[0] == N_MELS and spec.dtype == torch.float32
    # 8-bit values: multiples of 1/255, and a real range (not all clipped)
    np.testing.assert_allclose(spec.numpy() * 255, np.round(spec.numpy() * 255), atol=1e-4)
    assert float(spec.min()) == 0.0 and float(spec.max()) > 0.5
    torch.testing.assert_close(spec, jpg_spectrogram(load_audio(wav, JPG_SAMPLE_RATE)))

    png = tmp_path / "spec.png"  # 8-bit and lossless: the reader gives exactly the same values
    write_spectrogram_image(spec, png)
    torch.testing.assert_close(read_spectrogram_image(png), spec, atol=0.5 / 255, rtol=0)
    jpg = tmp_path / "spec.jpg"  # the release's format: JPEG loss on top of the 8 bits
    write_spectrogram_image(spec, jpg)
    assert float((read_spectrogram_image(jpg) - spec).abs().mean()) < 3 / 255

    # orientation: the low tone lies in the low mel rows, which are the top image rows
    with Image.open(png) as image:
        rows = np.asarray(image).mean(axis=1)
    assert int(np.argmax(rows)) < N_MELS // 4


def test_jpg_front_end_frame_rate_and_band() -> None:
    spec = jpg_spectrogram(tone(5000.0, seconds=3.0))
    assert spec.shape == (N_MELS, 1 + 3 * JPG_SAMPLE_RATE // 512)
    low = jpg_spectrogram(tone(300.0, seconds=3.0))
    # a higher tone peaks in a higher mel row
    assert int(spec.mean(1).argmax()) > int(low.mean(1).argmax()) + 20


def test_logmel_round_trip_through_the_prepare_cache(tmp_path: Path) -> None:
    keys = write_fake_soundingearth(tmp_path, n=2, seed=4, image_px=64)
    report = prepare_spectrograms(tmp_path, encoding=LOGMEL)
    assert report.encoding == LOGMEL and report.decoded == 2
    audio = next((tmp_path / "audio").glob(f"{keys[0]}.*"))
    cached = read_cached_spectrogram(cache_folder(tmp_path) / f"{keys[0]}.npy")
    torch.testing.assert_close(cached, log_mel(load_audio(audio)), atol=1e-3, rtol=0)


def test_prepare_jpg_caches_the_jpg_encoding_and_the_reader_reads_it(
    tmp_path: Path, models, capsys
) -> None:
    keys = write_fake_soundingearth(tmp_path, n=2, seed=5, image_px=64)
    # prepare --model makes the model's encoding
    assert main(["prepare", "--data", str(tmp_path), "--model", str(models[JPG])]) == 0
    assert "decoded 2" in capsys.readouterr().out
    assert cache_folder(tmp_path, JPG) == tmp_path / "cache" / "jpg"
    assert not (tmp_path / "cache" / "logmel").exists()
    assert prepare_spectrograms(tmp_path, encoding=JPG).already_cached == 2
    raw = np.load(tmp_path / "cache" / "jpg" / f"{keys[1]}.npy")
    assert raw.dtype == np.uint8 and raw.shape[0] == N_MELS
    audio = next((tmp_path / "audio").glob(f"{keys[1]}.*"))
    expected = jpg_spectrogram(load_audio(audio, JPG_SAMPLE_RATE))
    scan = scan_pairs(tmp_path, split=None, encoding=JPG)
    assert scan.encoding == JPG and scan.source == "audio"
    pair = next(p for p in scan.pairs if p.recording.key == keys[1])
    assert pair.spectrogram == tmp_path / "cache" / "jpg" / f"{keys[1]}.npy"
    torch.testing.assert_close(load_pair_spectrogram(pair), expected)
    # a log-mel model never reads the JPG cache
    assert scan_pairs(tmp_path, split=None, encoding=LOGMEL).pairs[0].spectrogram is None


# --- one encoding per dataset ------------------------------------------------------------------


def test_a_dataset_mixing_encodings_is_refused_unless_one_is_chosen(mixed) -> None:
    root, keys = mixed
    with pytest.raises(EncodingError, match=r"3 recordings have only spectrograms.*--spectrograms"):
        scan_pairs(root, split=None)
    jpg = scan_pairs(root, split=None, spectrograms="jpg")
    assert jpg.encoding == JPG and [p.recording.key for p in jpg.pairs] == keys[3:]
    assert jpg.summary() == "skipped 3 of 6 pairs: 3 missing spectrograms"
    audio = scan_pairs(root, split=None, spectrograms="audio")
    assert audio.encoding == LOGMEL and [p.recording.key for p in audio.pairs] == keys[:3]
    assert all(p.spectrogram is None and p.encoding == LOGMEL for p in audio.pairs)
    assert PairDataset(audio.pairs, context_px=32, train=False)[0]["ok"]


def test_prepare_counts_jpg_only_recordings_for_the_jpg_encoding_only(mixed, tmp_path) -> None:
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(mixed[0], root)
    logmel = prepare_spectrograms(root, encoding=LOGMEL)
    assert logmel.summary() == "skipped 3 of 6 pairs: 3 missing audio"
    jpg = prepare_spectrograms(root, encoding=JPG)
    assert jpg.summary() == "skipped 0 of 6 pairs" and jpg.decoded == 3
    assert {p.spectrogram.suffix for p in jpg.pairs} == {".npy", ".jpg"}


def test_a_dataset_with_both_everywhere_uses_the_jpgs(tmp_path: Path) -> None:
    write_fake_soundingearth(tmp_path, n=3, seed=6, with_spectrograms=True, image_px=64)
    scan = scan_pairs(tmp_path, split=None)
    assert scan.source == "jpg" and all(p.spectrogram.suffix == ".jpg" for p in scan.pairs)
    assert scan_pairs(tmp_path, split=None, spectrograms="audio").encoding == LOGMEL


def test_cli_refuses_mixing_and_model_mismatch(mixed, models, tmp_path, capsys) -> None:
    root, _ = mixed
    args = ["evaluate", "--data", str(root), "--split", "all", "--device", "cpu"]
    assert main([*args, "--model", str(models[JPG])]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(root) in err and "--spectrograms" in err
    assert "3 recordings have only spectrograms/*.jpg" in err and "3 only raw audio" in err
    assert main([*args, "--model", str(models[LOGMEL])]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--spectrograms audio" in err
    assert "JPG encoding" in err and "log-mel" in err

    assert main([*args, "--model", str(models[LOGMEL]), "--spectrograms", "jpg"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "spectrograms" in err and str(models[LOGMEL]) in err
    assert "JPG encoding" in err and "log-mel" in err

    out = tmp_path / "index"
    index = ["index", "--data", str(root), "--out", str(out), "--device", "cpu"]
    assert main([*index, "--model", str(models[LOGMEL])]) == 2
    assert "--spectrograms audio" in capsys.readouterr().err
    assert not out.exists()
    assert main([*index, "--model", str(models[LOGMEL]), "--spectrograms", "audio"]) == 0
    assert SoundIndex.load(out).info["spectrogram_encoding"] == LOGMEL


def test_index_and_query_keep_the_models_encoding(mixed, models, tmp_path) -> None:
    root, keys = mixed
    out = tmp_path / "jpg-index"
    summary = build_index(root, models[JPG], out, device="cpu", workers=1, spectrograms="jpg")
    assert summary.count == 3
    index = SoundIndex.load(out)
    assert index.info["spectrogram_encoding"] == JPG
    assert all(f.startswith("spectrograms") for f in index.columns["file"])
    meta = load_model_metadata(models[JPG])
    index.check_encoding(models[JPG], meta)
    index.info["spectrogram_encoding"] = LOGMEL  # as if built for another encoding
    with pytest.raises(EncodingError, match="the sound index is in the product's log-mel"):
        index.check_encoding(models[JPG], meta)

    # the embedding of a JPG-model index entry is exactly its JPG's
    model, _ = load_audiovisual_model(models[JPG])
    first = index.columns["file"].index(f"spectrograms/{keys[3]}.jpg")
    expected = sound_embedding(
        model, read_spectrogram_image(root / "spectrograms" / f"{keys[3]}.jpg")
    )
    torch.testing.assert_close(index.embeddings[first], expected, atol=1e-5, rtol=0)


def test_soundmap_query_recordings_follow_the_models_encoding(
    mixed, models, tmp_path, capsys
) -> None:
    root, keys = mixed
    jpg_file = root / "spectrograms" / f"{keys[3]}.jpg"
    wav = next((root / "audio").glob(f"{keys[0]}.*"))
    model, _ = load_audiovisual_model(models[LOGMEL])
    with pytest.raises(EncodingError, match=rf"{keys[3]}\.jpg is in the SoundingEarth release"):
        recording_embedding(model, jpg_file, encoding=LOGMEL, model_name="m")
    # a raw recording goes through the JPG model's own front end
    jpg_model, _ = load_audiovisual_model(models[JPG])
    torch.testing.assert_close(
        recording_embedding(jpg_model, wav, encoding=JPG),
        sound_embedding(jpg_model, jpg_spectrogram(load_audio(wav, JPG_SAMPLE_RATE))),
    )
    stray = tmp_path / "stray.npy"
    np.save(stray, np.zeros((N_MELS, 10), np.float16))
    with pytest.raises(EncodingError, match="cannot tell the spectrogram encoding"):
        recording_embedding(jpg_model, stray, encoding=JPG)

    raster = tmp_path / "r.tif"
    from tests.backend.raster.fake_rasters import smooth_image, write_raster

    write_raster(raster, smooth_image(np.random.default_rng(1), 3, 64, 64))
    out = tmp_path / "heat.tif"
    command = [
        "soundmap",
        "--raster",
        str(raster),
        "--model",
        str(models[LOGMEL]),
        "--out",
        str(out),
    ]
    assert main([*command, "--audio", str(jpg_file), "--device", "cpu"]) == 2
    assert not out.exists()
    assert "JPG encoding" in capsys.readouterr().err


# --- the model file ----------------------------------------------------------------------------


def test_model_files_record_their_encoding_and_old_ones_get_the_documented_default(
    models, tmp_path, caplog
) -> None:
    assert load_model_metadata(models[JPG]).spectrogram["encoding"] == JPG
    assert load_model_metadata(models[JPG]).spectrogram["range"] == pytest.approx(
        [math.exp(-1.5), math.exp(0.5)]
    )
    logmel = load_model_metadata(models[LOGMEL]).spectrogram
    assert logmel["sample_rate"] == 22050 and logmel["n_mels"] == 128 and logmel["db_range"] == 80
    old = tiny_model(tmp_path / "old.safetensors", None)
    meta = load_model_metadata(old)
    assert meta.spectrogram is None and "spectrogram" not in meta.to_header()
    with caplog.at_level(logging.WARNING):
        assert model_encoding(meta, str(old)) == LOGMEL
    assert "records no spectrogram encoding" in caplog.text and str(old) in caplog.text
    imported = ModelMetadata(
        kind="audiovisual", audio_arch="resnet18", provenance={"imported_from": "best.pt"}
    )
    assert model_encoding(imported) == JPG  # the reference code reads only the JPGs


def test_pretrain_metadata_records_the_scans_encoding(tmp_path: Path) -> None:
    from backend.train import PretrainConfig, model_metadata

    config = PretrainConfig(data=str(tmp_path), out=str(tmp_path / "run"))
    assert model_metadata(config, {}, JPG).spectrogram == encoding_metadata(JPG)
    with pytest.raises(ValueError, match="--spectrograms"):
        PretrainConfig(data="d", out="o", spectrograms="png").validate()


def test_the_window_length_is_recorded_and_read_back(models, tmp_path: Path, capsys) -> None:
    """``--window-frames``: checked, recorded in the model file, 128 for files without it."""
    from backend.audio import MIN_WINDOW_FRAMES, WINDOW_FRAMES, EncodingError, model_window_frames
    from backend.train import PretrainConfig, model_metadata

    config = PretrainConfig(data=str(tmp_path), out=str(tmp_path / "run"), window_frames=48)
    recorded = model_metadata(config, {}, LOGMEL).spectrogram
    assert (
        recorded["window_frames"] == 48
        and model_window_frames(
            ModelMetadata(kind="audiovisual", audio_arch="resnet18", spectrogram=recorded)
        )
        == 48
    )
    assert model_window_frames(load_model_metadata(models[JPG])) == WINDOW_FRAMES
    assert (
        model_window_frames(ModelMetadata(kind="audiovisual", audio_arch="resnet18"))
        == WINDOW_FRAMES
    )
    with pytest.raises(EncodingError, match="at least"):
        encoding_metadata(LOGMEL, MIN_WINDOW_FRAMES - 1)
    with pytest.raises(ValueError, match="--window-frames"):
        PretrainConfig(data="d", out="o", window_frames=MIN_WINDOW_FRAMES - 1).validate()
    code = main(["pretrain", "--data", str(tmp_path), "--out", str(tmp_path / "r")]
                + ["--window-frames", "8"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("error: --window-frames must be at least 32")
