"""Import of khdlr/SoundingEarth checkpoints: key mapping both ways and reference-exact embeddings."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from backend.audio import read_spectrogram_image, spectrogram_windows
from backend.models.modelfile import (
    ModelFileError,
    load_audiovisual_model,
    load_model_file,
    load_model_metadata,
)
from backend.models.reference import ReferenceAudiovisualModel
from backend.models.reference_import import (
    export_reference_state_dict,
    import_reference_checkpoint,
)
from tests.backend.models.fake_reference_checkpoint import (
    IMAGE_PREFIX,
    SOUND_PREFIX,
    write_fake_checkpoint,
)

# The reference loader's spectrogram value range (data_loading.py).
LOW = math.exp(-15 / 10)
HIGH = math.exp(5 / 10)
IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


# --- an independent functional forward of the reference architecture --------------------


def _bn(state, prefix, x):
    return F.batch_norm(
        x,
        state[f"{prefix}.running_mean"],
        state[f"{prefix}.running_var"],
        state[f"{prefix}.weight"],
        state[f"{prefix}.bias"],
        training=False,
        eps=1e-5,
    )


def _block(state, p, x, bottleneck, stride):
    if bottleneck:
        out = F.relu(_bn(state, f"{p}.bn1", F.conv2d(x, state[f"{p}.conv1.weight"])))
        out = F.conv2d(out, state[f"{p}.conv2.weight"], stride=stride, padding=1)
        out = F.relu(_bn(state, f"{p}.bn2", out))
        out = _bn(state, f"{p}.bn3", F.conv2d(out, state[f"{p}.conv3.weight"]))
    else:
        out = F.conv2d(x, state[f"{p}.conv1.weight"], stride=stride, padding=1)
        out = F.relu(_bn(state, f"{p}.bn1", out))
        out = _bn(state, f"{p}.bn2", F.conv2d(out, state[f"{p}.conv2.weight"], padding=1))
    identity = x
    if f"{p}.downsample.0.weight" in state:
        identity = F.conv2d(x, state[f"{p}.downsample.0.weight"], stride=stride)
        identity = _bn(state, f"{p}.downsample.1", identity)
    return F.relu(out + identity)


def reference_feature_map(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """conv-bn-relu-maxpool stem, four stages of residual blocks (weights from ``state``)."""
    bottleneck = "layer1.0.conv3.weight" in state
    x = F.conv2d(x, state["conv1.weight"], stride=2, padding=3)
    x = F.max_pool2d(F.relu(_bn(state, "bn1", x)), kernel_size=3, stride=2, padding=1)
    for stage in range(1, 5):
        block = 0
        while f"layer{stage}.{block}.conv1.weight" in state:
            stride = 2 if stage > 1 and block == 0 else 1
            x = _block(state, f"layer{stage}.{block}", x, bottleneck, stride)
            block += 1
    return x


def reference_image_embedding(state, normalised_images):
    """Image encoder (final_pool=False) + ImageMeanPool: 1x1 conv on the map, then spatial mean."""
    z = F.conv2d(
        reference_feature_map(state, normalised_images), state["fc.weight"], state["fc.bias"]
    )
    return z.reshape(*z.shape[:2], -1).mean(dim=2)


def reference_sound_embedding(state, windows):
    """Sound encoder (final_pool=True): global average pool, 1x1 conv, flatten."""
    pooled = F.adaptive_avg_pool2d(reference_feature_map(state, windows), (1, 1))
    return torch.flatten(F.conv2d(pooled, state["fc.weight"], state["fc.bias"]), 1)


def sub_state(state, prefix):
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


# --- tests --------------------------------------------------------------------------------


#: stem and stage widths of the reference's two layouts, from its lib/models/resnet.py
WIDTHS = {"final": [32, 64, 182, 256, 512], "2c55025": [32, 32, 64, 128, 256]}


@pytest.mark.parametrize(
    ("layout", "image_arch"),
    [
        ("final", "resnet18"),
        ("final", "resnet50"),
        ("2c55025", "resnet18"),
        ("2c55025", "resnet50"),
    ],
)
def test_import_is_exact_and_reversible(tmp_path, layout, image_arch) -> None:
    ckpt = tmp_path / "latest.pt"
    state = write_fake_checkpoint(ckpt, image_arch=image_arch, seed=3, layout=layout)
    out = tmp_path / "model.safetensors"
    meta = import_reference_checkpoint(ckpt, out)  # architecture and widths read from shapes
    assert meta.family == "reference" and meta.embed_dim == 128
    assert (meta.image_arch, meta.audio_arch) == (image_arch, "resnet18")
    assert meta.widths == {"image": WIDTHS[layout], "audio": WIDTHS[layout]}
    assert meta.provenance["layout"] == {"image": layout, "audio": layout}

    # every tensor consumed, and the inverse mapping gives the checkpoint back bit for bit
    back = export_reference_state_dict(out)
    assert set(back) == set(state)
    for key, tensor in state.items():
        assert back[key].dtype == tensor.dtype, key
        assert torch.equal(back[key], tensor), key
    stored, _ = load_model_file(out)
    assert len(stored) == len(state)

    model, loaded_meta = load_audiovisual_model(out)
    assert isinstance(model, ReferenceAudiovisualModel) and not model.training
    assert loaded_meta == meta

    g = torch.Generator().manual_seed(1)
    images = torch.rand(2, 3, 96, 96, generator=g)
    with torch.no_grad():
        ours = model.encode_image(images)
        expected = reference_image_embedding(
            sub_state(state, IMAGE_PREFIX), (images - IMAGENET_MEAN) / IMAGENET_STD
        )
    assert ours.shape == (2, 128)
    assert float((expected[0] - expected[1]).abs().max()) > 1e-3  # the input matters
    torch.testing.assert_close(ours, expected, rtol=0.0, atol=1e-5)

    # the spectrogram as the dataset ships it: an 8-bit image, rows as stored
    pixels = np.random.default_rng(4).integers(0, 256, (128, 384), dtype=np.uint8)
    png = tmp_path / "spec.png"  # lossless, so both readers see the same bytes
    Image.fromarray(pixels).save(png)
    windows = spectrogram_windows(read_spectrogram_image(png)).unsqueeze(1)
    reference_input = np.asarray(Image.open(png)).astype(np.float32)
    reference_input = reference_input * ((HIGH - LOW) / 255) + LOW
    reference_windows = torch.from_numpy(
        reference_input.reshape(128, -1, 128).transpose(1, 0, 2).copy()
    ).unsqueeze(1)
    with torch.no_grad():
        ours = model.encode_audio(windows)
        expected = reference_sound_embedding(sub_state(state, SOUND_PREFIX), reference_windows)
    assert ours.shape == (3, 128)
    torch.testing.assert_close(ours, expected, rtol=0.0, atol=1e-5)
    # the row order matters: the same windows upside down embed elsewhere
    with torch.no_grad():
        upside_down = reference_sound_embedding(
            sub_state(state, SOUND_PREFIX), reference_windows.flip(2)
        )
    assert float((upside_down - expected).abs().max()) > 1e-3

    # the raster tools' encoder gives the same direction, L2-normalised
    with torch.no_grad():
        unit = model.image_encoder(images)
    torch.testing.assert_close(unit, F.normalize(model.encode_image(images), dim=1))


def test_metadata_records_origin_and_conventions(tmp_path) -> None:
    ckpt = tmp_path / "best.pt"
    write_fake_checkpoint(ckpt, embed_dim=16)
    out = tmp_path / "m.safetensors"
    import_reference_checkpoint(ckpt, out)
    meta = load_model_metadata(out)
    assert meta.provenance["imported_sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert meta.provenance["imported_from"] == "best.pt"
    assert len(meta.provenance["reference_commit"]) == 40
    conventions = meta.extra["reference"]
    assert conventions["distance"] == "euclidean"
    assert conventions["spectrogram_range"] == pytest.approx([LOW, HIGH])
    assert meta.normalization["mean"] == pytest.approx([0.485, 0.456, 0.406])
    assert meta.normalization["std"] == pytest.approx([0.229, 0.224, 0.225])
    assert meta.embed_dim == 16 and meta.tile_px == 192


def test_loss_head_keys_are_left_out_but_unknown_keys_are_refused(tmp_path) -> None:
    ckpt = tmp_path / "simclr.pt"
    head = {
        "loss_function.g.0.weight": torch.zeros(512, 128),
        "loss_function.g.0.bias": torch.zeros(512),
    }
    write_fake_checkpoint(ckpt, extra=head)
    meta = import_reference_checkpoint(ckpt, tmp_path / "ok.safetensors")
    assert meta.provenance["ignored_keys"] == sorted(head)

    bad = tmp_path / "bad.pt"
    state = write_fake_checkpoint(
        bad, extra={"img_encoder.module_list.1.attention": torch.zeros(3)}
    )
    del state[SOUND_PREFIX + "fc.bias"]
    state[IMAGE_PREFIX + "fc.weight"] = torch.zeros(128, 99, 1, 1)
    torch.save(state, bad)
    with pytest.raises(ModelFileError) as error:
        import_reference_checkpoint(bad, tmp_path / "bad.safetensors")
    message = str(error.value)
    assert "unknown: img_encoder.module_list.1.attention" in message
    assert "missing: audio_encoder.net.fc.bias" in message
    assert "wrong shape: image_encoder.net.fc.weight" in message
    assert not (tmp_path / "bad.safetensors").exists()


def test_wrong_architecture_is_named(tmp_path) -> None:
    ckpt = tmp_path / "r18.pt"
    write_fake_checkpoint(ckpt, image_arch="resnet18")
    with pytest.raises(
        ModelFileError,
        match="--image-arch resnet50, but the image encoder's weights are a resnet18",
    ):
        import_reference_checkpoint(ckpt, tmp_path / "x.safetensors", image_arch="resnet50")


def test_widths_of_neither_layout_are_refused_with_the_shapes_found(tmp_path) -> None:
    from tests.backend.models.fake_reference_checkpoint import (
        SOUND_PREFIX as SND,
    )
    from tests.backend.models.fake_reference_checkpoint import (
        STAGE_PLANES,
        random_state,
        resnet_shapes,
    )

    # torchvision's widths (64 stem, 64/128/256/512): a ResNet, but not the reference's
    STAGE_PLANES["torchvision"] = (64, 128, 256, 512)
    try:
        shapes = {IMAGE_PREFIX + k: v for k, v in resnet_shapes("resnet18", 3, 8).items()}
        shapes.update(
            {SND + k: v for k, v in resnet_shapes("resnet18", 1, 8, "torchvision").items()}
        )
    finally:
        del STAGE_PLANES["torchvision"]
    ckpt = tmp_path / "odd.pt"
    torch.save(random_state(shapes), ckpt)
    with pytest.raises(ModelFileError) as error:
        import_reference_checkpoint(ckpt, tmp_path / "x.safetensors")
    message = str(error.value)
    assert "audio encoder: stem 32, stages 64/128/256/512 is neither layout" in message
    assert "final (commit 2b7755c): stem 32, stages 64/182/256/512" in message
    assert "2c55025 (commit 2c55025): stem 32, stages 32/64/128/256" in message
    assert "audio_encoder.net.layer2.0.conv1.weight 128x64x3x3" in message
    assert "image encoder" not in message  # the image encoder has the final layout
    assert not (tmp_path / "x.safetensors").exists()


def test_a_release_zip_with_its_config_is_imported(tmp_path) -> None:
    import zipfile

    ckpt = tmp_path / "latest.pt"
    state = write_fake_checkpoint(ckpt, embed_dim=8, seed=2)
    archive = tmp_path / "SoundingEarth-ResNet18.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(ckpt, "run/checkpoints/latest.pt")
        zf.writestr("run/config.yml", "ImageEncoder: ResNet18\nLossFunction: SymmetricCL\n")
    ckpt.unlink()  # only the archive is imported
    out = tmp_path / "m.safetensors"
    meta = import_reference_checkpoint(archive, out)
    assert meta.image_arch == "resnet18" and meta.extra["reference"]["distance"] == "cosine"
    assert "SymmetricCL" in meta.provenance["config_yml"]
    assert set(export_reference_state_dict(out)) == set(state)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([archive.name, "m.safetensors"])
    # nothing extracted is left behind
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("README.txt", "no weights here")
    with pytest.raises(ModelFileError, match="without a checkpoint.*README.txt"):
        import_reference_checkpoint(empty, tmp_path / "n.safetensors")


def test_files_without_recorded_widths_load_as_the_2c55025_layout(tmp_path) -> None:
    """Reference files imported before widths were recorded hold the narrow layout."""
    from backend.models.modelfile import save_model_file

    ckpt = tmp_path / "narrow.pt"
    write_fake_checkpoint(ckpt, embed_dim=8, layout="2c55025")
    out = tmp_path / "new.safetensors"
    import_reference_checkpoint(ckpt, out)
    state, meta = load_model_file(out)
    meta.widths = None  # as an older version of the importer wrote it
    old = tmp_path / "old.safetensors"
    save_model_file(old, state, meta)
    assert "widths" not in load_model_metadata(old).to_header()
    model, _ = load_audiovisual_model(old)
    assert model.image_encoder.net.widths.to_list() == WIDTHS["2c55025"]


class NotATensor:
    """A Python object a weights-only load must refuse."""


def test_pickled_code_is_refused(tmp_path) -> None:
    ckpt = tmp_path / "evil.pt"
    torch.save({"img_encoder.module_list.0.conv1.weight": NotATensor()}, ckpt)
    with pytest.raises(ModelFileError, match="refused"):
        import_reference_checkpoint(ckpt, tmp_path / "x.safetensors")


def test_cli_import_reference(tmp_path, capsys) -> None:
    from backend.cli import main

    ckpt = tmp_path / "latest.pt"
    write_fake_checkpoint(ckpt, embed_dim=8)
    out = tmp_path / "model.safetensors"
    args = ["import-reference", "--checkpoint", str(ckpt), "--image-arch"]
    assert main([*args, "resnet18", "--out", str(out)]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert (
        out.is_file() and "final / final layout" in printed and "[32, 64, 182, 256, 512]" in printed
    )
    header = load_model_metadata(out)
    assert header.family == "reference"
    assert main([*args, "resnet50", "--out", str(tmp_path / "y.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_family_field_defaults_to_native_and_unknown_families_are_refused(tmp_path) -> None:
    from backend.models.modelfile import ModelMetadata

    header = ModelMetadata(kind="audiovisual", audio_arch="resnet18").to_header()
    assert header["family"] == "native"
    del header["family"]  # a file written before the field existed
    assert ModelMetadata.from_header(header).family == "native"
    header["family"] = "vit-future"
    with pytest.raises(ModelFileError, match="family must be one of .*update the plugin"):
        ModelMetadata.from_header(header, source="m.safetensors")
