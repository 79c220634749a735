"""bench/import_graph.py: the project's imports read from the source, its rules and its picture."""
import pytest

from helpers import load_bench

@pytest.fixture(scope="module")
def bench():
    return load_bench("import_graph")


def test_relative_absolute_and_lazy_imports_are_resolved(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    package = tmp_path / "realnvp"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from .model import RealNVP\n")
    (package / "model.py").write_text("import torch\nfrom . import inputs\n")
    (package / "inputs.py").write_text("def f():\n    from .sub.deep import g\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "deep.py").write_text("from ..model import RealNVP\nimport realnvp.inputs\n")
    for other in ("train", "explorer"):
        (tmp_path / other).mkdir()
        (tmp_path / other / "__init__.py").write_text("")
    edges = bench.graph()
    assert edges["realnvp"] == {"realnvp.model"}
    assert edges["realnvp.model"] == {"realnvp.inputs"}  # torch is not the project's
    assert edges["realnvp.inputs"] == {"realnvp.sub.deep"}  # an import inside a function counts
    assert edges["realnvp.sub.deep"] == {"realnvp.model", "realnvp.inputs"}
    assert sorted(bench.cycles(edges)) == [["realnvp.inputs", "realnvp.model", "realnvp.sub.deep"],
                                           ["realnvp.inputs", "realnvp.sub.deep"]]


def test_the_project_has_no_import_cycle_and_the_library_imports_neither_app_nor_trainer(bench, capsys):
    assert bench.main([]) == 0, capsys.readouterr().err
    edges = bench.graph()
    assert not [b for a, targets in edges.items() if a.startswith("realnvp") for b in targets
                if not b.startswith("realnvp")]


def test_the_picture_is_drawn(bench, tmp_path):
    out = tmp_path / "graph.png"
    assert bench.main(["--draw", str(out)]) == 0
    assert out.stat().st_size > 10_000 and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
