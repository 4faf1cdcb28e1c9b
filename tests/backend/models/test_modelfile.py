"""Tests for the safetensors model file: metadata, round trips, refusal of pickled code."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
import torch
from safetensors.torch import save_file

from backend.models.encoders import AudiovisualModel
from backend.models.modelfile import (
    FORMAT_VERSION,
    ModelFileError,
    ModelMetadata,
    import_legacy_checkpoint,
    load_audiovisual_model,
    load_model_file,
    load_model_metadata,
    save_audiovisual_model,
    save_model_file,
)


def classifier_metadata() -> ModelMetadata:
    return ModelMetadata(
        kind="classifier",
        image_arch="resnet18",
        bands=[3, 2, 1, 4],
        normalization={"mean": [0.1, 0.2, 0.3, 0.4], "std": [1.0, 1.0, 1.0, 2.0], "scale": 255.0},
        tile_px=64,
        resolution_m=0.3,
        class_names=["water", "forest"],
        class_colors=["#0000ff", "#00aa00"],
        provenance={"command": "finetune", "epochs": 3, "git_commit": "abc123"},
        extra={"note": "ünïcode"},
    )


def av_metadata() -> ModelMetadata:
    return ModelMetadata(kind="audiovisual", image_arch="resnet18", audio_arch="resnet18")


@pytest.fixture(scope="module")
def av_model() -> AudiovisualModel:
    torch.manual_seed(0)
    return AudiovisualModel(embed_dim=16).eval()


def test_header_round_trip_is_strings_only() -> None:
    meta = classifier_metadata()
    header = meta.to_header()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in header.items())
    assert header["format_version"] == FORMAT_VERSION
    assert json.loads(header["class_names"]) == ["water", "forest"]
    assert "audio_arch" not in header
    assert ModelMetadata.from_header(header) == meta


def test_header_errors_name_the_problem() -> None:
    header = classifier_metadata().to_header()
    del header["kind"], header["tile_px"]
    with pytest.raises(ModelFileError, match="kind, tile_px"):
        ModelMetadata.from_header(header, source="m.safetensors")
    header = {**classifier_metadata().to_header(), "format_version": "99"}
    with pytest.raises(ModelFileError, match="version '99'"):
        ModelMetadata.from_header(header)
    header = {**classifier_metadata().to_header(), "bands": "[1, 2"}
    with pytest.raises(ModelFileError, match="'bands'"):
        ModelMetadata.from_header(header)
    with pytest.raises(ModelFileError, match="audio_arch"):
        ModelMetadata(kind="audiovisual")
    with pytest.raises(ModelFileError, match="one value per band"):
        ModelMetadata(kind="classifier", bands=[1])


def test_save_and_load_tensors_with_shared_and_strided_storage(tmp_path) -> None:
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    state = {
        "w": base,
        "tied": base,  # same storage as "w"
        "column": base[:, 1],  # non-contiguous view
        "step": torch.tensor(7),
    }
    path = tmp_path / "m.safetensors"
    save_model_file(path, state, classifier_metadata())
    loaded, meta = load_model_file(path)
    assert meta == classifier_metadata()
    assert loaded.keys() == state.keys()
    for key, value in state.items():
        assert torch.equal(loaded[key], value)
    assert load_model_metadata(path) == meta
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temporary left


def test_not_a_model_file_is_explained(tmp_path) -> None:
    text = tmp_path / "notes.safetensors"
    text.write_text("hello, not weights")
    with pytest.raises(
        ModelFileError,
        match=r"notes\.safetensors: not a Sounding Earth model file \(expected \.safetensors",
    ):
        load_model_file(text)
    bare = tmp_path / "bare.safetensors"
    save_file({"x": torch.zeros(1)}, str(bare))
    with pytest.raises(ModelFileError, match="bare.safetensors: not a Sounding Earth model file"):
        load_model_file(bare)
    pt = tmp_path / "old.pt"
    torch.save({"x": torch.zeros(1)}, pt)
    with pytest.raises(ModelFileError, match="python -m backend import-reference"):
        load_model_file(pt)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        load_model_file(tmp_path / "missing.safetensors")


def test_audiovisual_round_trip_gives_identical_embeddings(tmp_path, av_model) -> None:
    meta = dataclasses.replace(av_metadata(), embed_dim=16, provenance={"dataset": "demo"})
    path = tmp_path / "av.safetensors"
    save_audiovisual_model(path, av_model, meta)
    loaded, loaded_meta = load_audiovisual_model(path)
    assert loaded_meta == meta
    assert not loaded.training
    images, audio = torch.rand(2, 3, 32, 32), torch.rand(2, 1, 128, 32)
    with torch.no_grad():
        expected = av_model(images, audio)
        got = loaded(images, audio)
    assert torch.equal(expected[0], got[0]) and torch.equal(expected[1], got[1])


def test_loading_an_audiovisual_model_leaves_the_random_generator_alone(tmp_path, av_model):
    path = tmp_path / "av.safetensors"
    save_audiovisual_model(path, av_model, dataclasses.replace(av_metadata(), embed_dim=16))
    torch.manual_seed(3)
    expected = torch.rand(4)
    torch.manual_seed(3)
    load_audiovisual_model(path)
    assert torch.equal(torch.rand(4), expected)


def test_audiovisual_metadata_must_match_the_model(tmp_path, av_model) -> None:
    with pytest.raises(ValueError, match="embed_dim"):
        save_audiovisual_model(tmp_path / "x.safetensors", av_model, av_metadata())  # 128 != 16
    save_model_file(tmp_path / "c.safetensors", {"w": torch.zeros(2)}, classifier_metadata())
    with pytest.raises(ModelFileError, match="classifier model, not an audiovisual"):
        load_audiovisual_model(tmp_path / "c.safetensors")


def test_import_legacy_checkpoint_nested_and_prefixed(tmp_path, av_model) -> None:
    state = {f"module.{k}": v for k, v in av_model.state_dict().items()}
    pt = tmp_path / "legacy.pt"
    torch.save({"epoch": 3, "state_dict": state}, pt)
    meta = dataclasses.replace(av_metadata(), embed_dim=16)
    out = tmp_path / "imported.safetensors"
    written = import_legacy_checkpoint(pt, out, meta)
    assert written.provenance["imported_from"] == "legacy.pt"
    assert len(written.provenance["imported_sha256"]) == 64
    model, loaded_meta = load_audiovisual_model(out)
    assert loaded_meta == written
    for key, value in av_model.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)


def test_import_legacy_checkpoint_renames_prefixes_and_checks_keys(tmp_path, av_model) -> None:
    renamed = {k.replace("image_encoder.", "img.", 1): v for k, v in av_model.state_dict().items()}
    pt = tmp_path / "other_names.pt"
    torch.save({"model": renamed}, pt)
    meta = dataclasses.replace(av_metadata(), embed_dim=16)
    with pytest.raises(
        ModelFileError, match=r"other_names\.pt: weights do not fit.*missing: image_encoder"
    ):
        import_legacy_checkpoint(pt, tmp_path / "a.safetensors", meta)
    assert not (tmp_path / "a.safetensors").exists()
    import_legacy_checkpoint(
        pt, tmp_path / "b.safetensors", meta, rename_prefixes={"img.": "image_encoder."}
    )
    load_audiovisual_model(tmp_path / "b.safetensors")


class _Malicious:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_import_refuses_a_pickle_that_runs_code(tmp_path) -> None:
    marker = tmp_path / "pwned"
    pt = tmp_path / "evil.pt"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "payload": _Malicious(str(marker))}, pt)
    with pytest.raises(
        ModelFileError, match=r"evil\.pt: refused to load: the file contains Python objects"
    ):
        import_legacy_checkpoint(pt, tmp_path / "out.safetensors", classifier_metadata())
    assert not marker.exists()
    assert not (tmp_path / "out.safetensors").exists()


def test_import_rejects_non_tensor_entries_and_missing_files(tmp_path) -> None:
    pt = tmp_path / "mixed.pt"
    torch.save({"w": torch.zeros(1), "lr": 0.1}, pt)
    with pytest.raises(ModelFileError, match="not: lr"):
        import_legacy_checkpoint(pt, tmp_path / "o.safetensors", classifier_metadata())
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        import_legacy_checkpoint(
            tmp_path / "absent.pt", tmp_path / "o.safetensors", classifier_metadata()
        )


def test_a_header_length_that_looks_like_a_pickle_opcode_still_loads(tmp_path) -> None:
    """A safetensors file starts with its header length; 0x80 0x02..0x05 there is not a pickle."""
    path = tmp_path / "model.safetensors"
    weights = {"w": torch.zeros(2)}
    for filler in range(600):
        meta = dataclasses.replace(classifier_metadata(), extra={"note": "x" * filler})
        save_model_file(path, weights, meta)
        if path.read_bytes()[0] == 0x80 and path.read_bytes()[1] in (2, 3, 4, 5):
            break
    else:
        raise AssertionError("no filler gives the wanted header length")
    assert load_model_metadata(path).class_names == ["water", "forest"]


def test_building_to_load_skips_random_weights_in_its_own_thread_only() -> None:
    """QGIS runs Processing algorithms in threads: a model built meanwhile in another
    thread still draws its initial weights (torch's generator advances there)."""
    import threading

    from backend.models.modelfile import build_to_load

    drew: dict[str, bool] = {}

    def other_thread() -> None:
        before = torch.random.get_rng_state()
        torch.nn.Linear(4, 4)
        drew["elsewhere"] = not torch.equal(torch.random.get_rng_state(), before)

    def build() -> torch.nn.Linear:
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        before = torch.random.get_rng_state()
        model = torch.nn.Linear(4, 4)
        drew["here"] = not torch.equal(torch.random.get_rng_state(), before)
        return model

    build_to_load(build)
    assert drew == {"elsewhere": True, "here": False}
