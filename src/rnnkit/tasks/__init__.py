"""The training tasks by name: ``TASKS["mnist"]``, ``TASKS["sine"]``, ``TASKS["series"]``."""

from .base import ConfigError, Task
from .mnist import MnistTask
from .series import SeriesTask
from .sine import SineTask

TASKS: dict[str, type[Task]] = {t.name: t for t in (MnistTask, SineTask, SeriesTask)}

__all__ = ["TASKS", "ConfigError", "MnistTask", "SeriesTask", "SineTask", "Task"]
