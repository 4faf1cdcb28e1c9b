"""The model catalogue: listing, verified downloads with resume and cancel, and clean failures.

No network: downloads come from file:// URLs and a local HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
from pathlib import Path

import pytest

from backend.catalogue import (
    SHIPPED_CATALOGUE,
    CatalogueError,
    add_entry,
    get_model,
    load_catalogue,
)
from backend.models.modelfile import load_audiovisual_model, load_model_metadata
from backend.progress import Cancelled
from tests.backend.models.fake_reference_checkpoint import write_fake_checkpoint
from tests.backend.raster.fake_rasters import save_tiny_audiovisual
from tests.cancelling import CancelAfter
from tests.range_serving import send_with_range

ROOT = Path(__file__).resolve().parents[2]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    """Files in the model folder other than the user's catalogue."""
    return sorted(p.name for p in folder.iterdir() if p.name != "catalogue.json")


class FileServer:
    """A local HTTP server for one file with Range support and an optional early hang-up."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.truncate = False
        self.ranges: list[str] = []
        self.sent = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.sent += send_with_range(self, server.payload, server.ranges, server.truncate)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/latest.pt"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "latest.pt"
    write_fake_checkpoint(path, embed_dim=8, seed=5)
    return path


@pytest.fixture()
def server(checkpoint):
    srv = FileServer(checkpoint.read_bytes())
    yield srv
    srv.close()


@pytest.fixture()
def folder(tmp_path) -> Path:
    return tmp_path / "models"


def test_shipped_catalogue_lists_demo_and_paper_models_without_made_up_checksums() -> None:
    entries = load_catalogue(Path("/nonexistent-model-folder"))
    assert {"demo-pretrain", "soundingearth-resnet18", "soundingearth-resnet50"} <= set(entries)
    for entry in entries.values():
        assert entry.source == "shipped"
        if entry.sha256 is None:  # nothing published: the entry must say how to get it
            assert entry.note
    paper = entries["soundingearth-resnet50"]
    assert paper.format == "reference-checkpoint" and paper.image_arch == "resnet50"
    assert paper.page.startswith("https://github.com/khdlr/SoundingEarth/")
    data = json.loads(SHIPPED_CATALOGUE.read_text(encoding="utf-8"))
    assert all(m.get("sha256") is None for m in data["models"] if not m.get("url"))


def test_file_url_download_is_verified_and_not_repeated(tmp_path, folder) -> None:
    model = save_tiny_audiovisual(tmp_path / "tiny.safetensors")
    add_entry(model.as_uri(), sha256(model), name="tiny", folder=folder)
    result = get_model("tiny", folder)
    assert result.path == folder / "tiny.safetensors" and not result.recorded
    assert load_model_metadata(result.path).provenance["catalogue_sha256"] == sha256(model)
    again = get_model("tiny", folder)
    assert again.already_present and again.downloaded_bytes == 0
    assert leftovers(folder) == ["tiny.safetensors"]


def test_reference_checkpoint_over_http_is_imported_and_its_checksum_recorded(
    server, checkpoint, folder
) -> None:
    add_entry(server.url, None, name="paper", fmt="reference-checkpoint", folder=folder)
    result = get_model("paper", folder)
    assert result.recorded and result.sha256 == sha256(checkpoint)
    model, meta = load_audiovisual_model(result.path)
    assert meta.family == "reference" and meta.provenance["imported_sha256"] == result.sha256
    assert load_catalogue(folder)["paper"].recorded_sha256 == result.sha256
    assert leftovers(folder) == ["paper.safetensors"]


def test_cancel_keeps_the_part_and_the_next_get_resumes_it(server, checkpoint, folder) -> None:
    add_entry(server.url, sha256(checkpoint), "paper", fmt="reference-checkpoint", folder=folder)

    with pytest.raises(Cancelled):
        get_model("paper", folder, progress=CancelAfter(3))
    part = folder / "paper.part"
    assert part.is_file() and 0 < part.stat().st_size < len(server.payload)
    assert not (folder / "paper.safetensors").exists()
    kept = part.stat().st_size
    result = get_model("paper", folder)
    assert server.ranges == [f"bytes={kept}-"]
    assert result.downloaded_bytes == len(server.payload) - kept
    assert result.sha256 == sha256(checkpoint)
    assert leftovers(folder) == ["paper.safetensors"]


def test_wrong_checksum_truncation_and_unreachable_host_leave_nothing(
    server, checkpoint, folder
) -> None:
    add_entry(server.url, "0" * 64, "bad", fmt="reference-checkpoint", folder=folder)
    with pytest.raises(CatalogueError, match="checksum mismatch.*deleted"):
        get_model("bad", folder)
    assert leftovers(folder) == []

    add_entry(server.url, sha256(checkpoint), "cut", fmt="reference-checkpoint", folder=folder)
    server.truncate = True
    with pytest.raises(CatalogueError, match="incomplete"):
        get_model("cut", folder)
    assert leftovers(folder) == []

    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    add_entry(f"http://127.0.0.1:{port}/x.pt", None, "gone", folder=folder)
    with pytest.raises(CatalogueError, match="cannot download"):
        get_model("gone", folder)
    assert leftovers(folder) == []


def test_entries_without_an_address_say_where_to_look(folder) -> None:
    with pytest.raises(CatalogueError, match="releases and pass it with --url"):
        get_model("soundingearth-resnet18", folder)
    with pytest.raises(CatalogueError, match="nothing to download.*python -m backend demo"):
        get_model("demo-pretrain", folder)
    with pytest.raises(CatalogueError, match="no model called 'nope'"):
        get_model("nope", folder)


def test_cli_models_list_add_get(tmp_path, folder, monkeypatch, capsys) -> None:
    from backend.cli import main

    model = save_tiny_audiovisual(tmp_path / "tiny.safetensors")
    monkeypatch.setenv("SOUNDING_EARTH_MODELS", str(folder))

    def cli(*args):
        code = main(["models", *args])
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = cli("add", model.as_uri(), "--sha256", "unknown", "--name", "tiny")
    assert code == 0, err
    code, out, err = cli("get", "tiny")
    assert code == 0, err
    assert sha256(model) in out and "compare this one" in out
    code, out, _ = cli("list")
    assert code == 0
    assert "soundingearth-resnet50" in out and "downloaded" in out
    code, _, err = cli("get", "nope")
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err


def test_available_models_lists_the_folder_then_the_demo_by_kind(tmp_path, folder) -> None:
    from backend.catalogue import available_models
    from tests.shared_files import share

    model = save_tiny_audiovisual(tmp_path / "tiny.safetensors")
    folder.mkdir()
    share(model, folder / "b-model.safetensors")
    share(model, folder / "a-model.safetensors")
    share(model, folder / "x.part.safetensors")  # a download in progress
    (folder / "junk.safetensors").write_text("not a model")
    demo = tmp_path / "demo"
    (demo / "pretrain").mkdir(parents=True)
    share(model, demo / "pretrain" / "model.safetensors")
    found = available_models("audiovisual", folder, demo)
    assert [(m.label, m.source) for m in found] == [
        ("a-model (my models)", "folder"),
        ("b-model (my models)", "folder"),
        ("pretrain/model.safetensors (demo)", "demo"),
    ]
    assert available_models("classifier", folder, demo) == []
    assert available_models(None, tmp_path / "no-such-folder", None) == []
    # the plugin's panel lists models at QGIS start-up: without loading PyTorch
    import subprocess
    import sys

    code = (
        "import sys; from backend.catalogue import available_models as a; "
        f"n = len(a(None, {str(folder)!r}, {str(demo)!r})); "
        "assert n == 3 and 'torch' not in sys.modules, (n, sorted(sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert run.returncode == 0, run.stderr


def test_a_reference_entry_records_the_loss_and_so_the_ranking_distance(checkpoint, folder) -> None:
    from backend.ranking import ranking_distance

    with pytest.raises(CatalogueError, match="--loss must be one of"):
        add_entry(checkpoint.as_uri(), None, "x", fmt="reference-checkpoint", loss="Nope")
    add_entry(
        checkpoint.as_uri(),
        sha256(checkpoint),
        "contrastive",
        fmt="reference-checkpoint",
        folder=folder,
        loss="SymmetricCL",
    )
    assert load_catalogue(folder)["contrastive"].loss == "SymmetricCL"
    _, meta = load_audiovisual_model(get_model("contrastive", folder).path)
    assert meta.extra["reference"]["loss_function"] == "SymmetricCL"
    assert ranking_distance(meta) == "cosine"


def test_a_release_zip_or_pt_added_as_any_format_is_recognised_and_imported(
    tmp_path, checkpoint, folder
) -> None:
    """What a user copies from the release page: a .pt or a ZIP, added without --format."""
    import zipfile

    archive = tmp_path / "SoundingEarth-ResNet18.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(checkpoint, "weights/latest.pt")
        zf.writestr("weights/config.yml", "LossFunction: TripletLoss\nImageEncoder: ResNet18\n")
    for name, path in (("zipped", archive), ("plain", checkpoint)):
        add_entry(path.as_uri(), None, name=name, folder=folder)  # format left at its default
        result = get_model(name, folder)
        assert result.recorded and result.sha256 == sha256(path)
        _, meta = load_audiovisual_model(result.path)
        assert meta.family == "reference" and meta.widths["image"] == [32, 64, 182, 256, 512]
        assert meta.provenance["catalogue_sha256"] == sha256(path)
    assert leftovers(folder) == ["plain.safetensors", "zipped.safetensors"]
