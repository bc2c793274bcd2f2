"""Stopping a training run by hand without losing its progress.

Why: training runs for hours, and the usual way to stop one is Ctrl-C (or a scheduler's SIGTERM).
Dying wherever the signal lands would lose every step since the last periodic checkpoint, and a
checkpoint written in the middle of an optimizer step would not resume exactly. So the first
signal only asks the loop to stop after the step in flight; the loop then writes `last`, which
`--resume` continues exactly as if the run had never stopped. A second Ctrl-C stops at once.

Only a single process installs the handler: under torchrun every rank gets the signal at a
different point, and the checkpoint is a collective, so there torchrun's own handling stays.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any


class TrainingInterrupted(Exception):
    """The run stopped on request after `step`; `last.safetensors` in the run folder holds it."""

    def __init__(self, step: int) -> None:
        super().__init__(f"stopped at step {step}")
        self.step = step


class StopRequest:
    """Context manager: `requested` turns true on the first SIGINT/SIGTERM while it is active."""

    def __init__(self, enabled: bool = True) -> None:
        self.requested = False
        self._enabled = enabled and threading.current_thread() is threading.main_thread()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopRequest":
        if self._enabled:
            for number in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(number) is not signal.SIG_IGN:  # nohup'd or backgrounded: leave it so
                    self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping after this step and writing a checkpoint for --resume (Ctrl-C again: stop at once)",
              file=sys.stderr, flush=True)
