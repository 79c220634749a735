"""The Likelihood tab's record of the model against WebP by kind of photograph (vs_codecs.json)."""
import json

from explorer.handlers.likelihoods import codec_record_note
from explorer.model_files import read_vs_codecs


def record(**ratios):
    kinds = {name: {"crops": 10, "model": r, "webp": 1.0, "png": 1.2, "ratio": r} for name, r in ratios.items()}
    return {"protocol": "p", "split": "test", "photographs": ["a", "b", "c"], "kinds": kinds}


def test_the_note_gives_every_kind_and_names_the_kinds_it_loses_on():
    note = codec_record_note(record(smooth=1.25, textured=0.81, people=0.97, **{"all": 0.93}))
    assert "3 test photographs" in note and "**0.93x** WebP's bits overall" in note
    assert "smooth 1.25x, textured 0.81x, people 0.97x" in note
    assert note.endswith("It still loses to WebP lossless on smooth (1.25x) photographs.")
    winning = codec_record_note(record(smooth=0.9, textured=0.8, **{"all": 0.85}))
    assert "loses" not in winning
    assert codec_record_note(None) == "" and codec_record_note({"kinds": {}}) == ""


def test_reading_the_record_survives_missing_and_broken_files(tmp_path):
    assert read_vs_codecs(tmp_path) is None
    (tmp_path / "vs_codecs.json").write_text("{not json")
    assert read_vs_codecs(tmp_path) is None
    (tmp_path / "vs_codecs.json").write_text(json.dumps({"kinds": []}))
    assert read_vs_codecs(tmp_path) is None
    (tmp_path / "vs_codecs.json").write_text(json.dumps(record(smooth=1.1, **{"all": 1.0})))
    assert read_vs_codecs(tmp_path)["kinds"]["smooth"]["ratio"] == 1.1


def test_the_note_names_the_photographs_and_the_validation_kinds_it_loses_on():
    test = record(smooth=0.9, **{"all": 0.9})
    test["photographs_losing_to_webp"] = {"smarties": 1.117, "home": 1.037}
    test["validation"] = record(smooth=1.15, people=1.25, textured=0.88, **{"all": 1.01})
    test["validation"]["photographs_losing_to_webp"] = {"fog": 2.06, "facade": 1.75, "group": 1.67, "lake": 1.11,
                                                        "kite": 1.01}
    note = codec_record_note(test)
    assert "Test photographs where it loses: smarties 1.12x, home 1.04x." in note
    assert ("On the 3 validation photographs (which chose this checkpoint) it loses on smooth (1.15x), people (1.25x);"
            " worst: fog 2.06x, facade 1.75x, group 1.67x, lake 1.11x.") in note


def test_the_bundled_photos_model_carries_its_record_from_load():
    from explorer.registry import ModelRegistry

    loaded = ModelRegistry().load("photos")
    assert loaded.vs_codecs == read_vs_codecs(loaded.directory)  # read once, when the model loads
    note = codec_record_note(loaded.vs_codecs)
    assert set(loaded.vs_codecs["kinds"]) >= {"smooth", "textured", "people", "man-made", "all"}
    assert f"**{loaded.vs_codecs['kinds']['all']['ratio']:.2f}x** WebP's bits overall" in note
