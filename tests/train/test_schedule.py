"""train.schedule: warm-up and cosine decay, continued smoothly across resumes."""
import math

import pytest

from train import schedule


def todays_formula(lr, warmup, steps, floor, step, factor=1.0):
    """The schedule of runs that are never resumed (as before segments existed)."""
    warm = min(1.0, (step + 1) / max(1, warmup))
    progress = min(1.0, step / max(1, steps))
    cosine = floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    return lr * warm * cosine * factor


def test_a_run_never_resumed_follows_the_plain_schedule_exactly():
    segments = schedule.start(100, 0.1)
    for step in range(130):
        assert schedule.learning_rate(1e-3, 10, segments, step) == todays_formula(1e-3, 10, 100, 0.1, step)
        assert schedule.learning_rate(1e-3, 10, segments, step, 0.25) == todays_formula(1e-3, 10, 100, 0.1, step, 0.25)
    assert schedule.learning_rate(1e-3, 10, segments, 0) == pytest.approx(1e-4)
    assert schedule.learning_rate(1e-3, 10, segments, 100) == pytest.approx(1e-4)
    assert schedule.retarget(segments, 40, 100, 0.1) == segments  # a resume that changes nothing


@pytest.mark.parametrize("changes", [
    [(500, 3000, 0.05)],                        # extended half-way
    [(500, 800, 0.05)],                         # shortened
    [(500, 2000, 0.2)],                         # a higher floor than the rate reached: stays flat
    [(500, 2000, 0.01)],                        # a lower floor
    [(100, 4000, 0.05)],                        # during the warm-up
    [(2500, 4000, 0.05)],                       # after the end: the floor is kept
    [(500, 3000, 0.05), (1500, 1800, 0.05), (1500, 2600, 0.02), (2600, 3000, 0.0)],  # resumed again and again
])
def test_resumes_continue_the_decay_smoothly_and_never_raise_the_rate(changes):
    lr, warmup = 1e-3, 200
    segments = schedule.start(2000, 0.05)
    for at, steps, floor in changes:
        before = schedule.learning_rate(lr, warmup, segments, at)
        segments = schedule.retarget(segments, at, steps, floor)
        assert schedule.learning_rate(lr, warmup, segments, at) == pytest.approx(before, rel=1e-12), "continuous"
        assert segments[-1].end == steps
    rates = [schedule.learning_rate(lr, warmup, segments, s) for s in range(0, 4001)]
    assert all(b <= a for a, b in zip(rates[warmup - 1:], rates[warmup:])), "monotone after the warm-up"
    last = segments[-1]
    assert rates[last.end] == pytest.approx(lr * last.floor)
    assert schedule.from_json(schedule.to_json(segments)) == segments


def test_the_old_schedule_restarted_from_the_top_the_new_one_does_not():
    old_at_resume = todays_formula(1e-3, 200, 2000, 0.05, 2000)  # the run finished at its floor
    old_after = todays_formula(1e-3, 200, 3000, 0.05, 2000)      # old code after --steps 3000
    assert old_after > 5 * old_at_resume  # a jump from 5% to 29% of the base rate
    segments = schedule.retarget(schedule.start(2000, 0.05), 2000, 3000, 0.05)
    assert schedule.learning_rate(1e-3, 200, segments, 2000) == pytest.approx(old_at_resume)
