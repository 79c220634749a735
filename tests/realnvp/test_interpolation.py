"""realnvp.interpolation: the four-image manifold, the pair path and great-circle walks."""

import pytest
import torch

from realnvp import interpolation
from helpers import grey_images as images

def test_manifold_corners_are_the_four_images(model):
    x = images(4)
    grid = interpolation.interpolation_manifold(model, x, size=3)
    assert grid.shape == (9, 1, 8, 8)
    # a = 0, b = 0 -> z1; a = 0, b = pi/2 -> z2; a = pi/2, b = 0 -> z3; a = b = pi/2 -> z4
    for index, corner in zip([0, 2, 6, 8], range(4)):
        assert torch.allclose(grid[index], x[corner], atol=1e-9)
    assert not torch.allclose(grid[4], x[0], atol=1e-3)
    with pytest.raises(ValueError, match="exactly 4"):
        interpolation.interpolation_manifold(model, x[:3], 3)


def test_pair_interpolation_ends(model):
    x = images(2)
    row = interpolation.interpolate_pair(model, x[:1], x[1:], steps=5)
    assert row.shape == (5, 1, 8, 8)
    assert torch.allclose(row[0], x[0], atol=1e-9) and torch.allclose(row[-1], x[1], atol=1e-9)


def test_great_circle_latents_norms_follow_the_cos_sin_identity():
    g = torch.Generator().manual_seed(0)
    za = [torch.randn(1, 2, 4, 4, generator=g, dtype=torch.float64), torch.randn(1, 4, 2, 2, generator=g,
                                                                                 dtype=torch.float64)]
    zb = [torch.randn(1, 2, 4, 4, generator=g, dtype=torch.float64) * 1.3, torch.randn(1, 4, 2, 2, generator=g,
                                                                                       dtype=torch.float64)]
    ts = torch.linspace(0, 2 * torch.pi, 17, dtype=torch.float64)
    mixed = interpolation.great_circle_latents(za, zb, ts)
    assert [m.shape for m in mixed] == [(17, 2, 4, 4), (17, 4, 2, 2)]
    flat = lambda zs: torch.cat([z.flatten(1) for z in zs], 1)  # noqa: E731
    a, b, m = flat(za)[0], flat(zb)[0], flat(mixed)
    expected = torch.cos(ts) ** 2 * a.dot(a) + torch.sin(ts) ** 2 * b.dot(b) + 2 * torch.sin(ts) * torch.cos(ts) * a.dot(b)
    assert torch.allclose((m * m).sum(1), expected, rtol=1e-12)
    assert torch.allclose(m[0], a) and torch.allclose(m[4], b) and torch.allclose(m[8], -a) and torch.allclose(m[16], a)
    # not a straight line: the midpoint of a line would have norm^2 (|a|^2 + |b|^2 + 2<a,b>)/4
    assert (m[2] * m[2]).sum() > ((a + b) / 2).dot((a + b) / 2) * 1.5


def test_great_circle_walk_is_closed(model):
    x = images(4, seed=2)
    za, zb = interpolation.manifold_circle_latents(model.encode(x))
    frames = interpolation.great_circle_walk(model, za, zb, 12)
    assert frames.shape == (12, 1, 8, 8) and frames.min() >= 0 and frames.max() <= 1
    closing = interpolation.geodesic_frames(model, za, zb, [2 * torch.pi])  # t = 2 pi: the frame after the last
    assert torch.allclose(closing[0], frames[0], atol=1e-9)
    assert not torch.allclose(frames[1], frames[0], atol=1e-3)
    assert torch.allclose(interpolation.great_circle_walk(model, za, zb, 4), frames[::3], atol=1e-12)
    # the first quarter runs down the middle column of the paper's manifold (b = pi/4)
    grid = interpolation.interpolation_manifold(model, x, size=3)
    quarter = interpolation.geodesic_frames(model, za, zb, [0.0, torch.pi / 4, torch.pi / 2])
    assert torch.allclose(quarter, grid[[1, 4, 7]], atol=1e-9)
    with pytest.raises(ValueError, match="frames"):
        interpolation.great_circle_walk(model, za, zb, 0)
    with pytest.raises(ValueError, match="exactly 4"):
        interpolation.manifold_circle_latents(model.encode(x[:3]))


def test_there_and_back_angles():
    ts = interpolation.there_and_back_angles(8)
    assert len(ts) == 8 and ts[0] == 0 and ts[4] == pytest.approx(torch.pi / 2)
    assert ts[1] == pytest.approx(ts[7]) and ts[3] == pytest.approx(ts[5])
    assert all(b > a for a, b in zip(ts[:4], ts[1:5]))
