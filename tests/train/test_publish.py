"""train.publish: pushing a run's best checkpoint; offline it fails clearly and loses nothing."""
from helpers import tiny_model
from train.publish import main, publishable, push


def test_offline_push_fails_clearly_and_the_command_refuses_an_empty_run(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["--run", str(run), "--repo-id", "someone/x"]) == 2
    assert "holds no checkpoint" in capsys.readouterr().err
    tiny_model(size=8).save_pretrained(run / "last")
    (run / "last" / "README.md").write_text("card")
    assert publishable(run) == run / "last"
    logs = []
    assert push(run, "someone/realnvp-test", logs.append) is False  # HF_HUB_OFFLINE=1 in the tests
    assert "could not push to someone/realnvp-test" in logs[0] and "python -m train.publish --run" in logs[0]
    assert main(["--run", str(run), "--repo-id", "someone/x"]) == 1
    tiny_model(size=8).save_pretrained(run / "best")
    assert publishable(run) == run / "best"
