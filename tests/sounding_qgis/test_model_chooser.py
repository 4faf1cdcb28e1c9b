"""Every model chooser of the plugin lists the user's models: the model folder, the demo, browse."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from qgis.core import QgsSettings

from sounding_qgis.player import SoundPlayer
from sounding_qgis.settings import SETTINGS_GROUP
from tests.shared_files import share


@pytest.fixture
def user_models(workspace, tmp_path, monkeypatch):
    """A model folder with one model of each kind plus litter, and a demo output folder."""
    import sounding_qgis.model_chooser as chooser

    folder = tmp_path / "models"
    folder.mkdir()
    # the session's model files, linked (five copies took 350 MB)
    share(workspace.audiovisual, folder / "mine-av.safetensors")
    share(workspace.classifier, folder / "mine-cls.safetensors")
    (folder / "broken.safetensors").write_bytes(b"not a model")
    share(workspace.audiovisual, folder / "paper.part.safetensors")  # a download in progress
    demo = tmp_path / "demo"
    (demo / "pretrain").mkdir(parents=True)
    share(workspace.audiovisual, demo / "pretrain" / "model.safetensors")
    share(workspace.classifier, demo / "classifier.safetensors")
    monkeypatch.setenv("SOUNDING_EARTH_MODELS", str(folder))
    monkeypatch.setattr(chooser, "DEMO_OUTPUT", demo)
    # the settings' defaults as in a fresh clone (not a demo-output/ this checkout may have)
    import sounding_qgis.settings as settings

    nowhere = tmp_path / "no-demo-output"
    for key in ("classifier_model", "audiovisual_model"):
        monkeypatch.setitem(settings.DEFAULT_PATHS, key, nowhere / f"{key}.safetensors")
    for key in ("classifier_model", "audiovisual_model"):
        QgsSettings().remove(f"{SETTINGS_GROUP}/{key}")
    return folder, demo


def _names(widget) -> list[str]:
    return [Path(p).relative_to(Path(p).parents[1]).as_posix() for p in widget.paths()]


def test_the_dialogs_and_the_panel_list_the_folder_and_the_demo(user_models, qgis_iface):
    from sounding_qgis.dialogs import ClassifyDialog, SoundscapeDialog
    from sounding_qgis.sounds_dock import SoundsHereDock

    folder, demo = user_models
    classify = ClassifyDialog(qgis_iface)
    assert _names(classify.model_widget) == [
        "models/mine-cls.safetensors",
        "demo/classifier.safetensors",
    ]
    assert classify.model_widget.filePath() == str(folder / "mine-cls.safetensors")
    soundscape = SoundscapeDialog(qgis_iface)
    expected = ["models/mine-av.safetensors", "pretrain/model.safetensors"]
    assert _names(soundscape.model_widget) == expected
    panel = SoundsHereDock(qgis_iface, player=SoundPlayer(use_qt=False))
    try:
        assert _names(panel.model_widget) == expected
        labels = [panel.model_widget.combo.itemText(i) for i in range(2)]
        assert labels == ["mine-av (my models)", "pretrain/model.safetensors (demo)"]
    finally:
        panel.shutdown()
        panel.deleteLater()


def test_a_downloaded_model_appears_and_a_browsed_one_is_kept(user_models, workspace, qgis_iface):
    from backend.catalogue import add_entry, get_model
    from sounding_qgis.dialogs import SoundscapeDialog

    folder, _ = user_models
    dialog = SoundscapeDialog(qgis_iface)
    chooser = dialog.model_widget
    digest = hashlib.sha256(Path(workspace.audiovisual).read_bytes()).hexdigest()
    add_entry(Path(workspace.audiovisual).as_uri(), digest, name="fetched")
    get_model("fetched")
    seen = []
    chooser.fileChanged.connect(seen.append)
    chooser.refresh()
    assert str(folder / "fetched.safetensors") in chooser.paths()
    assert chooser.filePath() == str(folder / "mine-av.safetensors")  # the choice is kept

    # a file elsewhere ("Browse…") is added and chosen, and survives a refresh
    chooser.setFilePath(str(workspace.audiovisual))
    assert chooser.filePath() == str(workspace.audiovisual)
    chooser.refresh()
    assert chooser.filePath() == str(workspace.audiovisual)
    assert seen[-1] == str(workspace.audiovisual)

    # a remembered model is chosen when the dialog opens again
    QgsSettings().setValue(
        f"{SETTINGS_GROUP}/audiovisual_model", str(folder / "fetched.safetensors")
    )
    try:
        again = SoundscapeDialog(qgis_iface)
        assert again.model_widget.filePath() == str(folder / "fetched.safetensors")
    finally:
        QgsSettings().remove(f"{SETTINGS_GROUP}/audiovisual_model")


def _processing_dialog(algorithm_id: str, qgis_iface, monkeypatch):
    from processing.gui.AlgorithmDialog import AlgorithmDialog
    from qgis.core import QgsApplication
    from qgis.gui import QgsBrowserGuiModel

    browser = QgsBrowserGuiModel()
    monkeypatch.setattr(qgis_iface, "browserModel", lambda: browser, raising=False)
    algorithm = QgsApplication.processingRegistry().createAlgorithmById(algorithm_id)
    dialog = AlgorithmDialog(algorithm, parent=qgis_iface.mainWindow())
    dialog._browser = browser  # keep it alive as long as the dialog
    return dialog


@pytest.mark.usefixtures("sounding_provider")
def test_the_processing_dialogs_offer_the_users_models(
    user_models, workspace, qgis_iface, monkeypatch
):
    from sounding_qgis.model_chooser import ModelChooser

    folder, demo = user_models
    train = _processing_dialog("sounding:trainfromlabels", qgis_iface, monkeypatch)
    classify = _processing_dialog("sounding:classifyraster", qgis_iface, monkeypatch)
    try:
        init = train.mainWidget().wrappers["INIT"]
        assert isinstance(init.widget, ModelChooser)
        # no trunk (random weights) by default, then every model of the user's as a trunk
        assert init.value() is None
        assert [Path(p).name for p in init.widget.paths()] == [
            "",
            "mine-av.safetensors",
            "mine-cls.safetensors",
            "model.safetensors",
            "classifier.safetensors",
        ]
        train.setParameters({"INIT": str(folder / "mine-av.safetensors")})  # as remembered
        assert init.value() == str(folder / "mine-av.safetensors")

        model = classify.mainWidget().wrappers["MODEL"]
        assert [Path(p).name for p in model.widget.paths()] == [
            "mine-cls.safetensors",
            "classifier.safetensors",
        ]
        assert model.value() == str(folder / "mine-cls.safetensors")
    finally:
        train.close()
        classify.close()


def test_a_paper_checkpoint_fetched_in_models_dialog_is_offered_for_sounds(
    user_models, qgis_iface, tmp_path
):
    from backend.catalogue import load_catalogue
    from sounding_qgis.dialogs import SoundscapeDialog
    from sounding_qgis.models_dialog import ModelsDialog
    from tests.backend.models.fake_reference_checkpoint import write_fake_checkpoint
    from tests.sounding_qgis.helpers import wait_for_task

    folder, _ = user_models
    checkpoint = tmp_path / "latest.pt"
    write_fake_checkpoint(checkpoint, embed_dim=8, seed=3)
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    dialog = ModelsDialog(qgis_iface, folder=str(folder))
    try:
        names = [e.name for e in dialog.entries]
        dialog.table.selectRow(names.index("soundingearth-resnet18"))
        dialog.url_edit.setText(checkpoint.as_uri())  # the address copied from the release
        task = dialog.download_selected()
        wait_for_task(task)
        assert task.error is None, task.error
        # no published checksum: the one it got is shown for the user to compare, and kept
        assert f"compare its SHA-256 {digest}" in dialog.status_label.text()
        assert load_catalogue(folder)["soundingearth-resnet18"].recorded_sha256 == digest
    finally:
        QgsSettings().remove(f"{SETTINGS_GROUP}/audiovisual_model")
        dialog.deleteLater()
    soundscape = SoundscapeDialog(qgis_iface)
    assert str(folder / "soundingearth-resnet18.safetensors") in soundscape.model_widget.paths()
