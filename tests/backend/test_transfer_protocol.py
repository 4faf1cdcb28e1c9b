"""The transfer protocols: one learning-rate rule for every start, the validation sweep, and the
paper's preset (Adam 1e-3, 5 epochs, a linear head on the embedding, native size, the paper's
few-shot), end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from backend.cli import main
from backend.models.classifier import SceneClassifier
from backend.models.encoders import AudiovisualModel
from backend.models.modelfile import ModelMetadata, save_audiovisual_model
from backend.models.reference import ReferenceAudiovisualModel
from backend.transfer import (
    TransferConfig,
    build_transfer_model,
    classification_metrics,
    finetune_model,
    nearest_centroid_predict,
    parse_init,
    prepare_scenes,
    run_transfer,
    settle,
    stratified_shots,
    transfer_config,
)
from backend.transfer.embedding import EmbeddingClassifier
from backend.transfer.protocols import batch_size_for
from tests.backend.data.test_scenes import write_fake_scenes

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors run faster on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def scenes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three colour classes, 8 JPEGs each at 32 px, and one 40 px image (UC Merced has a few
    images of another size; 'native' is the most common one)."""
    root = write_fake_scenes(tmp_path_factory.mktemp("scenes") / "scenes", per_class=8, size=32)
    Image.new("RGB", (40, 40), (200, 180, 120)).save(root / "beach" / "beach_99.jpg")
    return root


@pytest.fixture(scope="module")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Untrained audiovisual model files of both families (the format matters, not the weights)."""
    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(3)
    native = folder / "native.safetensors"
    save_audiovisual_model(
        native, AudiovisualModel(), ModelMetadata(kind="audiovisual", audio_arch="resnet18")
    )
    reference = folder / "reference.safetensors"
    model = ReferenceAudiovisualModel()
    save_audiovisual_model(
        reference,
        model,
        ModelMetadata(
            kind="audiovisual",
            audio_arch="resnet18",
            family="reference",
            widths=model.widths_metadata(),
        ),
    )
    return {"native": native, "reference": reference}


def _paper(scenes: Path, **overrides) -> TransferConfig:
    return transfer_config("paper", str(scenes), seeds=1, device="cpu", workers=0, **overrides)


# --- one rule for every initialisation --------------------------------------------------


def test_trunk_learning_rate_is_the_same_for_random_and_pretrained_starts(
    scenes_dir: Path, model_files: dict[str, Path]
) -> None:
    """A tiny factor freezes the trunk of every start alike; the old rule gave random trunks
    ten times the rate of pretrained ones."""
    config = TransferConfig(str(scenes_dir), image_size=16, epochs=1, batch_size=8, device="cpu")
    assert config.trunk_lr_factor == 1.0
    data = prepare_scenes(config)
    dataset = data.dataset(data.train[:8], 16)
    for init in ("random", str(model_files["native"])):
        spec = parse_init(init)
        moved = {}
        for factor in (1e-12, 1.0):
            model = build_transfer_model(spec, 3, 3, data.mean, data.std, seed=0)
            before = model.trunk.layer1[0].conv1.weight.detach().clone()
            trial = TransferConfig(**{**config.__dict__, "trunk_lr_factor": factor})
            finetune_model(model, dataset, trial, 0, torch.device("cpu"), True)
            moved[factor] = float(
                (model.trunk.layer1[0].conv1.weight.detach() - before).abs().max()
            )
        assert moved[1e-12] < 1e-9, init
        assert moved[1.0] > 1e-4, init
    with pytest.raises(ValueError, match="one rule for every initialisation"):
        TransferConfig(str(scenes_dir), trunk_lr_factor=None).validate()


def test_sweep_chooses_each_start_on_the_same_validation_images(
    scenes_dir: Path, model_files: dict[str, Path]
) -> None:
    config = TransferConfig(
        str(scenes_dir),
        image_size=16,
        seeds=1,
        epochs=1,
        batch_size=16,
        device="cpu",
        trunk_lr_sweep=(1.0, 0.1),
    )
    data = prepare_scenes(config)
    sweeps, settings = [], []
    for init in ("random", str(model_files["native"])):
        result = run_transfer(config, init, "finetune", data=data)
        sweep = result["trunk_lr_sweep"]
        assert sweep["factors"] == [1.0, 0.1]
        best = int(np.argmax(sweep["validation_accuracy"]))  # the first of equals
        assert sweep["chosen"] == sweep["factors"][best]
        assert result["settings"]["trunk_lr_factor"] == sweep["chosen"]
        sweeps.append((sweep["n_fit"], sweep["n_validation"]))
        settings.append({**result["settings"], "trunk_lr_factor": None})
    # every 4th training image per class held out: 13 training images -> 10 + 3
    assert sweeps[0] == sweeps[1] == (10, 3)
    assert settings[0] == settings[1]  # one protocol for both starts
    with pytest.raises(ValueError, match="one learning rate"):
        _paper(scenes_dir, trunk_lr_sweep=(1.0, 0.1)).validate()


# --- the paper's preset ------------------------------------------------------------------


def test_paper_settings_native_size_and_batch(scenes_dir: Path) -> None:
    config = _paper(scenes_dir)
    assert (config.epochs, config.lr, config.weight_decay) == (5, 1e-3, 0.0)
    assert (config.trunk_lr_factor, config.precision, config.shots) == (1.0, "fp32", 5)
    assert config.image_size is None and config.batch_size is None
    data = prepare_scenes(config)
    settled = settle(config, data)
    assert data.image_size == 32 and settled.image_size == 32  # 24 at 32 px, one at 40
    assert settled.batch_size == 48
    assert batch_size_for(config, 600) == 8 and batch_size_for(config, 256) == 48
    assert batch_size_for(_paper(scenes_dir, batch_size=4), 600) == 4
    product = transfer_config("product", str(scenes_dir))
    assert (product.epochs, product.image_size, product.weight_decay) == (10, 256, 1e-4)


@pytest.mark.parametrize("family", ["native", "reference"])
def test_paper_head_sits_on_the_embedding_the_loss_compared(
    model_files: dict[str, Path], family: str
) -> None:
    from backend.models.modelfile import load_audiovisual_model

    spec = parse_init(str(model_files[family]))
    stats = ([0.5] * 3, [0.25] * 3)
    paper = build_transfer_model(spec, 4, 3, *stats, protocol="paper")
    assert isinstance(paper, EmbeddingClassifier) and paper.head.in_features == 128
    product = build_transfer_model(spec, 4, 3, *stats, protocol="product")
    assert isinstance(product, SceneClassifier)
    model, _ = load_audiovisual_model(model_files[family])
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(paper.eval().features(x), model.encode_image(x))
        norms = paper.features(x).norm(dim=1)
    # this project's loss compares unit vectors; the reference's triplet loss raw ones
    assert torch.allclose(norms, torch.ones(2), atol=1e-5) == (family == "native")
    random = build_transfer_model(parse_init("random"), 4, 3, *stats, protocol="paper")
    assert isinstance(random, SceneClassifier)  # torchvision ResNets: pooled features


def test_stratified_shots_and_nearest_centroid() -> None:
    labels = np.repeat([0, 1, 2], [7, 6, 9])
    shots, rest, used = stratified_shots(labels, 4, 5, seed=1)
    assert used == [5, 5, 5, 0]
    assert np.bincount(labels[shots], minlength=3).tolist() == [5, 5, 5]
    assert sorted(shots.tolist() + rest.tolist()) == list(range(len(labels)))
    again, _, _ = stratified_shots(labels, 4, 5, seed=1)
    other, _, _ = stratified_shots(labels, 4, 5, seed=2)
    assert np.array_equal(shots, again) and not np.array_equal(shots, other)
    # nearest centroid by Euclidean distance on raw features, checked by hand
    train = torch.tensor([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [12.0, 10.0]])
    train_labels = torch.tensor([0, 0, 1, 1])
    test = torch.tensor([[1.0, 1.0], [9.0, 9.0], [5.9, 5.0]])
    # centroids (1, 0) and (11, 10); the third point is nearer (1, 0): 4.9^2+25 < 5.1^2+25
    assert nearest_centroid_predict(train, train_labels, test, 3).tolist() == [0, 1, 0]


def test_weighted_metrics_match_scikit_learn() -> None:
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, 200)
    predicted = np.where(rng.random(200) < 0.6, truth, rng.integers(0, 4, 200))
    metrics = classification_metrics(truth, predicted, 6)
    p, r, f, _ = precision_recall_fscore_support(
        truth, predicted, average="weighted", zero_division=0
    )
    assert metrics["weighted_precision"] == pytest.approx(p)
    assert metrics["weighted_recall"] == pytest.approx(r)
    assert metrics["weighted_f1"] == pytest.approx(f)


def test_paper_fewshot_takes_shots_from_every_image(
    scenes_dir: Path, model_files: dict[str, Path]
) -> None:
    config = _paper(scenes_dir, shots=2)
    result = run_transfer(config, str(model_files["reference"]), "fewshot")
    assert result["protocol"] == "paper" and result["image_size"] == 192
    assert result["n_train"] == 6 and result["n_test"] == 25 - 6
    assert result["split"] == "2 per class from every image"
    assert result["runs"][0]["shots_used"] == [2, 2, 2]
    assert np.asarray(result["confusion"]).sum() == 19
    # colour classes: even an untrained embedding separates them
    assert result["accuracy"]["mean"] > 0.6


# --- end to end through the CLI ---------------------------------------------------------------


def test_cli_transfer_table_protocol_paper(
    scenes_dir: Path, model_files: dict[str, Path], tmp_path: Path, capsys
) -> None:
    out = tmp_path / "paper"
    code = main(
        ["transfer-table", "--scenes", str(scenes_dir), "--protocol", "paper", "--seeds", "1"]
        # a reference-family model (final layout) through the paper protocol's table
        + ["--inits", f"SE={model_files['reference']}", "--out", str(out)]
        + ["--shots", "2", "--workers", "0", "--device", "cpu", "--epochs", "2"]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "| Initialisation | Fine-tuning | Few-shot (2 per class) |" in printed
    assert "under the paper protocol" in printed
    table = json.loads((out / "table.json").read_text())
    assert table["protocol"] == "paper" and table["image_size"] == 32
    assert table["finetune_settings"] == {
        "protocol": "paper",
        "epochs": 2,  # given; the rest the paper's
        "batch_size": 48,
        "lr": 1e-3,
        "trunk_lr_factor": 1.0,
        "weight_decay": 0.0,
        "precision": "fp32",
    }
    assert set(table["table"]) == {"SE"}
    finetune = json.loads((out / "runs" / "SE-finetune.json").read_text())
    assert finetune["n_train"] == 13 and finetune["n_test"] == 12
    fewshot = json.loads((out / "runs" / "SE-fewshot.json").read_text())
    assert fewshot["n_train"] == 6 and fewshot["image_size"] == 192


def test_cli_protocol_flags(scenes_dir: Path, tmp_path: Path, capsys) -> None:
    common = ["transfer", "--scenes", str(scenes_dir), "--init", "random", "--workers", "0"]
    code = main(
        [*common, "--mode", "finetune", "--protocol", "paper", "--trunk-lr-factor", "1,0.1"]
    )
    assert code == 2
    assert "one learning rate" in capsys.readouterr().err
    report = tmp_path / "r.json"
    code = main(
        [*common, "--mode", "linear", "--image-size", "native", "--seeds", "1"]
        + ["--json", str(report)]
    )
    assert code == 0
    assert json.loads(report.read_text())["image_size"] == 32
    assert main(["transfer", "--scenes", str(scenes_dir), "--mode", "linear"]) == 2
    assert "--task scene needs --init" in capsys.readouterr().err


def _write_release(root: Path, layout: str) -> tuple[Path, int]:
    """A tiny dataset in a release's own layout and file naming; returns the folder to pass
    as --scenes and the side the paper protocol should settle on."""
    rng = np.random.default_rng(0)
    colours = {"a": (200, 180, 120), "b": (30, 110, 40), "c": (40, 90, 200)}
    if layout == "ucmerced":  # UCMerced_LandUse/Images/<class>/<class>NN.tif, a few not square
        scenes, names, sides = root / "UCMerced_LandUse" / "Images", "{c}{i:02d}.tif", 32
    elif layout == "aid":  # AID/<Class>/<class>_N.jpg, 600 px in the release
        scenes, names, sides = root / "AID", "{c}_{n}.jpg", 48
    else:  # NWPU-RESISC45/<class>/<class>_NNN.jpg, 256 px in the release
        scenes, names, sides = root / "NWPU-RESISC45", "{c}_{n:03d}.jpg", 40
    for c, colour in colours.items():
        folder = scenes / (c.upper() if layout == "aid" else c)
        folder.mkdir(parents=True)
        for i in range(4):
            height = sides - 2 if (layout == "ucmerced" and i == 3) else sides
            pixels = np.clip(np.array(colour) + rng.normal(0, 15, (height, sides, 3)), 0, 255)
            Image.fromarray(pixels.astype(np.uint8)).save(folder / names.format(c=c, i=i, n=i + 1))
    return scenes, sides


@pytest.mark.parametrize("layout", ["ucmerced", "aid", "resisc45"])
def test_cli_paper_protocol_reads_each_release_layout(tmp_path: Path, layout: str, capsys) -> None:
    scenes, side = _write_release(tmp_path, layout)
    report = tmp_path / "report.json"
    code = main(
        ["transfer", "--scenes", str(scenes), "--protocol", "paper", "--init", "random"]
        + ["--mode", "finetune", "--epochs", "1", "--seeds", "1", "--workers", "0"]
        + ["--device", "cpu", "--json", str(report)]
    )
    assert code == 0, capsys.readouterr().err
    result = json.loads(report.read_text())
    assert result["image_size"] == side  # the release's own size
    assert result["n_train"] == 6 and result["n_test"] == 6
    assert result["settings"]["batch_size"] == 48 and result["settings"]["weight_decay"] == 0.0
