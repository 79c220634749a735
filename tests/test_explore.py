"""The tensor functions behind the app (realnvp.sampling, interpolation, reconstruction, likelihood_maps,
classes, ood_scores, inpainting), tested without it."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import tiny_model
from realnvp import RealNVP
from realnvp import classes, inpainting, interpolation, likelihood_maps, ood_scores, reconstruction, sampling

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model():
    return tiny_model(1, 8, 2, dtype=torch.float64)


def images(n, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 0.9 + 0.05


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


def test_bits_map_and_breakdown_add_up(model):
    x = images(1)
    bpd = model.bits_per_dim(x).item()
    assert likelihood_maps.bits_map(model, x).mean().item() == pytest.approx(bpd, rel=1e-10)
    parts = likelihood_maps.breakdown_bits_per_dim(model, x)
    assert sum(parts.values()) == pytest.approx(bpd, rel=1e-10)
    assert parts["dequantization (256 levels)"] == 8.0


def test_scale_temperatures():
    assert sampling.scale_temperatures(1, 0.9, 0.1) == [0.9]
    assert sampling.scale_temperatures(3, 1.0, 0.2) == pytest.approx([0.2, 0.6, 1.0])  # finest first


def test_per_scale_temperatures_apply_to_their_own_scale(model):
    """One temperature per scale, finest first: a zero temperature gives exactly zero latents at
    that scale and only there."""
    for temps in ([0.0, 0.8], [0.8, 0.0]):
        latents = model.sample_latents(3, temps, torch.Generator().manual_seed(0))
        assert [z.shape[1:] for z in latents] == [s for s in model.latent_shapes(8, 8)]
        for z, t in zip(latents, temps):
            assert torch.count_nonzero(z) == (0 if t == 0 else z.numel()), (temps, t)
    # the app's per-scale temperatures (finest first) reach the scales they name
    finest_cold = sampling.scale_temperatures(2, coarse=1.0, fine=0.0)
    latents = model.sample_latents(2, finest_cold, torch.Generator().manual_seed(0))
    assert torch.count_nonzero(latents[0]) == 0 and torch.count_nonzero(latents[1]) == latents[1].numel()
    # and the scale's latent is what decoding sees: only the coarse scale's latents are in the sample
    sample = sampling.sample_grid(model, 2, finest_cold, seed=4)
    with torch.no_grad():
        expected = model.decode(model.sample_latents(2, finest_cold, torch.Generator().manual_seed(4))).clamp(0, 1)
    assert torch.allclose(sample, expected, rtol=0, atol=1e-12)


def test_sample_grid_is_seeded(model):
    a, b = (sampling.sample_grid(model, 3, 0.8, seed=1) for _ in range(2))
    assert a.shape == (3, 1, 8, 8) and torch.equal(a, b)
    assert not torch.equal(a, sampling.sample_grid(model, 3, 0.8, seed=2))
    cold = sampling.sample_grid(model, 2, [0.0, 0.0], seed=1)  # one temperature per scale, all zero: the mode
    assert torch.allclose(cold, model.sample(2, temperature=0.0))


def test_class_log_likelihoods_and_posterior():
    model = tiny_model(size=8, num_classes=4)
    x = images(1)
    log_p = classes.class_log_likelihoods(model, x)
    assert log_p.shape == (4,)
    for y in range(4):
        assert log_p[y].item() == pytest.approx(model.log_prob(x, y).item(), rel=1e-12)
    posterior = classes.class_posterior(model, x)
    assert posterior.sum().item() == pytest.approx(1.0)
    assert int(posterior.argmax()) == int(log_p.argmax())
    # Bayes with a uniform prior: the ratio of posteriors is the ratio of likelihoods
    assert (posterior[0] / posterior[1]).log().item() == pytest.approx((log_p[0] - log_p[1]).item(), rel=1e-9)
    with pytest.raises(ValueError, match="not class-conditional"):
        classes.class_log_likelihoods(tiny_model(size=8), x)


def test_rectangle_mask():
    mask = inpainting.rectangle_mask(10, 8, 0.5, 1.0, 0.0, 0.5)
    assert mask.shape == (1, 1, 10, 8) and mask.dtype == torch.bool
    assert mask[0, 0, 5:, :4].all() and mask.sum() == 20
    assert inpainting.rectangle_mask(10, 10, 0.41, 0.42, 0.0, 1.0).sum() == 10  # a sliver still erases a row
    with pytest.raises(ValueError, match="the rectangle is empty"):
        inpainting.rectangle_mask(10, 10, 0.6, 0.4, 0, 1)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="between 0 and 1"):
            inpainting.rectangle_mask(10, 10, 0, bad, 0, 1)


def test_completion_keeps_known_pixels_and_raises_likelihood(model):
    x = images(1)
    erased = torch.zeros(1, 1, 8, 8, dtype=torch.bool)
    erased[..., 2:6, 2:6] = True
    seen = []
    out, history = inpainting.complete(model, x, erased, steps=30, lr=0.1, progress=lambda i, n, b: seen.append(i))
    assert torch.equal(out[~erased.expand_as(out)], x[~erased.expand_as(x)])
    assert history[-1] < history[0] and len(history) == 30 and seen[-1] == 30
    assert out.min() >= 0 and out.max() <= 1
    # the result is (near) a local optimum: better than the original pixels' likelihood or close to it
    assert model.bits_per_dim(out).item() <= history[0]
    assert all(p.grad is None for p in model.parameters()), "completion must not touch the model's gradients"
    with pytest.raises(ValueError, match="nothing is erased"):
        inpainting.complete(model, x, torch.zeros_like(erased), steps=1)


def test_complete_under_no_grad_with_trainable_parameters():
    model = tiny_model(size=8, dtype=torch.float32)
    assert all(p.requires_grad for p in model.parameters())
    x = images(1, seed=3).float()
    erased = inpainting.rectangle_mask(8, 8, 0.5, 1.0, 0.0, 1.0)
    with torch.no_grad():  # the app may call it anywhere; autograd is switched on inside
        filled, history = inpainting.complete(model, x, erased, steps=20, lr=0.1)
    assert torch.equal(filled[~erased.expand_as(x)], x[~erased.expand_as(x)])
    assert history[-1] < history[0]
    assert all(p.grad is None for p in model.parameters())


def test_completion_defaults_beat_the_old_defaults_in_fewer_steps():
    """The defaults (50 Adam steps at lr 0.2) end below the bits/dim that the old ones (100 steps at
    lr 0.05) reach, on the bundled mnist model with the lower half of a digit erased."""
    model = RealNVP.from_pretrained(ROOT / "assets" / "models" / "mnist").eval()
    digit = sorted((ROOT / "assets" / "examples" / "mnist").glob("digit9_*.png"))[0]
    x = torch.from_numpy(np.asarray(Image.open(digit).convert("L"), dtype=np.float32) / 255)[None, None]
    erased = inpainting.rectangle_mask(28, 28, 0.5, 1.0, 0.0, 1.0)
    _, new = inpainting.complete(model, x, erased)
    _, old = inpainting.complete(model, x, erased, steps=100, lr=0.05)
    assert len(new) == 50 and new[-1] < old[-1]


# ----------------------------------------------------------------------------- scale mixing
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


# ----------------------------------------------------------------------------- walks
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


# ----------------------------------------------------------------------------- the classifier
def test_class_posteriors_of_a_batch():
    model = tiny_model(size=8, num_classes=4)
    x = images(3, seed=4)
    log_p = classes.class_log_likelihoods_batch(model, x, batch=5)  # batches cut across images
    assert log_p.shape == (3, 4)
    for i in range(3):
        assert torch.allclose(log_p[i], classes.class_log_likelihoods(model, x[i:i + 1]), rtol=1e-12)
    posterior = classes.class_posteriors(model, x)
    assert torch.allclose(posterior.sum(1), torch.ones(3, dtype=torch.float64))
    assert torch.allclose(posterior[1], classes.class_posterior(model, x[1:2]))


def test_expected_calibration_error_by_hand():
    probabilities = torch.tensor([[0.95, 0.05], [0.65, 0.35], [0.38, 0.62], [0.85, 0.15]], dtype=torch.float64)
    labels = torch.tensor([0, 1, 1, 0])  # confidences 0.95, 0.65, 0.62, 0.85: right, wrong, right, right
    # 2 bins: (0, 0.5] empty; (0.5, 1] holds all four, accuracy 3/4, mean confidence 0.7675
    assert classes.expected_calibration_error(probabilities, labels, bins=2) == pytest.approx(0.7675 - 0.75)
    # 10 bins: (0.6, 0.7] holds 0.65 and 0.62 (accuracy 1/2), 0.85 and 0.95 are alone and right
    expected = 0.5 * abs(0.5 - 0.635) + 0.25 * abs(1 - 0.85) + 0.25 * abs(1 - 0.95)
    assert classes.expected_calibration_error(probabilities, labels, bins=10) == pytest.approx(expected)
    # the default 15 bins: 0.62 and 0.65 share (0.6, 0.667], 0.85 and 0.95 are alone again
    assert classes.expected_calibration_error(probabilities, labels) == pytest.approx(expected)
    confident_and_wrong = torch.tensor([[0.0, 1.0]] * 3)
    assert classes.expected_calibration_error(confident_and_wrong, torch.zeros(3, dtype=torch.long)) == 1.0
    assert classes.expected_calibration_error(torch.tensor([[1.0, 0.0]]), torch.tensor([0])) == 0.0
    with pytest.raises(ValueError, match="probabilities"):
        classes.expected_calibration_error(probabilities, labels[:2])


# ----------------------------------------------------------------------------- out-of-distribution
def test_auroc_by_hand_and_with_ties():
    # pairs (out, in): 2 vs 1 win, 2 vs 2 tie, 2 vs 3 loss, 4 beats all three -> (1 + 0.5 + 0 + 3) / 6
    assert ood_scores.auroc([1, 2, 3], [2, 4]) == pytest.approx(4.5 / 6)
    assert ood_scores.auroc([1, 2], [3, 4]) == 1.0 and ood_scores.auroc([3, 4], [1, 2]) == 0.0
    assert ood_scores.auroc([5, 5, 5], [5, 5]) == 0.5  # all tied: chance
    g = torch.Generator().manual_seed(0)
    s_in, s_out = torch.randint(0, 6, (40,), generator=g), torch.randint(2, 8, (30,), generator=g)
    brute = ((s_out[:, None] > s_in[None]).double() + 0.5 * (s_out[:, None] == s_in[None]).double()).mean()
    assert ood_scores.auroc(s_in, s_out) == pytest.approx(brute.item(), abs=1e-12)
    assert ood_scores.auroc(s_in.double() * 0.1, s_out.double() * 0.1) == pytest.approx(brute.item(), abs=1e-12)
    with pytest.raises(ValueError, match="non-empty"):
        ood_scores.auroc([], [1.0])
    with pytest.raises(ValueError, match="finite"):
        ood_scores.auroc([1.0, float("nan")], [1.0])


def test_marginal_log_prob(model):
    x = images(2)
    assert torch.allclose(ood_scores.marginal_log_prob(model, x), model.log_prob(x))
    conditional = tiny_model(size=8, num_classes=3)
    per_class = torch.stack([conditional.log_prob(x, y) for y in range(3)], 1)
    expected = torch.logsumexp(per_class, 1) - torch.log(torch.tensor(3.0, dtype=torch.float64))
    assert torch.allclose(ood_scores.marginal_log_prob(conditional, x), expected, rtol=1e-12)
    bpd = ood_scores.marginal_bits_per_dim(model, x)
    assert torch.allclose(bpd, model.bits_per_dim(x).double(), rtol=1e-12)


# ----------------------------------------------------------------------------- sampled completions
def erased_square():
    erased = torch.zeros(1, 1, 8, 8, dtype=torch.bool)
    erased[..., 2:6, 3:7] = True
    return erased


def test_sampled_completions_keep_known_pixels_and_differ(model):
    x = images(1, seed=7)
    erased = erased_square()
    seen = []
    one = inpainting.sample_completions(model, x, erased, n=3, steps=15, mcmc_steps=10, seed=1,
                                     progress=lambda i, total, phase: seen.append((i, total, phase)))
    assert one.images.shape == (3, 1, 8, 8) and one.history.shape == (10, 3)
    known = ~erased.expand_as(one.images)
    assert torch.equal(one.images[known], x.expand_as(one.images)[known])  # known pixels never change
    assert one.images.min() >= 0 and one.images.max() <= 1
    assert torch.isfinite(one.bits_per_dim).all()
    assert torch.allclose(one.bits_per_dim, model.bits_per_dim(one.images).double())  # reported = measured
    assert not torch.allclose(one.images[0], one.images[1], atol=1e-3)  # the chains differ
    other = inpainting.sample_completions(model, x, erased, n=3, steps=15, mcmc_steps=10, seed=2)
    assert not torch.allclose(one.images, other.images, atol=1e-3)  # and so do the seeds
    again = inpainting.sample_completions(model, x, erased, n=3, steps=15, mcmc_steps=10, seed=1)
    assert torch.equal(one.images, again.images)  # a seed gives the same completions
    assert seen[-1] == (25, 25, seen[-1][2]) and seen[0][2] == "latent search" and "Langevin" in seen[-1][2]
    assert ((one.acceptance >= 0) & (one.acceptance <= 1)).all()
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="nothing is erased"):
        inpainting.sample_completions(model, x, torch.zeros_like(erased), steps=1)


def test_langevin_is_stationary_and_climbs_from_noise():
    model = tiny_model(size=8, dtype=torch.float64, seed=3)
    erased = erased_square()
    with torch.no_grad():
        x = model.sample(1, generator=torch.Generator().manual_seed(0)).clamp(0.01, 0.99)
    # from noise the chains climb towards the typical set of the conditional
    cold = inpainting.langevin_completions(model, x, erased, n=2, steps=60, seed=0)
    assert cold.history[-5:].mean() < cold.history[:5].mean()
    # started at a draw of the model, the exact chain stays around its bits/dim
    warm = inpainting.langevin_completions(model, x, erased, n=2, steps=40, seed=0, start=x)
    start = model.bits_per_dim(x).item()
    assert (warm.history - start).abs().max() < 1.0
    assert ((warm.acceptance > 0.1) & (warm.acceptance <= 1)).all()
    known = ~erased.expand_as(warm.images)
    assert torch.equal(warm.images[known], x.expand_as(warm.images)[known])


def test_latent_completions_fit_the_known_pixels_under_no_grad():
    model = tiny_model(size=8, dtype=torch.float32)
    assert all(p.requires_grad for p in model.parameters())
    x = images(1, seed=3).float()
    erased = inpainting.rectangle_mask(8, 8, 0.5, 1.0, 0.0, 1.0)
    with torch.no_grad():
        filled = inpainting.latent_completions(model, x, erased, n=2, steps=40, seed=0)
        fewer = inpainting.latent_completions(model, x, erased, n=2, steps=5, seed=0)
    known = ~erased.expand_as(filled)
    assert torch.equal(filled[known], x.expand_as(filled)[known])
    assert all(p.grad is None for p in model.parameters())
    # the search works: from the same starts (same seed), more steps give every chain a completion
    # the model finds more likely (the known pixels are pasted back either way, so this is the search's doing)
    with torch.no_grad():
        more, less = model.bits_per_dim(filled), model.bits_per_dim(fewer)
    assert (more < less).all(), (more, less)
    with pytest.raises(ValueError, match="one image"):
        inpainting.latent_completions(model, x.expand(2, -1, -1, -1), erased)


def test_likelihood_report_is_the_map_breakdown_and_bits_per_dim_from_one_pass():
    model = tiny_model(1, 8, 2)
    x = model.dequantize(torch.rand(1, 1, 8, 8, dtype=torch.float64), generator=torch.Generator().manual_seed(0))
    bits, terms, bpd = likelihood_maps.likelihood_report(model, x)
    with torch.no_grad():
        assert torch.equal(bits, likelihood_maps.bits_map(model, x)[0])
        assert terms == likelihood_maps.breakdown_bits_per_dim(model, x)
        assert bpd == float(model.bits_per_dim(x)[0])
    assert abs(sum(terms.values()) - bpd) < 1e-9 and abs(bits.mean().item() - bpd) < 1e-9


# ----------------------------------------------------------------------------- the sampler against the truth
GRID = 4000  # cells of the exact conditional's grid on (0, 1)


def exact_conditional(model, x, pixel, power):
    """The exact distribution of one erased value v in (0, 1) given the rest of x, with density
    proportional to p(x with v)^power, on GRID equal cells (piecewise constant): the CDF at the
    cells' right edges, with a leading 0."""
    v = (torch.arange(GRID, dtype=torch.float64) + 0.5) / GRID
    filled = x.repeat(GRID, 1, 1, 1)
    filled[(slice(None), *pixel)] = v
    with torch.no_grad():
        log_p = model.log_prob(filled)
    return torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(torch.softmax(log_p * power, 0), 0)])


def exact_draws(cdf, n, generator):
    """n independent draws from the grid distribution (inverse CDF, uniform within the cell)."""
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    cell = (torch.searchsorted(cdf, u, right=True) - 1).clamp(0, GRID - 1)
    return (cell + torch.rand(n, generator=generator, dtype=torch.float64)) / GRID


def ks_statistic(values, cdf):
    """Kolmogorov-Smirnov distance between the empirical distribution of `values` and the grid
    distribution (its CDF is linear within each cell)."""
    s = values.double().sort().values
    cell = (s * GRID).floor().long().clamp(0, GRID - 1)
    at = cdf[cell] + (s * GRID - cell) * (cdf[cell + 1] - cdf[cell])
    k = torch.arange(1, len(s) + 1, dtype=torch.float64)
    return max((k / len(s) - at).max().item(), (at - (k - 1) / len(s)).max().item())


def test_langevin_samples_the_exact_conditional_at_each_temperature():
    """The docstring's claim: the chain's stationary distribution is exactly
    p(x_erased | x_known)^(1/T^2). One erased value of a 4x4 model: its exact conditional is computed
    on a fine grid from log_prob; 1,000 chains started at exact draws must still be distributed
    exactly so after their Langevin steps (Kolmogorov-Smirnov distance below 0.062, the 0.1%
    critical value for 1,000 draws; the chains end at 0.03). Dropping the Metropolis-Hastings
    proposal correction, accepting every proposal, dropping the sigmoid's Jacobian from the target or
    ignoring the temperature each moves it to 0.16-0.32 in one of the two cases."""
    model = tiny_model(1, 4, 2, dtype=torch.float64, seed=0)
    with torch.no_grad():
        x = model.sample(1, generator=torch.Generator().manual_seed(0)).clamp(0.01, 0.99)
    pixel = (0, 1, 2)
    erased = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    erased[(0, *pixel)] = True
    n, critical = 1000, 0.062
    generator = torch.Generator().manual_seed(1)
    # T = 1 with step-size adaptation (the first half of the steps); T = 0.6 with a fixed, large step (no adaptation)
    for temperature, options in ((1.0, dict(steps=30, step_size=0.8)), (0.6, dict(steps=20, step_size=1.5, adapt=0.0))):
        cdf = exact_conditional(model, x, pixel, 1 / temperature ** 2)
        start = x.repeat(n, 1, 1, 1)
        start[(slice(None), *pixel)] = exact_draws(cdf, n, generator)
        assert ks_statistic(start[(slice(None), *pixel)], cdf) < critical  # the draws are right
        chains = inpainting.langevin_completions(model, x, erased, n=n, temperature=temperature, seed=2, start=start,
                                              **options)
        distance = ks_statistic(chains.images[(slice(None), *pixel)], cdf)
        assert distance < critical, (temperature, distance)
        moved = (chains.images[(slice(None), *pixel)] != start[(slice(None), *pixel)]).double().mean().item()
        assert moved > 0.5, (temperature, moved)  # the chains did move
        if temperature != 1.0:
            # the temperature matters here: the T = 1 conditional is far from these draws
            assert ks_statistic(chains.images[(slice(None), *pixel)], exact_conditional(model, x, pixel, 1.0)) > 0.1
            # a step this large must be refused often: Metropolis-Hastings rejects
            assert 0.02 < chains.acceptance.mean().item() < 0.5, chains.acceptance.mean()
