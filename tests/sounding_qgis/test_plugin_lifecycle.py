"""Loading, unloading and loading the plugin again leaves exactly one of everything."""

from __future__ import annotations

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QCoreApplication, QEvent
from qgis.PyQt.QtWidgets import QAction, QDockWidget, QToolBar

from sounding_qgis.plugin import (
    CLASSIFY_TEXT,
    SOUNDS_HERE_TEXT,
    SOUNDSCAPE_TEXT,
    TOOLBAR_OBJECT_NAME,
    TRAIN_LABELS_TEXT,
    SoundingEarthPlugin,
)
from sounding_qgis.sounds_dock import SoundsHereDock


def _flush() -> None:
    """Run pending deleteLater() calls, as QGIS's event loop would."""
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    QCoreApplication.processEvents()


def _ours(window):
    docks = [
        d for d in window.findChildren(QDockWidget) if d.objectName() == SoundsHereDock.OBJECT_NAME
    ]
    toolbars = [t for t in window.findChildren(QToolBar) if t.objectName() == TOOLBAR_OBJECT_NAME]
    actions = [
        a for a in window.findChildren(QAction) if a.objectName().startswith("SoundingEarth")
    ]
    providers = [p for p in QgsApplication.processingRegistry().providers() if p.id() == "sounding"]
    return docks, toolbars, actions, providers


def test_unload_then_load_again_leaves_no_duplicate_actions_docks_or_providers(qgis_iface):
    window = qgis_iface.mainWindow()
    canvas = qgis_iface.mapCanvas()
    listeners_before = canvas.receivers(canvas.extentsChanged)
    for _round in range(3):
        plugin = SoundingEarthPlugin(qgis_iface)
        plugin.initGui()
        _flush()
        docks, toolbars, actions, providers = _ours(window)
        assert docks == [plugin.dock]
        assert toolbars == [plugin.toolbar]
        assert [a.text() for a in plugin.toolbar.actions()] == [
            TRAIN_LABELS_TEXT,
            CLASSIFY_TEXT,
            SOUNDS_HERE_TEXT,
            SOUNDSCAPE_TEXT,
        ]
        assert sorted(a.text() for a in actions) == sorted(a.text() for a in plugin.actions)
        # + Remove installed packages, Models… and About in the menu
        assert len(actions) == len({a.text() for a in actions}) == 7
        assert providers == [plugin.provider] and len(plugin.provider.algorithms()) == 10
        assert canvas.receivers(canvas.extentsChanged) == listeners_before + 1

        plugin.toggle_dock(True)
        assert plugin.dock.isVisibleTo(window)
        plugin.unload()
        _flush()
        assert _ours(window) == ([], [], [], [])
        assert canvas.receivers(canvas.extentsChanged) == listeners_before
        assert plugin.dock is None and plugin.toolbar is None and plugin.actions == []


def test_unload_cancels_running_tasks(qgis_iface):
    import threading

    from sounding_qgis.tasks import BackendTask, active_tasks, start_task
    from tests.sounding_qgis.helpers import wait_until

    started = threading.Event()

    def work(progress):
        from backend.progress import check_cancelled

        started.set()
        while True:
            check_cancelled(progress)
            threading.Event().wait(0.01)

    plugin = SoundingEarthPlugin(qgis_iface)
    plugin.initGui()
    task = start_task(BackendTask("endless", work))
    wait_until(started.is_set, 30, "the task to start")
    plugin.unload()
    wait_until(lambda: task not in active_tasks(), 30, "the task to stop")
    assert task.cancelled and task.error is None
