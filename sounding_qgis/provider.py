"""The Processing provider ``sounding``: every backend operation as an algorithm."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

PROVIDER_ID = "sounding"
ICON_PATH = Path(__file__).resolve().parent / "icon.png"


def algorithm_classes() -> list[type]:
    """The algorithm classes this provider offers (imported lazily: they need the backend)."""
    from sounding_qgis.algorithms import ALGORITHMS

    return list(ALGORITHMS)


class SoundingProvider(QgsProcessingProvider):
    """Groups the Sounding Earth algorithms in the Processing toolbox."""

    def id(self) -> str:
        return PROVIDER_ID

    def name(self) -> str:
        return "Sounding Earth"

    def longName(self) -> str:  # noqa: N802
        return "Sounding Earth (self-supervised audiovisual learning)"

    def icon(self) -> QIcon:
        return QIcon(str(ICON_PATH)) if ICON_PATH.is_file() else super().icon()

    def loadAlgorithms(self) -> None:  # noqa: N802
        for algorithm_class in algorithm_classes():
            self.addAlgorithm(algorithm_class())
