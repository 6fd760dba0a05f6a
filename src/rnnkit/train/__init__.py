"""Generic training machinery: loop, checkpoints, run-directory files, sampler, schedules."""

from .checkpoint import Checkpoint, CheckpointFileError, atomic_write_bytes, save_checkpoint
from .loop import LoopConfig, Trainable, TrainingDiverged, fit
from .process_group import ProcessGroup, SingleProcess
from .sampler import EpochSampler
from .schedule import lr_at

__all__ = [
    "Checkpoint",
    "CheckpointFileError",
    "EpochSampler",
    "LoopConfig",
    "ProcessGroup",
    "SingleProcess",
    "Trainable",
    "TrainingDiverged",
    "atomic_write_bytes",
    "fit",
    "lr_at",
    "save_checkpoint",
]
