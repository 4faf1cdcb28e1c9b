"""Malformed inputs from the corpus through Processing algorithms: a reported error, QGIS stays up."""

from __future__ import annotations

import shutil
from pathlib import Path

import processing
import pytest
from qgis.core import (
    QgsApplication,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProject,
)

from tests.corpus.make_corpus import Corpus, make_corpus

pytestmark = pytest.mark.usefixtures("sounding_provider")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


def _context() -> QgsProcessingContext:
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    return context


def _case(corpus: Corpus, name: str) -> Path:
    return next(case.path for case in corpus.cases if case.name == name)


#: (algorithm, parameter that gets the bad file, corpus case, the other parameters)
CASES = [
    ("classifyraster", "MODEL", "model-truncated", {"INPUT": "raster", "MODEL": None}),
    ("classifyraster", "MODEL", "model-pickle", {"INPUT": "raster", "MODEL": None}),
    ("classifyraster", "MODEL", "model-audiovisual-for-classifier", {"INPUT": "raster"}),
    ("embedraster", "MODEL", "model-header-lies-about-shape", {"INPUT": "raster"}),
    ("embedraster", "MODEL", "model-header-bigger-than-file", {"INPUT": "raster"}),
    ("embedraster", "INPUT", "geotiff-truncated", {"MODEL": "audiovisual"}),
    ("classifyraster", "INPUT", "geotiff-random-bytes", {"MODEL": "classifier"}),
    ("soundscapemap", "AUDIO", "flac-random-bytes", {"INPUT": "raster", "MODEL": "audiovisual"}),
    ("soundscapemap", "AUDIO", "wav-zero-byte", {"INPUT": "raster", "MODEL": "audiovisual"}),
    ("buildsoundindex", "DATA", "metadata-duplicate-keys", {"MODEL": "audiovisual"}),
    ("buildsoundindex", "DATA", "metadata-missing-columns", {"MODEL": "audiovisual"}),
]


@pytest.mark.parametrize(
    ("algorithm", "parameter", "case", "others"), CASES, ids=[f"{a}-{c}" for a, _, c, _ in CASES]
)
def test_a_malformed_input_ends_in_a_reported_error(
    corpus: Corpus, tmp_path: Path, algorithm: str, parameter: str, case: str, others: dict
) -> None:
    valid = {
        "raster": str(corpus.raster),
        "audiovisual": str(corpus.audiovisual),
        "classifier": str(corpus.classifier),
    }
    default_model = "audiovisual" if algorithm != "classifyraster" else "classifier"
    parameters = {
        key: valid[value] for key, value in others.items() if value is not None and value in valid
    }
    parameters.setdefault("MODEL", valid[default_model])
    bad = _case(corpus, case)
    parameters[parameter] = str(bad)
    parameters["DEVICE"] = 1  # cpu
    out = tmp_path / ("index" if algorithm == "buildsoundindex" else "out.tif")
    parameters["OUTPUT"] = str(out)
    with pytest.raises(QgsProcessingException) as raised:
        processing.run(f"sounding:{algorithm}", parameters,
                       context=_context(), feedback=QgsProcessingFeedback())  # fmt: skip
    message = str(raised.value)
    assert "Traceback" not in message
    # the message names the file (or, for a raster QGIS itself refuses, the parameter)
    assert bad.name in message or parameter in message, message
    assert not out.exists()
    assert not [p for p in tmp_path.rglob("*") if ".partial" in p.name]


def test_undecodable_recordings_are_counted_and_qgis_stays_up(
    corpus: Corpus, tmp_path: Path
) -> None:
    from tests.backend.data.fake_soundingearth import write_fake_soundingearth

    data = tmp_path / "pairs"
    write_fake_soundingearth(data, n=4, seed=2, image_px=64)
    for old in (data / "audio").glob("101.*"):
        old.unlink()
    shutil.copyfile(_case(corpus, "flac-truncated"), data / "audio" / "101.flac")
    feedback = QgsProcessingFeedback()
    result = processing.run(
        "sounding:buildsoundindex",
        {"DATA": str(data), "MODEL": str(corpus.audiovisual), "WINDOWS": 1, "DEVICE": 1,
         "OUTPUT": str(tmp_path / "index")},
        context=_context(), feedback=feedback,
    )  # fmt: skip
    assert result["COUNT"] == 3 and result["SKIPPED"] == 1
    assert "skipped 1 of 4 recordings: 1 unreadable audio" in feedback.textLog()
    # after all the failures above, QGIS still runs an algorithm
    assert QgsApplication.instance() is not None
    out = tmp_path / "classes.tif"
    processing.run(
        "sounding:classifyraster",
        {"INPUT": str(corpus.raster), "MODEL": str(corpus.classifier), "DEVICE": 1,
         "OUTPUT": str(out)},
        context=_context(), feedback=QgsProcessingFeedback(),
    )  # fmt: skip
    assert out.is_file()
