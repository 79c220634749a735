"""train.config: one dataclass generates the command line and decides what --resume may change."""
import dataclasses
import re

import pytest

from train.__main__ import parser
from train.config import FIELDS, ConfigError, TrainConfig, flag, is_fixed, resumed
from train.datasets import DATASET_NAMES

SAVED = dataclasses.asdict(TrainConfig(dataset="digits", out="runs/old", hidden_channels=4, num_blocks=1,
                                       batch_size=32, steps=100, image_size=8, folder="images",
                                       push_to_hub="someone/model", ema_decay=0.9))


def another_value(name, value):
    """A valid value of field `name` different from `value`."""
    meta = FIELDS[name].metadata
    if meta["choices"] is not None:
        return next(c for c in meta["choices"] if c != value)
    kind = meta["type"]
    if kind is bool:
        return not value
    if kind is int:
        return (value or 0) + 1
    if kind is float:
        return value / 2 if value else 0.5
    return f"{value}-other"


@pytest.mark.parametrize("name", list(FIELDS))
def test_every_option_given_with_resume_is_applied_and_reported_or_refused(name):
    """Generated from the fields: a new field cannot be silently dropped by --resume."""
    value = another_value(name, SAVED[name])
    logs = []
    if is_fixed(name):
        with pytest.raises(ConfigError) as caught:
            resumed(SAVED, {name: value}, at_step=50, log=logs.append)
        message = str(caught.value)
        assert f"{flag(name)} {value!r}" in message or f"{flag(name)} {value}" in message
        assert f"saved run's {SAVED[name]!r}" in message or f"saved run's {SAVED[name]}" in message
        assert FIELDS[name].metadata["why_fixed"] in message, "the refusal says why"
        assert not logs
    else:
        config = resumed(SAVED, {name: value}, at_step=50, log=logs.append)
        assert getattr(config, name) == value, "applied"
        assert len(logs) == 1 and logs[0].startswith(f"resume: {flag(name)} ") and "(was " in logs[0], logs
        assert logs[0].endswith(f"(was {SAVED[name]!r})" if isinstance(SAVED[name], str) else f"(was {SAVED[name]})")
        others = {k: v for k, v in dataclasses.asdict(config).items() if k != name}
        assert others == {k: v for k, v in SAVED.items() if k != name}, "nothing else changed"


def test_the_same_value_given_again_is_accepted_quietly_and_fixed_refusals_are_collected():
    logs = []
    same = {"dataset": "digits", "lr": SAVED["lr"], "steps": 100}
    assert resumed(SAVED, same, 50, logs.append) == TrainConfig(**SAVED)
    assert logs == []
    assert resumed(SAVED, {"lr": 1e-4}, 50, logs.append).lr == 1e-4
    assert logs == ["resume: --lr 0.0001 (was 0.001)"]
    with pytest.raises(ConfigError) as caught:
        resumed(SAVED, {"lr": 1e-4, "seed": 3, "val_fraction": 0.2, "batch_size": 64}, 50, logs.append)
    for option in ("--seed 3", "--val-fraction 0.2", "--batch-size 64"):
        assert option in str(caught.value)
    assert "--lr" not in str(caught.value)
    with pytest.raises(ConfigError, match="--steps 40: the run is already at step 50"):
        resumed(SAVED, {"steps": 40}, 50)
    with pytest.raises(ConfigError, match="--ema-decay must be in"):
        resumed(SAVED, {"ema_decay": 1.0}, 50)


def test_a_run_saved_before_a_field_existed_keeps_its_recipe():
    old = {k: v for k, v in SAVED.items() if k not in ("loss_units", "ema_decay")}
    logs = []
    config = resumed(old, {}, 50, logs.append)
    assert config.loss_units == "bits" and config.ema_decay == 0.0
    assert logs == ["resume: --loss-units: the saved run predates this option and keeps its recipe, 'bits'",
                    "resume: --ema-decay: the saved run predates this option and keeps its recipe, 0.0"]
    assert resumed(old, {"loss_units": "nats"}, 50, logs.append).loss_units == "nats"
    assert logs[-1] == "resume: --loss-units 'nats' (was 'bits')"
    assert TrainConfig(dataset="digits", out="x").loss_units == "nats", "new runs: the paper's recipe"
    assert TrainConfig(dataset="digits", out="x").ema_decay == 0.999, "new runs: the ablation's winner"
    with pytest.raises(ConfigError, match="does not know: mystery"):
        resumed({**SAVED, "mystery": 1}, {}, 50)


def test_the_command_line_has_one_option_per_field():
    p = parser()
    argv = []
    for name in FIELDS:
        value = another_value(name, dataclasses.asdict(TrainConfig(dataset="digits", out="x"))[name])
        if isinstance(value, bool):
            argv.append(flag(name) if value else "--no-" + flag(name)[2:])
        else:
            argv += [flag(name), str(value)]
    given = vars(p.parse_args(argv))
    assert given.pop("resume") is False
    assert set(given) == set(FIELDS)
    config = TrainConfig(**given)
    for name in FIELDS:
        assert getattr(config, name) == given[name]
    assert vars(p.parse_args(["--out", "x"])) == {"out": "x", "resume": False}, "options not given are absent"
    assert vars(p.parse_args(["--out", "x", "--no-download"]))["download"] is False
    assert set(p.parse_args(["--out", "x", "--dataset", DATASET_NAMES[0]]).__dict__) == {"out", "dataset", "resume"}


def test_help_shows_each_default_once(capsys):
    p = parser()
    with pytest.raises(SystemExit):
        p.parse_args(["--help"])
    text = re.sub(r"\s+", " ", capsys.readouterr().out.split("options:", 1)[1])
    assert "(default: None)" not in text and "default 2" not in text
    entries = {}
    for action in p._actions:
        if action.dest in FIELDS:
            help_text = p._get_formatter()._expand_help(action)
            entries[action.dest] = help_text
            assert re.sub(r"\s+", " ", help_text) in text, "shown as written"
    assert set(entries) == set(FIELDS)
    for name, help_text in entries.items():
        assert help_text.count("default") <= 1, (name, help_text)
        assert ("fixed for a run" in help_text) == is_fixed(name), name
        default = FIELDS[name].default
        if default not in (None, dataclasses.MISSING):
            assert f"default: {default};" in help_text, name
    assert text.count("(default: 2;") == 1  # --num-scales


def test_invalid_values_are_refused_naming_the_option():
    with pytest.raises(ConfigError, match="--steps must be at least 1"):
        TrainConfig(dataset="digits", out="x", steps=0)
    with pytest.raises(ConfigError, match="--loss-units 'grams'"):
        TrainConfig(dataset="digits", out="x", loss_units="grams")
