"""What every Sounding Earth algorithm shares: names, help, progress and error handling."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from sounding_qgis.algorithms.help import help_html, help_url
from sounding_qgis.i18n import tr
from sounding_qgis.layers import LayerSourceError, backend_extent, crs_text, raster_path
from sounding_qgis.model_chooser import MODEL_FILTER, chooser_metadata
from sounding_qgis.progress import FeedbackProgress

#: devices offered for the PyTorch work (auto: CUDA, else Apple MPS, else CPU); new
#: entries go last, so the numbers scripts pass for the first ones keep their meaning
DEVICES = ["auto", "cpu", "cuda", "mps"]


def advanced(parameter):
    """``parameter``, listed under the dialog's "Advanced parameters"."""
    parameter.setFlags(parameter.flags() | parameter.FlagAdvanced)
    return parameter


def integer_parameter(
    name: str, text: str, default: int, minimum: int = 1
) -> QgsProcessingParameterNumber:
    """A whole-number parameter of at least ``minimum``."""
    return QgsProcessingParameterNumber(
        name,
        text,
        type=QgsProcessingParameterNumber.Integer,
        minValue=minimum,
        defaultValue=default,
    )


def double_parameter(
    name: str, text: str, default: float, minimum: float = 0.0
) -> QgsProcessingParameterNumber:
    """A decimal parameter of at least ``minimum``."""
    return QgsProcessingParameterNumber(
        name, text, type=QgsProcessingParameterNumber.Double, minValue=minimum, defaultValue=default
    )


def folder_parameter(name: str, text: str) -> QgsProcessingParameterFile:
    """An existing folder to read from."""
    return QgsProcessingParameterFile(name, text, behavior=QgsProcessingParameterFile.Folder)


def model_parameter(
    description: str, kinds: str | tuple[str, ...] = "audiovisual"
) -> QgsProcessingParameterFile:
    """``MODEL``: a model file of one of ``kinds``."""
    parameter = QgsProcessingParameterFile("MODEL", description, fileFilter=MODEL_FILTER)
    # the dialog lists the user's models (model folder, demo) and offers Browse
    parameter.setMetadata(chooser_metadata(kinds))
    return parameter


class SoundingAlgorithm(QgsProcessingAlgorithm):
    """Base of the ``sounding:*`` algorithms: each subclass calls one backend function.

    Subclasses set ``NAME``, ``DISPLAY_NAME``, ``GROUP``, ``HELP`` (English; shown
    translated, and collected for translation by ``tools/translations.py``), optionally
    ``HELP_NOTES`` (more paragraphs, each marked ``translatable``) and ``PARAMETER_HELP``
    (parameter name → its explanation, marked ``translatable``; the shared parameters
    are explained in :mod:`sounding_qgis.algorithms.help`), and implement
    ``initAlgorithm`` and :meth:`execute`, which receives a backend ``Progress``
    wired to the feedback (``setProgress``, ``isCanceled``).
    """

    NAME = ""
    DISPLAY_NAME = ""
    GROUP = ""
    HELP = ""
    HELP_NOTES: tuple[str, ...] = ()
    PARAMETER_HELP: dict[str, str] = {}

    def name(self) -> str:  # noqa: D102
        return self.NAME

    def displayName(self) -> str:  # noqa: N802, D102
        return self.tr(self.DISPLAY_NAME)

    def group(self) -> str:  # noqa: D102
        return self.tr(self.GROUP)

    def groupId(self) -> str:  # noqa: N802, D102
        return self.GROUP.lower().replace(" ", "_")

    def shortHelpString(self) -> str:  # noqa: N802, D102
        return help_html(self)

    def helpUrl(self) -> str:  # noqa: N802, D102
        return help_url(self.NAME)

    def tr(self, text: str) -> str:  # noqa: D102
        return tr(text)

    def createInstance(self):  # noqa: N802, D102
        return type(self)()

    def processAlgorithm(self, parameters, context, feedback) -> dict[str, Any]:  # noqa: N802, D102
        from backend.atomic import OutputError
        from backend.progress import Cancelled

        progress = FeedbackProgress(feedback)
        try:
            return self.execute(parameters, context, feedback, progress)
        except Cancelled:
            raise QgsProcessingException(
                self.tr("Cancelled: nothing was written to the outputs.")
            ) from None
        except QgsProcessingException:
            raise
        except (ValueError, FileNotFoundError, PermissionError, OutputError) as error:
            # the backend's messages for bad input (or a full disk) say what to change
            raise QgsProcessingException(str(error)) from error
        except Exception as error:  # noqa: BLE001 (shown in the dialog, not as a traceback)
            raise QgsProcessingException(f"{type(error).__name__}: {error}") from error

    def execute(self, parameters, context, feedback, progress) -> dict[str, Any]:
        """Do the work; return the outputs."""
        raise NotImplementedError

    # --- shared parameters -------------------------------------------------------------
    def add_extent_parameter(self, name: str = "EXTENT") -> None:
        """An optional extent (empty: the whole raster)."""
        self.addParameter(
            QgsProcessingParameterExtent(
                name, self.tr("Extent (empty: the whole raster)"), optional=True
            )
        )

    def add_device_parameter(self, name: str = "DEVICE") -> None:
        """``auto`` (CUDA when available), ``cpu`` or ``cuda``."""
        self.addParameter(
            QgsProcessingParameterEnum(name, self.tr("Device"), options=DEVICES, defaultValue=0)
        )

    def add_spectrograms_parameter(self, name: str = "SPECTROGRAMS") -> None:
        """Where sounds come from (``--spectrograms``): decided by the data, JPGs or audio."""
        parameter = QgsProcessingParameterEnum(
            name,
            self.tr(
                "Sounds from (a folder mixing JPG-only and audio-only recordings needs a choice)"
            ),
            options=[
                self.tr("decide from the folder and the model"),
                self.tr("spectrograms/*.jpg (the release's JPG encoding)"),
                self.tr("audio/ and the prepare cache"),
            ],
            defaultValue=0,
        )
        self.addParameter(advanced(parameter))

    def spectrograms(self, parameters, context, name: str = "SPECTROGRAMS") -> str | None:
        """The ``spectrograms`` argument of the backend: None, ``"jpg"`` or ``"audio"``."""
        return (None, "jpg", "audio")[self.parameterAsEnum(parameters, name, context)]

    def add_bands_parameter(self, name: str = "BANDS") -> None:
        """Raster bands for the model's inputs, e.g. ``3,2,1`` (empty: the model's)."""
        parameter = QgsProcessingParameterString(
            name,
            self.tr("Raster bands in the model's order, e.g. 3,2,1 (empty: the model's)"),
            optional=True,
        )
        self.addParameter(advanced(parameter))

    def add_seed_parameter(self) -> None:
        """``SEED``: the random seed (advanced)."""
        self.addParameter(advanced(integer_parameter("SEED", self.tr("Random seed"), 0, 0)))

    # --- reading parameters --------------------------------------------------------------
    def raster_source(self, parameters, name: str, context) -> tuple[str, Any]:
        """The file of a raster-layer parameter, and the layer."""
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None:
            raise QgsProcessingException(
                self.tr("No raster layer given for {name}").format(name=name)
            )
        try:
            return raster_path(layer), layer
        except LayerSourceError as error:
            raise QgsProcessingException(str(error)) from error

    def extent_arguments(self, parameters, name: str, context, layer) -> dict[str, Any]:
        """``extent`` and ``extent_crs`` for the backend (both None when not given)."""
        if parameters.get(name) in (None, ""):
            return {"extent": None, "extent_crs": None}
        crs = self.parameterAsExtentCrs(parameters, name, context)
        if not crs.isValid():
            crs = layer.crs()
        rectangle = self.parameterAsExtent(parameters, name, context, crs)
        extent = backend_extent(rectangle)
        return {"extent": extent, "extent_crs": crs_text(crs) if extent is not None else None}

    def device(self, parameters, context, name: str = "DEVICE") -> str:
        """The chosen device name."""
        return DEVICES[self.parameterAsEnum(parameters, name, context)]

    def bands(self, parameters, context, name: str = "BANDS") -> list[int] | None:
        """The chosen bands, or None for the model's."""
        from backend.raster.engine import parse_bands

        text = self.parameterAsString(parameters, name, context).strip()
        return parse_bands(text) if text else None

    # --- the options every tiled raster operation takes -------------------------------
    def add_raster_options(self) -> None:
        """EXTENT, RESOLUTION, STRIDE, BANDS, BATCH and DEVICE."""
        self.add_extent_parameter()
        self.addParameter(
            QgsProcessingParameterEnum(
                "RESOLUTION",
                self.tr("Work at the ground resolution of"),
                options=[self.tr("the model (resample the raster)"), self.tr("the raster")],
                defaultValue=0,
            )
        )
        stride_text = self.tr(
            "Output pixel side in tile pixels (0: classify about an eighth of the tile, "
            "embed and soundscape one output pixel per tile)"
        )
        self.addParameter(advanced(integer_parameter("STRIDE", stride_text, 0, 0)))
        self.add_bands_parameter()
        self.addParameter(advanced(integer_parameter("BATCH", self.tr("Tiles per model call"), 32)))
        self.add_device_parameter()

    def raster_options(self, parameters, context, layer) -> dict[str, Any]:
        """Keyword arguments for ``classify_raster``, ``embed_raster`` and ``soundmap_raster``."""
        stride = self.parameterAsInt(parameters, "STRIDE", context)
        native = self.parameterAsEnum(parameters, "RESOLUTION", context) == 1
        return {
            **self.extent_arguments(parameters, "EXTENT", context, layer),
            "resolution": "native" if native else "model",
            "stride": stride or None,
            "bands": self.bands(parameters, context),
            "batch_size": self.parameterAsInt(parameters, "BATCH", context),
            "device": self.device(parameters, context),
        }
