"""The learning-rate schedule: a linear warm-up, then cosine decay to a floor.

The decay is a list of segments. A run starts with one, from the full rate (fraction 1.0) at
step 0 to `min_lr_fraction` at `steps`. When `--resume` sets a new horizon (`--steps`) or a new
floor (`--min-lr-fraction`), a segment starts at the resume step from the fraction reached
there, so the rate goes on decaying smoothly (continuous, never rising after the warm-up)
instead of restarting from the top. The segments are saved in the training state.

rate(step) = lr * warm-up(step) * fraction(step) * factor, where `factor` is halved by each
roll-back after non-finite values.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Segment:
    start: int    # the step where this horizon was set
    value: float  # the fraction of the base rate reached there (1.0 for the first segment)
    end: int      # the step where the decay reaches the floor
    floor: float  # the fraction of the base rate at `end` and after

    def fraction(self, step: int) -> float:
        progress = min(1.0, (step - self.start) / max(1, self.end - self.start))
        return self.floor + (self.value - self.floor) * 0.5 * (1 + math.cos(math.pi * progress))


def start(steps: int, min_lr_fraction: float) -> list[Segment]:
    """The schedule of a new run."""
    return [Segment(0, 1.0, steps, min_lr_fraction)]


def fraction(segments: list[Segment], step: int) -> float:
    """The fraction of the base rate at `step` (before warm-up and roll-back factors)."""
    current = segments[0]
    for segment in segments:
        if segment.start <= step:
            current = segment
    return current.fraction(step)


def retarget(segments: list[Segment], step: int, steps: int, min_lr_fraction: float) -> list[Segment]:
    """The schedule after a resume at `step` with horizon `steps` and floor `min_lr_fraction`:
    unchanged when both are the current segment's; otherwise a new segment decays from the
    fraction reached at `step` to the floor (never above that fraction) at `steps`. A run that
    has already reached its floor stays there: a higher rate is a new --lr."""
    last = segments[-1]
    if (last.end, last.floor) == (steps, min_lr_fraction):
        return list(segments)
    kept = [s for s in segments if s.start < step]  # a segment set at this very step is replaced
    value = fraction(kept or segments, step)
    return [*kept, Segment(step, value, steps, min(min_lr_fraction, value))]


def warm_up(warmup_steps: int, step: int) -> float:
    return min(1.0, (step + 1) / max(1, warmup_steps))


def learning_rate(lr: float, warmup_steps: int, segments: list[Segment], step: int, factor: float = 1.0) -> float:
    """The rate of optimizer step `step`."""
    return lr * warm_up(warmup_steps, step) * fraction(segments, step) * factor


def to_json(segments: list[Segment]) -> list[dict]:
    return [asdict(s) for s in segments]


def from_json(records: list[dict]) -> list[Segment]:
    return [Segment(int(r["start"]), float(r["value"]), int(r["end"]), float(r["floor"])) for r in records]
