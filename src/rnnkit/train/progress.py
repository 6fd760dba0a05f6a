"""Progress display: a tqdm bar on a terminal, one plain line every N steps otherwise (logs, CI)."""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    def __init__(
        self,
        total: int,
        initial: int,
        every: int,
        stream: TextIO | None = None,
        tty: bool | None = None,
        quiet: bool = False,
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.quiet = quiet  # ranks other than 0 of a multi-process run print nothing
        self.total, self.every = total, max(1, every)
        self._bar = None
        if self.tty and not quiet:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, initial=initial, file=self.stream, unit="step", dynamic_ncols=True
            )

    def update(self, step: int, loss: float, examples_per_s: float, lr: float) -> None:
        """Called after every step; ``step`` is the number of steps done."""
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.update(1)
            if step % 10 == 0 or step == self.total:
                self._bar.set_postfix(
                    loss=f"{loss:.4g}", ex_s=f"{examples_per_s:.0f}", refresh=False
                )
        elif step % self.every == 0 or step == self.total:
            print(
                f"step {step}/{self.total}  loss {loss:.4g}  lr {lr:.3g}  {examples_per_s:.0f} ex/s",
                file=self.stream,
                flush=True,
            )

    def message(self, text: str) -> None:
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
