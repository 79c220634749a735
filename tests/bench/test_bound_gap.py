"""bench/bound_gap.py: the importance-weighted estimates it prints against the single-draw bound."""
import re

import pytest

from helpers import load_bench, tiny_model


def test_the_estimates_fall_below_the_single_draw_bound(fake_photos, tmp_path, capsys):
    bench = load_bench("bound_gap")
    model = tiny_model(3, 8, 1, dequantizer_hidden=8)
    model.float().save_pretrained(tmp_path / "model")
    bench.main(["--model", str(tmp_path / "model"), "--per-photo", "2", "--draws", "5", "--sides", "32", "64"])
    out = capsys.readouterr().out
    # 2 crops per photograph and side, fewer where a side has fewer (a 66x100 photograph at 32 px has 1)
    assert "9 crops of the test split, 5 draws of its learned q" in out
    single = float(re.search(r"single-draw bound \((\d+\.\d+)\)", out).group(1))
    rows = {int(k): (float(v), float(gap)) for k, v, gap in re.findall(r"\| (\d+) \| (\d+\.\d+) \| (-?\d+\.\d+) \|", out)}
    assert set(rows) == {1, 4, 5}
    assert rows[5][0] < single  # the mean of weights is at least their geometric mean
    assert rows[5][1] == pytest.approx(single - rows[5][0], abs=2e-4)
