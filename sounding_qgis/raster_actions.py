"""The toolbar's raster actions as background tasks: classify a layer, map a soundscape.

Each builds a :class:`~sounding_qgis.tasks.BackendTask` whose worker calls one
backend function and whose ``finished`` adds the styled layer and reports in the
message bar (time taken on success, the backend's error text on failure).
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import Qgis, QgsProject

from sounding_qgis.dialogs import RasterJob
from sounding_qgis.i18n import tr
from sounding_qgis.layers import add_class_layer, add_heat_layer
from sounding_qgis.tasks import BackendTask

PLUGIN_NAME = "Sounding Earth"


def _sidecars(path: Path) -> list[Path]:
    return [path, path.with_name(path.stem + ".qml")]


def _report_failure(iface, what: str):
    def failed(task: BackendTask) -> None:
        iface.messageBar().pushMessage(
            PLUGIN_NAME,
            tr("{what} failed: {error}").format(what=what, error=task.error),
            level=Qgis.Critical,
            duration=0,
        )

    return failed


def _report_cancel(iface, what: str):
    def cancelled(task: BackendTask) -> None:
        iface.messageBar().pushMessage(
            PLUGIN_NAME,
            tr("{what} was cancelled; nothing was written.").format(what=what),
            level=Qgis.Info,
            duration=5,
        )

    return cancelled


def classify_task(iface, job: RasterJob, project: QgsProject | None = None) -> BackendTask:
    """A task that classifies ``job.raster`` and adds the class layer, styled, when done."""

    def work(progress):
        from backend.models.modelfile import load_model_metadata
        from backend.raster.classify import classify_raster
        from backend.raster.style import class_colours

        result = classify_raster(
            job.raster,
            job.model,
            job.output,
            extent=job.extent,
            extent_crs=job.extent_crs,
            device="auto",
            progress=progress,
        )
        metadata = load_model_metadata(job.model)
        names = list(metadata.class_names)
        return result, names, class_colours(names, metadata.class_colors)

    def succeeded(task: BackendTask) -> None:
        result, names, colours = task.result
        layer = add_class_layer(
            result.out,
            names,
            colours,
            tr("{layer} classes").format(layer=job.layer_name),
            project=project,
        )
        total = sum(result.class_counts.values()) or 1
        largest = max(result.class_counts, key=result.class_counts.get, default="")
        share = 100 * result.class_counts.get(largest, 0) / total
        iface.messageBar().pushMessage(
            PLUGIN_NAME,
            tr(
                "Classified {layer} in {seconds} s: {count} classes, "
                "mostly {largest} ({share}%). Layer: {name}"
            ).format(
                layer=job.layer_name,
                seconds=f"{task.seconds:.1f}",
                count=len(names),
                largest=largest,
                share=f"{share:.0f}",
                name=layer.name(),
            ),
            level=Qgis.Success,
            duration=10,
        )
        for note in result.notes:
            iface.messageBar().pushMessage(PLUGIN_NAME, note, level=Qgis.Info, duration=15)
        for warning in result.warnings:
            iface.messageBar().pushMessage(PLUGIN_NAME, warning, level=Qgis.Warning, duration=0)

    return BackendTask(
        tr("Sounding Earth: classify {layer}").format(layer=job.layer_name),
        work,
        on_success=succeeded,
        on_failure=_report_failure(iface, tr("Classifying {layer}").format(layer=job.layer_name)),
        on_cancel=_report_cancel(iface, tr("Classifying {layer}").format(layer=job.layer_name)),
        cleanup=_sidecars(job.output),
    )


def soundscape_task(iface, job: RasterJob, project: QgsProject | None = None) -> BackendTask:
    """A task that maps where ``job.audio`` belongs on ``job.raster`` and adds the heat layer."""

    def work(progress):
        from backend.raster.soundmap import soundmap_raster

        return soundmap_raster(
            job.raster,
            job.model,
            job.audio,
            job.output,
            extent=job.extent,
            extent_crs=job.extent_crs,
            device="auto",
            progress=progress,
        )

    recording = Path(job.audio).name

    def succeeded(task: BackendTask) -> None:
        result = task.result
        layer = add_heat_layer(
            result.out,
            result.minimum,
            result.maximum,
            tr("soundscape of {recording}").format(recording=recording),
            project,
        )
        iface.messageBar().pushMessage(
            PLUGIN_NAME,
            tr(
                "Mapped where {recording} belongs on {layer} in {seconds} s "
                "(similarity {minimum} to {maximum}). Layer: {name}"
            ).format(
                recording=recording,
                layer=job.layer_name,
                seconds=f"{task.seconds:.1f}",
                minimum=f"{result.minimum:.2f}",
                maximum=f"{result.maximum:.2f}",
                name=layer.name(),
            ),
            level=Qgis.Success,
            duration=10,
        )
        for warning in result.warnings:
            iface.messageBar().pushMessage(PLUGIN_NAME, warning, level=Qgis.Warning, duration=0)

    return BackendTask(
        tr("Sounding Earth: soundscape of {recording}").format(recording=recording),
        work,
        on_success=succeeded,
        on_failure=_report_failure(
            iface, tr("The soundscape map of {recording}").format(recording=recording)
        ),
        on_cancel=_report_cancel(
            iface, tr("The soundscape map of {recording}").format(recording=recording)
        ),
        cleanup=_sidecars(job.output),
    )
