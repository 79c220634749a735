"""explorer.model_files: the listed models, their examples and reference figures, read without loading."""
import json

from explorer import model_files
from explorer.model_files import (MODELS_DIR, distinct_examples, find_examples, hub_ids_from_config,
                                  read_models_file, read_reference, read_vs_codecs)


def test_hub_ids_from_the_environment_and_models_json(tmp_path):
    listed = tmp_path / "models.json"
    listed.write_text(json.dumps(["a/one", {"repo_id": "b/two", "bundled_copy": "mnist"}, "not a repo"]))
    ids, warnings = hub_ids_from_config(env=" c/three, a/one ", models_file=listed)
    assert ids == ["c/three", "a/one", "b/two"]
    assert len(warnings) == 1 and "not a repo" in warnings[0]
    assert model_files.bundled_copies_from_config(listed) == {"b/two": "mnist"}


def test_models_json_that_is_not_a_list_is_ignored_with_a_warning(tmp_path):
    listed = tmp_path / "models.json"
    listed.write_text("{broken")
    assert read_models_file(listed)[0] == [] and "not valid JSON" in read_models_file(listed)[1][0]
    listed.write_text('{"a": 1}')
    assert read_models_file(listed) == ([], ["models.json must hold a JSON list of repo ids; ignoring it"])
    assert read_models_file(tmp_path / "absent.json") == ([], [])


def test_examples_and_reference_of_a_bundled_model(tmp_path):
    examples = find_examples(model_files.EXAMPLES_DIR / "mnist")
    assert examples and all(p.suffix == ".png" for p in examples)
    picks = distinct_examples(examples, 4)
    assert len({p.split("/")[-1].rsplit("_", 1)[0] for p in picks}) == 4  # four different digits
    assert distinct_examples([], 2) == [None, None]
    reference = read_reference(MODELS_DIR / "mnist")
    assert reference["test_bpd"] and reference.get("dataset") == "mnist5k"
    (tmp_path / "reference.json").write_text("[1, 2]")
    assert read_reference(tmp_path) is None and read_reference(tmp_path / "absent") is None


def record(**ratios):
    kinds = {name: {"crops": 10, "model": r, "webp": 1.0, "png": 1.2, "ratio": r} for name, r in ratios.items()}
    return {"protocol": "p", "split": "test", "photographs": ["a", "b", "c"], "kinds": kinds}


def test_reading_the_record_survives_missing_and_broken_files(tmp_path):
    assert read_vs_codecs(tmp_path) is None
    (tmp_path / "vs_codecs.json").write_text("{not json")
    assert read_vs_codecs(tmp_path) is None
    (tmp_path / "vs_codecs.json").write_text(json.dumps({"kinds": []}))
    assert read_vs_codecs(tmp_path) is None
    (tmp_path / "vs_codecs.json").write_text(json.dumps(record(smooth=1.1, **{"all": 1.0})))
    assert read_vs_codecs(tmp_path)["kinds"]["smooth"]["ratio"] == 1.1
