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


def _report_success(iface, message: str, warnings=(), notes=()) -> None:
    """The success message, then the run's notes and warnings, in the message bar."""
    bar = iface.messageBar()
    bar.pushMessage(PLUGIN_NAME, message, level=Qgis.Success, duration=10)
    for note in notes:
        bar.pushMessage(PLUGIN_NAME, note, level=Qgis.Info, duration=15)
    for warning in warnings:
        bar.pushMessage(PLUGIN_NAME, warning, level=Qgis.Warning, duration=0)


def _raster_task(iface, title: str, what: str, work, succeeded, output: Path) -> BackendTask:
    """A task writing ``output`` (and its style sidecar), reporting failure and cancellation."""
    return BackendTask(
        title,
        work,
        on_success=succeeded,
        on_failure=_report_failure(iface, what),
        on_cancel=_report_cancel(iface, what),
        cleanup=_sidecars(output),
    )


def classify_task(iface, job: RasterJob, project: QgsProject | None = None) -> BackendTask:
    """A task that classifies ``job.raster`` and adds the class layer, styled, when done."""

    def work(progress):
        from backend.models.modelfile import load_model_metadata
        from backend.raster.classify import classify_raster
        from backend.raster.style import class_colours

        result = classify_raster(
            job.raster, job.model, job.output, progress=progress, **job.options()
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
        message = tr(
            "Classified {layer} in {seconds} s: {count} classes, "
            "mostly {largest} ({share}%). Layer: {name}"
        ).format(
            layer=job.layer_name,
            seconds=f"{task.seconds:.1f}",
            count=len(names),
            largest=largest,
            share=f"{share:.0f}",
            name=layer.name(),
        )
        _report_success(iface, message, result.warnings, result.notes)

    return _raster_task(
        iface,
        tr("Sounding Earth: classify {layer}").format(layer=job.layer_name),
        tr("Classifying {layer}").format(layer=job.layer_name),
        work,
        succeeded,
        job.output,
    )


def soundscape_task(iface, job: RasterJob, project: QgsProject | None = None) -> BackendTask:
    """A task that maps where ``job.audio`` belongs on ``job.raster`` and adds the heat layer."""

    def work(progress):
        from backend.raster.soundmap import soundmap_raster

        return soundmap_raster(
            job.raster, job.model, job.audio, job.output, progress=progress, **job.options()
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
        message = tr(
            "Mapped where {recording} belongs on {layer} in {seconds} s "
            "(similarity {minimum} to {maximum}). Layer: {name}"
        ).format(
            recording=recording,
            layer=job.layer_name,
            seconds=f"{task.seconds:.1f}",
            minimum=f"{result.minimum:.2f}",
            maximum=f"{result.maximum:.2f}",
            name=layer.name(),
        )
        _report_success(iface, message, result.warnings)

    return _raster_task(
        iface,
        tr("Sounding Earth: soundscape of {recording}").format(recording=recording),
        tr("The soundscape map of {recording}").format(recording=recording),
        work,
        succeeded,
        job.output,
    )
