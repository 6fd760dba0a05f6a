"""A TensorFlow subprocess that answers JSON requests, one line each way (the TF columns of the benchmarks).

TF runs in its own interpreter (the TF oracle's python, never rnnkit's), so torch and TF never share a process
or a thread pool. Its stderr (TF's start-up and deprecation chatter) goes to a temporary file that is shown only
if the worker dies.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["JsonWorker"]


class JsonWorker:
    """``python bench/<script> [args...]`` with ``env`` added to the environment; ``ask(request) -> answer``."""

    def __init__(
        self, python: str, script: str, env: dict[str, str], args: tuple[str, ...] = ()
    ) -> None:
        self.what = f"the TensorFlow worker {script}"
        quiet = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [python, str(Path(__file__).with_name(script)), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
            env={**os.environ, **quiet, **env},
        )  # fmt: skip

    def answer(self) -> dict[str, Any]:
        """The worker's next JSON line; RuntimeError with the end of its stderr if it has exited."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.log.seek(0)
            tail = self.log.read()[-3000:]
            raise RuntimeError(f"bench: {self.what} exited; its stderr ends with:\n{tail}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self.answer()

    def close(self) -> None:
        """End the worker (its stdin closes; killed if it has not exited after 60 s) and drop its log."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        finally:
            self.log.close()
