"""Every audiovisual command runs an imported reference-family model unchanged (CLI, tiny data)."""

from __future__ import annotations

import json

import numpy as np
import rasterio
import torch
from PIL import Image

from backend.cli import main
from backend.extent_query import embed_extent
from backend.index import SoundIndex
from backend.models.modelfile import load_audiovisual_model
from backend.raster.grid import Extent
from tests.backend.data.fake_soundingearth import write_fake_soundingearth
from tests.backend.models.fake_reference_checkpoint import write_fake_checkpoint
from tests.backend.raster.fake_rasters import UTM_ORIGIN, smooth_image, write_raster


def test_evaluate_index_query_embed_soundmap_with_an_imported_model(tmp_path, capsys) -> None:
    checkpoint = tmp_path / "latest.pt"
    write_fake_checkpoint(checkpoint, embed_dim=8, seed=2)
    model = tmp_path / "reference.safetensors"
    args = ["--checkpoint", str(checkpoint), "--image-arch", "resnet18", "--out", str(model)]
    assert main(["import-reference", *args]) == 0

    # the dataset as SoundingEarth ships it: images/*.jpg and spectrograms/*.jpg, no audio
    data = tmp_path / "soundingearth"
    keys = write_fake_soundingearth(data, n=6, with_audio=False, with_spectrograms=True)
    assert sorted(int(p.stem) for p in (data / "spectrograms").glob("*.jpg")) == keys
    report = tmp_path / "eval.json"
    code = main(
        ["evaluate", "--data", str(data), "--model", str(model), "--split", "all"]
        + ["--json", str(report), "--device", "cpu"]
    )
    assert code == 0, capsys.readouterr().err
    metrics = json.loads(report.read_text())
    assert metrics["n"] == 6 and metrics["distance"] == "euclidean"
    assert 1 <= metrics["topk"]["image_to_sound"]["median_rank"] <= 6
    assert 1 <= metrics["paper"]["sound_to_image"]["median_rank"] <= 6

    index = tmp_path / "index"
    code = main(
        ["index", "--data", str(data), "--model", str(model), "--out", str(index)]
        + ["--device", "cpu"]
    )
    assert code == 0
    assert "indexed 6 recordings" in capsys.readouterr().out

    # and from raw recordings (wav, flac, ogg, mp3) through this project's log-mel front end
    raw = tmp_path / "raw"
    write_fake_soundingearth(raw, n=4, image_px=64)
    code = main(
        ["index", "--data", str(raw), "--model", str(model), "--out", str(tmp_path / "raw-index")]
        + ["--device", "cpu"]
    )
    assert code == 0
    assert "indexed 4 recordings" in capsys.readouterr().out

    # the raster must hold one 192 px tile, the reference's input size
    raster = write_raster(tmp_path / "img.tif", smooth_image(np.random.default_rng(1), 3, 200, 200))
    side = 200 * 0.5
    extent = f"{UTM_ORIGIN[0]},{UTM_ORIGIN[1] - side},{UTM_ORIGIN[0] + side},{UTM_ORIGIN[1]}"
    answer = tmp_path / "answer.json"
    code = main(
        ["query", "--index", str(index), "--model", str(model), "--raster", str(raster)]
        + ["--extent", extent, "--top", "3", "--json", str(answer), "--device", "cpu"]
    )
    assert code == 0, capsys.readouterr().err
    matches = json.loads(answer.read_text())["matches"]
    assert len(matches) == 3
    assert {m["key"] for m in matches} <= set(keys)
    # the reference ranks by Euclidean distance between unnormalised embeddings
    loaded = SoundIndex.load(index)
    assert loaded.distance == "euclidean"
    assert not torch.allclose(loaded.embeddings.norm(dim=1), torch.ones(6), atol=1e-3)
    model_, meta = load_audiovisual_model(model)
    centre = embed_extent(model_, meta, raster, Extent.parse(extent), distance="euclidean")
    distances = torch.linalg.norm(loaded.embeddings - centre.vector, dim=1)
    nearest = distances.argsort()[:3]
    assert [m["key"] for m in matches] == [int(loaded.keys[i]) for i in nearest]
    expected = [-float(distances[i]) for i in nearest]
    assert np.allclose([m["similarity"] for m in matches], expected, atol=1e-4)

    common = ["--raster", str(raster), "--model", str(model), "--device", "cpu"]
    embedded = tmp_path / "emb.tif"
    assert main(["embed", *common, "--stride", "96", "--out", str(embedded)]) == 0
    with rasterio.open(embedded) as dst:
        assert dst.count == 8
        values = dst.read()
    finite = values[:, np.isfinite(values).all(axis=0)]
    assert finite.size and np.allclose(np.linalg.norm(finite, axis=0), 1.0, atol=1e-4)

    spectrogram = data / "spectrograms" / f"{keys[0]}.jpg"
    assert Image.open(spectrogram).size[1] == 128
    heat = tmp_path / "heat.tif"
    code = main(
        ["soundmap", *common, "--stride", "96", "--audio", str(spectrogram)] + ["--out", str(heat)]
    )
    assert code == 0
    with rasterio.open(heat) as dst:
        similarity = dst.read(1)
        assert dst.tags(1)["DISTANCE"] == "euclidean"
    valid = similarity[np.isfinite(similarity)]
    assert valid.size and (valid <= 0.0).all()  # minus the Euclidean distance

    # a checkpoint trained with a contrastive loss ranks by cosine similarity
    cosine = tmp_path / "cosine.safetensors"
    args = ["--checkpoint", str(checkpoint), "--image-arch", "resnet18", "--out", str(cosine)]
    assert main(["import-reference", *args, "--loss", "SymmetricCL"]) == 0
    assert "ranked by cosine distance" in capsys.readouterr().out
    code = main(
        ["evaluate", "--data", str(data), "--model", str(cosine), "--split", "all"]
        + ["--json", str(report), "--device", "cpu"]
    )
    assert code == 0 and json.loads(report.read_text())["distance"] == "cosine"
    assert main(["import-reference", *args, "--loss", "DeepHashingLoss"]) == 2
    assert "DeepHashingLoss" in capsys.readouterr().err


def test_transfer_and_finetune_start_from_an_imported_image_trunk(tmp_path, capsys) -> None:
    from backend.models.classifier import classifier_from_model_file, load_classifier
    from backend.models.modelfile import load_model_file
    from tests.backend.data.test_scenes import write_fake_scenes

    checkpoint = tmp_path / "latest.pt"
    write_fake_checkpoint(checkpoint, image_arch="resnet50", embed_dim=8, seed=4)
    model = tmp_path / "reference.safetensors"
    args = ["--checkpoint", str(checkpoint), "--image-arch", "resnet50", "--out", str(model)]
    assert main(["import-reference", *args]) == 0

    # the classifier's trunk holds exactly the imported image encoder's weights
    classifier = classifier_from_model_file(model, num_classes=3)
    state, _ = load_model_file(model)
    for key, tensor in classifier.trunk.state_dict().items():
        assert torch.equal(tensor, state[f"image_encoder.net.{key}"]), key
    assert classifier.feature_dim == 2048  # the final layout: 512 x 4 channels

    scenes = write_fake_scenes(tmp_path / "scenes", per_class=4, size=32)
    common = ["--scenes", str(scenes), "--image-size", "32", "--workers", "0"]
    assert main(["transfer", *common, "--init", str(model), "--mode", "linear"]) == 0
    assert "overall accuracy" in capsys.readouterr().out
    out = tmp_path / "cls.safetensors"
    code = main(["finetune", *common, "--init", str(model), "--epochs", "1", "--out", str(out)])
    assert code == 0
    loaded, meta = load_classifier(out)
    assert meta.family == "reference" and loaded.family == "reference"

    raster = write_raster(tmp_path / "img.tif", smooth_image(np.random.default_rng(2), 3, 64, 64))
    classes = tmp_path / "classes.tif"
    code = main(
        ["classify", "--raster", str(raster), "--model", str(out), "--out", str(classes)]
        + ["--device", "cpu"]
    )
    assert code == 0 and classes.is_file()


def test_every_transfer_mode_segmentation_and_onnx_on_a_final_layout_import(
    tmp_path, capsys
) -> None:
    """The paper's published layout (64/182/256/512) through every transfer path.

    A classifier trained from the imported trunk is a normal classifier file: it
    classifies a raster and exports to ONNX with the same outputs.
    """
    from backend.models.classifier import load_classifier
    from backend.models.deeplab import load_segmentation_model
    from tests.backend.data.fake_deepglobe import write_deepglobe
    from tests.backend.data.test_scenes import write_fake_scenes

    checkpoint = tmp_path / "latest.pt"
    write_fake_checkpoint(checkpoint, embed_dim=8, seed=9)
    model = tmp_path / "reference.safetensors"
    assert main(["import-reference", "--checkpoint", str(checkpoint), "--out", str(model)]) == 0
    assert "final / final layout" in capsys.readouterr().out

    scenes = write_fake_scenes(tmp_path / "scenes", per_class=4, size=32)
    common = ["--scenes", str(scenes), "--image-size", "32", "--workers", "0", "--device", "cpu"]
    for mode in ("fewshot", "finetune"):
        report = tmp_path / f"{mode}.json"
        extra = ["--epochs", "1"] if mode == "finetune" else ["--shots", "2"]
        code = main(
            ["transfer", *common, "--init", str(model), "--mode", mode, *extra]
            + ["--json", str(report)]
        )
        assert code == 0, capsys.readouterr().err
        assert 0.0 <= json.loads(report.read_text())["accuracy"]["mean"] <= 1.0
    # the reference's downstream protocol: a linear head on the 128-d (here 8-d) embedding
    report = tmp_path / "paper.json"
    code = main(
        ["transfer", *common, "--init", str(model), "--mode", "linear", "--protocol", "paper"]
        + ["--epochs", "1", "--json", str(report)]
    )
    assert code == 0, capsys.readouterr().err
    assert json.loads(report.read_text())["protocol"] == "paper"

    classifier = tmp_path / "cls.safetensors"
    code = main(
        ["finetune", *common, "--init", str(model), "--epochs", "1", "--out", str(classifier)]
    )
    assert code == 0, capsys.readouterr().err
    loaded, meta = load_classifier(classifier)
    assert meta.widths == {"image": [32, 64, 182, 256, 512]} and loaded.trunk_dim == 512

    raster = write_raster(tmp_path / "img.tif", smooth_image(np.random.default_rng(5), 3, 64, 64))
    classes = tmp_path / "classes.tif"
    code = main(
        ["classify", "--raster", str(raster), "--model", str(classifier), "--out", str(classes)]
        + ["--device", "cpu", "--stride", "16"]
    )
    assert code == 0, capsys.readouterr().err
    with rasterio.open(classes) as dst:
        assert dst.read(1).max() < len(meta.class_names)

    onnx_file = tmp_path / "cls.onnx"
    assert main(["export-onnx", "--model", str(classifier), "--out", str(onnx_file)]) == 0
    import onnxruntime

    x = torch.rand(2, 3, meta.tile_px, meta.tile_px)
    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    ort_logits, _ = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        torch_logits = loaded(x)
    np.testing.assert_allclose(ort_logits, torch_logits.numpy(), atol=1e-4, rtol=1e-4)

    deepglobe = write_deepglobe(tmp_path / "deepglobe", count=4, size=64)
    segmentation = tmp_path / "seg.safetensors"
    code = main(
        ["transfer", "--task", "segmentation", "--data", str(deepglobe), "--init", str(model)]
        + ["--out", str(segmentation), "--patch-size", "32", "--patch-stride", "32"]
        + ["--epochs", "1", "--batch-size", "4", "--device", "cpu", "--precision", "fp32"]
    )
    assert code == 0, capsys.readouterr().err
    seg_model, seg_meta = load_segmentation_model(segmentation)
    assert seg_meta.family == "reference" and seg_meta.widths == {"image": [32, 64, 182, 256, 512]}
    assert seg_model.trunk.layer2[0].conv1.out_channels == 182
