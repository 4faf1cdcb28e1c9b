"""ADVANCE audiovisual scene classification: the released layout, the four embedding variants,
5 splits, weighted precision/recall/F1, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from backend.cli import main
from backend.models.encoders import AudiovisualModel
from backend.models.modelfile import ModelMetadata, save_audiovisual_model
from backend.transfer.advance import (
    VARIANTS,
    logistic_regression_predict,
    run_advance,
    scan_advance,
    stratified_split,
)

#: three of ADVANCE's 13 classes (folder names as released, spaces included)
CLASSES = {"airport": (150, 150, 160), "forest": (30, 110, 40), "sparse shrub land": (170, 150, 90)}
#: a tone per class, so the sounds carry the class too
TONES = {"airport": 300.0, "forest": 1500.0, "sparse shrub land": 4000.0}
PER_CLASS = 10
RATE = 22050


def write_fake_advance(root: Path, per_class: int = PER_CLASS, side: int = 32) -> Path:
    """``vision/<class>/<id>.jpg`` and ``sound/<class>/<id>.wav`` as the two Zenodo archives
    unpack; ids numbered across classes like the release (00001, 00002, ...). One image has
    no sound, one sound no image, one WAV is not decodable."""
    rng = np.random.default_rng(0)
    number = 0
    for name, colour in CLASSES.items():
        (root / "vision" / name).mkdir(parents=True)
        (root / "sound" / name).mkdir(parents=True)
        for _ in range(per_class):
            number += 1
            stem = f"{number:05d}"
            pixels = np.clip(
                np.array(colour)[None, None] + rng.normal(0, 20, (side, side, 3)), 0, 255
            )
            Image.fromarray(pixels.astype(np.uint8)).save(root / "vision" / name / f"{stem}.jpg")
            t = np.arange(int(1.5 * RATE)) / RATE
            wave = 0.3 * np.sin(2 * np.pi * TONES[name] * t) + 0.02 * rng.normal(size=t.size)
            soundfile.write(root / "sound" / name / f"{stem}.wav", wave.astype(np.float32), RATE)
    Image.new("RGB", (side, side)).save(root / "vision" / "forest" / "09998.jpg")
    soundfile.write(root / "sound" / "forest" / "09999.wav", np.zeros(RATE, np.float32), RATE)
    (root / "sound" / "airport" / "00001.wav").write_bytes(b"RIFF\0\0\0\0WAVEnot audio")
    return root


@pytest.fixture(scope="module")
def advance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_advance(tmp_path_factory.mktemp("advance") / "ADVANCE")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained audiovisual model file (the format matters here, not the weights)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "model.safetensors"
    save_audiovisual_model(
        path, AudiovisualModel(), ModelMetadata(kind="audiovisual", audio_arch="resnet18")
    )
    return path


def test_scan_pairs_images_and_sounds_by_class_and_stem(advance_dir: Path, tmp_path: Path) -> None:
    dataset = scan_advance(advance_dir)
    assert dataset.class_names == ["airport", "forest", "sparse shrub land"]
    assert len(dataset.scenes) == 3 * PER_CLASS  # the broken WAV is found when decoded
    assert all(s.image.stem == s.sound.stem for s in dataset.scenes)
    assert (
        dataset.summary()
        == f"skipped 2 of {6 * PER_CLASS + 2} files: 1 missing sound, 1 missing image"
    )
    (tmp_path / "vision").mkdir()
    with pytest.raises(FileNotFoundError, match="no sound/ folder"):
        scan_advance(tmp_path)


def test_splits_and_logistic_regression() -> None:
    labels = np.repeat([0, 1, 2], [10, 20, 30])
    rest, test = stratified_split(labels, 0.2, seed=0)
    assert np.bincount(labels[test]).tolist() == [2, 4, 6]
    assert sorted(rest.tolist() + test.tolist()) == list(range(60))
    # scikit-learn's LogisticRegression(C=1) on raw features, reimplemented
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    centres = rng.normal(0, 1.5, (3, 8))
    x = centres[labels] + rng.normal(0, 1, (60, 8))
    ours = logistic_regression_predict(x[rest], labels[rest], x, 3)
    reference = LogisticRegression(C=1.0, max_iter=10000).fit(x[rest], labels[rest]).predict(x)
    assert (ours == reference).mean() >= 0.95


def test_run_advance_reports_four_variants_over_five_splits(
    advance_dir: Path, model_file: Path
) -> None:
    result = run_advance(advance_dir, model_file, device="cpu")
    assert result["n_scenes"] == 3 * PER_CLASS - 1  # less the undecodable WAV
    assert "1 unreadable sound" in result["skipped"]
    assert list(result["variants"]) == list(VARIANTS)
    for values in result["variants"].values():
        assert len(values["runs"]) == 5
        for key in ("precision", "recall", "f1", "accuracy"):
            runs = [r[key] for r in values["runs"]]
            assert values[key]["mean"] == pytest.approx(np.mean(runs))
            assert all(0.0 <= v <= 1.0 for v in runs)
    # weighted recall is overall accuracy
    image = result["variants"]["image"]
    assert image["recall"]["mean"] == pytest.approx(image["accuracy"]["mean"])
    # distinct colours: even untrained image embeddings separate them (measured: weighted F1
    # 1.00 for image and concat with model seeds 0-2 x split seeds 0-1; chance is 1/3; the
    # untrained sound encoder merges two tones, 0.56)
    assert image["f1"]["mean"] > 0.8 and result["variants"]["concat"]["f1"]["mean"] > 0.8


def test_cli_transfer_task_advance(
    advance_dir: Path, model_file: Path, tmp_path: Path, capsys
) -> None:
    report = tmp_path / "advance.json"
    code = main(
        ["transfer", "--task", "advance", "--data", str(advance_dir), "--model", str(model_file)]
        + ["--device", "cpu", "--splits", "2", "--json", str(report)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "precision" in printed and "recall" in printed
    assert all(f"\n{variant} " in printed for variant in VARIANTS)
    saved = json.loads(report.read_text())
    assert saved["task"] == "advance" and saved["splits"] == 2
    assert all(len(v["runs"]) == 2 for v in saved["variants"].values())
    assert main(["transfer", "--task", "advance", "--data", str(advance_dir)]) == 2
    assert "--task advance needs --model" in capsys.readouterr().err
    code = main(
        ["transfer", "--task", "advance", "--data", str(tmp_path), "--model", str(model_file)]
    )
    assert code == 2
    assert "no vision/ folder" in capsys.readouterr().err


def test_batched_embeddings_equal_one_scene_at_a_time(advance_dir: Path, model_file: Path) -> None:
    from backend.transfer.advance import embed_advance

    dataset = scan_advance(advance_dir)
    dataset.scenes = dataset.scenes[:7]  # the undecodable WAV is the first scene
    one = embed_advance(dataset, model_file, "cpu", batch_size=1, workers=1)
    many = embed_advance(dataset, model_file, "cpu", batch_size=32, workers=4)
    assert len(one[3].scenes) == len(many[3].scenes) == 6
    np.testing.assert_allclose(one[0], many[0], atol=1e-5)
    np.testing.assert_allclose(one[1], many[1], atol=1e-5)
    assert np.array_equal(one[2], many[2])
    # this project's embeddings are unit vectors
    np.testing.assert_allclose(np.linalg.norm(many[1], axis=1), 1.0, atol=1e-5)


def test_sounds_are_read_in_the_model_encoding(advance_dir: Path, tmp_path: Path) -> None:
    """A model trained on the release's JPGs hears ADVANCE's WAVs through the JPG front end."""
    from backend.audio import JPG, LOGMEL, encoding_metadata, spectrogram_for_model
    from backend.transfer.advance import _load_sound, embed_advance

    wav = sorted((advance_dir / "sound" / "forest").glob("*.wav"))[0]  # a tone, not the silence
    jpg_windows, logmel_windows = _load_sound(wav, JPG, 128), _load_sound(wav, LOGMEL, 128)
    assert not torch.allclose(jpg_windows.mean(), logmel_windows.mean())
    spec = spectrogram_for_model(wav, JPG)
    frames = min(spec.shape[-1], jpg_windows.shape[-1])
    torch.testing.assert_close(jpg_windows[0][:, :frames], spec[:, :frames])

    embeddings = {}
    for encoding in (JPG, LOGMEL):
        torch.manual_seed(0)
        path = tmp_path / f"{encoding}.safetensors"
        metadata = ModelMetadata(
            kind="audiovisual", audio_arch="resnet18", spectrogram=encoding_metadata(encoding)
        )
        save_audiovisual_model(path, AudiovisualModel(), metadata)
        dataset = scan_advance(advance_dir)
        dataset.scenes = dataset.scenes[1:3]
        embeddings[encoding] = embed_advance(dataset, path, "cpu", workers=1)[1]
    assert not np.allclose(embeddings[JPG], embeddings[LOGMEL], atol=1e-4)
