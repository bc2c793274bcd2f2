"""Click parameter types that tasks share for their options. Imports only click: plugins use these
when they register, which happens on every start, `imgrestore --help` included."""

from __future__ import annotations

import math
from typing import Any

import click


SMALLEST_TRUNCATION = 0.05
"""The least --truncation: components are redrawn until they fall inside ±T, about 1/T draws
each for a small T, so 1e-6 hung a one-image run; 0.05 (BigGAN's smallest) takes ~25."""


class FiniteRange(click.FloatRange):
    """click.FloatRange that refuses NaN and infinity. Why: NaN compares false with both bounds, so
    FloatRange lets `--sigma nan` through, and the run wrote black images and exited 0."""

    def convert(self, value: Any, parameter: click.Parameter | None, context: click.Context | None) -> Any:
        number = super().convert(value, parameter, context)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", parameter, context)
        return number


class Range(click.ParamType):
    """"LOW-HIGH" (or one value v, meaning v-v) -> (low, high) with low <= high, both within
    [minimum, maximum]; with `open_bounds` strictly inside them."""

    name = "LOW-HIGH"

    def __init__(self, minimum: float, maximum: float = float("inf"), open_bounds: bool = False) -> None:
        self.minimum, self.maximum, self.open_bounds = minimum, maximum, open_bounds

    def convert(self, value: Any, parameter: click.Parameter | None, context: click.Context | None) -> tuple[float, float]:
        if isinstance(value, tuple):
            return value
        from imgrestore.masks import parse_area  # numpy and OpenCV: only when an option is given

        try:
            low, high = parse_area(str(value))
        except ValueError as error:
            self.fail(str(error), parameter, context)
        inside = (self.minimum < low and high < self.maximum) if self.open_bounds else \
            (self.minimum <= low and high <= self.maximum)
        if not (inside and low <= high):
            sign = "<" if self.open_bounds else "<="
            self.fail(f"need {self.minimum:g} {sign} LOW <= HIGH {sign} {self.maximum:g}", parameter, context)
        return low, high


class Multiple(click.IntRange):
    """An integer of at least `minimum` that is a multiple of `of` (a training crop a network halves
    twice must divide by 4): checked when the command line is read, not as a traceback from the
    network after the data has loaded."""

    def __init__(self, of: int, minimum: int) -> None:
        super().__init__(min=minimum)
        self.of = of

    def convert(self, value: Any, parameter: click.Parameter | None, context: click.Context | None) -> Any:
        number = super().convert(value, parameter, context)
        if number % self.of:
            self.fail(f"{number} is not a multiple of {self.of}", parameter, context)
        return number
