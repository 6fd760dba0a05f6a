"""The training tasks by name: ``TASKS["mnist"]``, ``TASKS["sine"]``, ``TASKS["series"]``, ``TASKS["dates"]``."""

from .base import ConfigError, Task
from .dates import DatesTask
from .mnist import MnistTask
from .series import SeriesTask
from .sine import SineTask

TASKS: dict[str, type[Task]] = {t.name: t for t in (MnistTask, SineTask, SeriesTask, DatesTask)}

__all__ = ["TASKS", "ConfigError", "DatesTask", "MnistTask", "SeriesTask", "SineTask", "Task"]
