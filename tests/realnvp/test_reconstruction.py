"""realnvp.reconstruction: per-scale reconstructions and scale mixing."""

import pytest
import torch

from helpers import tiny_model
from realnvp import reconstruction
from helpers import grey_images as images

def test_per_scale_reconstructions(model):
    x = images(1)
    rows, captions = reconstruction.per_scale_reconstructions(model, x, mode="zero")
    assert rows.shape == (3, 1, 8, 8) and len(captions) == 3
    assert torch.allclose(rows[0], x[0], atol=1e-9)  # all scales kept: exact
    assert torch.allclose(rows[-1:], model.sample(1, temperature=0.0))  # nothing kept, zeros: the mode
    # keeping the coarsest scale: its latent, zeros at the finer one
    z = model.encode(x)
    expected = model.decode([torch.zeros_like(z[0]), z[1]]).clamp(0, 1)
    assert torch.allclose(rows[1:2], expected)
    a, _ = reconstruction.per_scale_reconstructions(model, x, mode="resample", temperature=1.0, seed=1)
    b, _ = reconstruction.per_scale_reconstructions(model, x, mode="resample", temperature=1.0, seed=2)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[1], b[1])
    with pytest.raises(ValueError, match="mode"):
        reconstruction.per_scale_reconstructions(model, x, mode="blur")
    assert reconstruction.round_trip_error(model, x) < 1e-9


@pytest.mark.parametrize("num_scales", [2, 3])
def test_mix_scales_takes_the_coarse_latents_of_a_and_the_fine_of_b(num_scales):
    model = tiny_model(1, 8, num_scales, dtype=torch.float64)
    a, b = images(2, seed=5).split(1)
    rows = reconstruction.mix_scales(model, a, b)
    assert rows.shape == (num_scales + 1, 1, 8, 8)
    assert torch.allclose(rows[0], a[0], atol=1e-9)  # k = all scales from a: decode(encode(a)) = a
    assert torch.allclose(rows[-1], b[0], atol=1e-9)  # k = 0: b
    za, zb = model.encode(a), model.encode(b)
    again = model.encode(rows)  # not clamped, so every row can be encoded again
    for row, keep in enumerate(range(num_scales, -1, -1)):
        for i in range(num_scales):
            source = za if i >= num_scales - keep else zb  # the k coarsest scales come from a
            assert torch.allclose(again[i][row], source[i][0], atol=1e-8), (row, i)
    middle = rows[1:-1]
    assert all((middle[j] - a[0]).abs().max() > 1e-3 and (middle[j] - b[0]).abs().max() > 1e-3
               for j in range(len(middle)))
    captions = reconstruction.mix_scales_captions(num_scales)
    assert len(captions) == num_scales + 1 and captions[0] == "all from A" and captions[-1] == "all from B"
    assert captions[1] == f"{num_scales - 1} coarse A + 1 fine B"
    with pytest.raises(ValueError, match="same shape"):
        reconstruction.mix_scales(model, a, images(1)[:, :, :4, :4])


def test_mix_scales_class_conditional_and_other_sizes():
    model = tiny_model(1, 8, 2, num_classes=3)
    a, b = images(2, seed=6).split(1)
    rows = reconstruction.mix_scales(model, a, b, y=2)
    assert torch.allclose(rows[0], a[0], atol=1e-9) and torch.allclose(rows[-1], b[0], atol=1e-9)
    z = model.encode(rows[1:2], 2)
    assert torch.allclose(z[1], model.encode(a, 2)[1], atol=1e-8)
    assert not torch.allclose(reconstruction.mix_scales(model, a, b, y=0)[1], rows[1])  # the label matters
    wide = torch.rand(2, 1, 12, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 0.9 + 0.05
    rows = reconstruction.mix_scales(tiny_model(1, 8, 2), wide[:1], wide[1:])  # fully convolutional: any even size
    assert rows.shape == (3, 1, 12, 16) and torch.allclose(rows[0], wide[0], atol=1e-9)


@pytest.mark.parametrize("mode", ["resample", "zero"])
@pytest.mark.parametrize("num_scales", [2, 3])
def test_per_scale_view_encodes_once_and_decodes_the_columns_in_one_batch_as_one_by_one(mode, num_scales):
    model = tiny_model(1, 8, num_scales, dtype=torch.float64)
    x = images(1, seed=3)
    encodes, decodes = [], []
    real_encode, real_decode = model.encode, model.decode
    model.encode = lambda *a, **k: encodes.append(a[0].shape[0]) or real_encode(*a, **k)
    model.decode = lambda latents, *a, **k: decodes.append(latents[0].shape[0]) or real_decode(latents, *a, **k)
    try:
        with torch.no_grad():
            view = reconstruction.per_scale_view(model, x, mode, temperature=0.7, seed=4)
    finally:
        del model.encode, model.decode
    assert encodes == [1] and decodes == [num_scales + 1]  # one encode, one batched decode
    assert torch.equal(view.rows[0], x[0])  # the "all scales" column is the input itself
    # the old way: one decode per column, from the same latents and the same fresh draws
    z = model.encode(x)
    generator = torch.Generator().manual_seed(4)
    fresh = [torch.randn(t.shape, generator=generator, dtype=t.dtype) * 0.7 for t in z]
    for column, keep in enumerate(range(num_scales, -1, -1)):
        latents = [t if i >= num_scales - keep else (f if mode == "resample" else torch.zeros_like(t))
                   for i, (t, f) in enumerate(zip(z, fresh))]
        one = model.decode(latents).clamp(0, 1)
        if column:  # batched convolutions may round differently in the last bit, no more
            assert (view.rows[column:column + 1] - one).abs().max() < 1e-13, column
    assert view.round_trip_error == reconstruction.round_trip_error(model, x)
    assert view.captions == reconstruction.per_scale_reconstructions(model, x, mode)[1]
