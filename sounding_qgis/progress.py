"""The backend's progress/cancellation interface, mapped onto QGIS's feedback and tasks.

Every backend operation takes a ``Progress`` (``progress(fraction, message)``,
``is_cancelled()``); these two adapters are the only places the plugin turns
that into QGIS calls.
"""

from __future__ import annotations

import time

#: progress messages are passed on at most this often (Processing logs each one)
MESSAGE_INTERVAL_S = 1.0


def _percent(fraction: float) -> float:
    try:
        value = float(fraction)
    except (TypeError, ValueError):
        return 0.0
    if value != value:  # NaN
        return 0.0
    return 100.0 * min(1.0, max(0.0, value))


class FeedbackProgress:
    """A backend ``Progress`` that reports to a ``QgsProcessingFeedback``.

    The fraction becomes ``setProgress(0–100)``; a new message becomes
    ``setProgressText`` (throttled: Processing writes each one to its log);
    ``is_cancelled`` asks ``feedback.isCanceled()``.
    """

    def __init__(self, feedback, interval_s: float = MESSAGE_INTERVAL_S) -> None:
        """Wrap ``feedback`` (``None`` reports nowhere and never cancels)."""
        self.feedback = feedback
        self.interval_s = interval_s
        self._last_message = ""
        self._last_time = -float("inf")

    def progress(self, fraction: float, message: str = "") -> None:
        """Report ``fraction`` in [0, 1] and, now and then, ``message``."""
        if self.feedback is None:
            return
        self.feedback.setProgress(_percent(fraction))
        now = time.monotonic()
        if (
            message
            and message != self._last_message
            and (now - self._last_time >= self.interval_s or fraction >= 1.0)
        ):
            self.feedback.setProgressText(message)
            self._last_message, self._last_time = message, now

    def is_cancelled(self) -> bool:
        """True once the user pressed Cancel in the Processing dialog."""
        return self.feedback is not None and bool(self.feedback.isCanceled())


class TaskProgress:
    """A backend ``Progress`` that reports to a ``QgsTask`` (shown in the task manager).

    The fraction becomes ``task.setProgress(0–100)`` (thread-safe); a new message
    is handed to ``task.report_message`` when the task has one (a queued signal),
    and ``is_cancelled`` asks ``task.isCanceled()``.
    """

    def __init__(self, task) -> None:
        """Wrap ``task``."""
        self.task = task
        self.message = ""

    def progress(self, fraction: float, message: str = "") -> None:
        """Report ``fraction`` in [0, 1] and ``message``."""
        self.task.setProgress(_percent(fraction))
        if message and message != self.message:
            self.message = message
            report = getattr(self.task, "report_message", None)
            if report is not None:
                report(message)

    def is_cancelled(self) -> bool:
        """True once the task was cancelled (task manager's Cancel, or ``task.cancel()``)."""
        return bool(self.task.isCanceled())
