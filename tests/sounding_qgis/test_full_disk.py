"""A full disk through the Processing algorithms: a reported error, no output, QGIS stays up."""

from __future__ import annotations

from pathlib import Path

import processing
import pytest
from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProject,
)

from tests.full_disk import MODES, full_folder

pytestmark = pytest.mark.usefixtures("sounding_provider")


def _context() -> QgsProcessingContext:
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    return context


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("algorithm", "model"), [("classifyraster", "classifier"), ("embedraster", "audiovisual")]
)
def test_full_disk_is_a_reported_error_and_leaves_no_output(
    workspace, tmp_path: Path, algorithm: str, model: str, mode: str
) -> None:
    parameters = {"INPUT": str(workspace.raster), "MODEL": str(getattr(workspace, model))}
    parameters["DEVICE"] = 1  # cpu
    with full_folder(tmp_path, mode) as folder:
        out = folder / "out.tif"
        with pytest.raises(QgsProcessingException, match="disk is full") as raised:
            processing.run(
                f"sounding:{algorithm}",
                {**parameters, "OUTPUT": str(out)},
                context=_context(),
                feedback=QgsProcessingFeedback(),
            )
        left = sorted(p.name for p in folder.iterdir())
    assert str(out) in str(raised.value)
    assert left == []
    # QGIS is still up: the same algorithm writes where there is room
    result = processing.run(
        f"sounding:{algorithm}",
        {**parameters, "OUTPUT": str(tmp_path / "out.tif")},
        context=_context(),
        feedback=QgsProcessingFeedback(),
    )
    assert Path(result["OUTPUT"]).is_file()
