"""realnvp.restyle (one image decoded under every class, and whether its style survives) and
realnvp.stroke_moments (slant and thickness from the ink's moments)."""

import math

import pytest
import torch

from helpers import grey_images, tiny_model
from realnvp import classes, restyle, stroke_moments


@pytest.fixture(scope="module")
def conditional():
    return tiny_model(1, 8, 2, dtype=torch.float64, num_classes=3)


def test_decoding_under_the_source_label_gives_back_the_image(conditional):
    x = grey_images(1, seed=3)
    result = restyle.restyle(conditional, x, label=1)
    assert result.source == 1 and result.given and result.posterior is None
    assert result.images.shape == (3, 1, 8, 8) and result.bits_per_dim.shape == (3,)
    assert (result.images[1] - x[0]).abs().max() < 1e-12
    for y in (0, 2):  # the other classes change the image
        assert (result.images[y] - x[0]).abs().max() > 1e-3
    assert result.images.min() >= 0 and result.images.max() <= 1
    # each image's bits/dim is its own, under its new class
    for y in range(3):
        expected = conditional.bits_per_dim(result.images[y:y + 1], y)
        assert result.bits_per_dim[y].item() == pytest.approx(expected.item(), rel=0, abs=1e-12)
    assert result.bits_per_dim[1].item() == pytest.approx(conditional.bits_per_dim(x, 1).item(), abs=1e-10)
    # the latents are the image's under the source class, and decode to the images
    with torch.no_grad():
        for a, b in zip(result.latents, conditional.encode(x, torch.tensor([1]))):
            assert torch.equal(a, b)
    assert torch.equal(restyle.decode_under_every_class(conditional, result.latents)[0], result.images)


def test_without_a_label_the_bayes_classifier_chooses(conditional):
    for seed in range(4):
        x = grey_images(1, seed=seed)
        result = restyle.restyle(conditional, x)
        posterior = classes.class_posterior(conditional, x)
        assert not result.given and result.source == int(posterior.argmax())
        assert torch.equal(result.posterior, posterior)
        assert (result.images[result.source] - x[0]).abs().max() < 1e-12
    given = restyle.restyle(conditional, x, label=0, with_posterior=True)
    assert given.given and given.source == 0 and torch.equal(given.posterior, posterior)


def test_a_batch_restyles_each_image_as_one_at_a_time(conditional):
    x = grey_images(3, seed=5)
    labels = torch.tensor([2, 0, 1])
    batch = restyle.restyle_batch(conditional, x, labels)
    assert batch.shape == (3, 3, 1, 8, 8)
    for i in range(3):
        one = restyle.restyle(conditional, x[i:i + 1], label=int(labels[i]))
        assert (batch[i] - one.images).abs().max() < 1e-12


def test_refusals(conditional):
    with pytest.raises(ValueError, match="class-conditional"):
        restyle.restyle(tiny_model(1, 8, 2, dtype=torch.float64), grey_images(1))
    with pytest.raises(ValueError, match="label must be a class number 0..2"):
        restyle.restyle(conditional, grey_images(1), label=3)
    with pytest.raises(ValueError, match="one image"):
        restyle.restyle(conditional, grey_images(2))
    with pytest.raises(ValueError, match="one label in 0..2 per image"):
        restyle.style_survival(conditional, grey_images(2), torch.tensor([0, 5]))


# ----------------------------------------------------------------------------- stroke moments
SIZE = 28
SUPER = 8  # subpixels per pixel side when drawing


def bar(width: float, height: float = 16.0, shear: float = 0.0, ink: float = 1.0, centre: float = 13.5) -> torch.Tensor:
    """(1, 1, 28, 28) a bar of `width` x `height` pixels, upright and sheared by x -> x + shear y
    (y upwards from the image's middle row), anti-aliased by averaging SUPER x SUPER subpixels."""
    offsets = (torch.arange(SUPER, dtype=torch.float64) + 0.5) / SUPER - 0.5
    rows = (torch.arange(SIZE, dtype=torch.float64)[:, None] + offsets).flatten()
    cols = (torch.arange(SIZE, dtype=torch.float64)[:, None] + offsets).flatten()
    up = (SIZE - 1) / 2 - rows  # y, upwards, 0 in the middle
    inside = (up.abs()[:, None] <= height / 2) & ((cols[None, :] - centre - shear * up[:, None]).abs() <= width / 2)
    return (inside.double().reshape(SIZE, SUPER, SIZE, SUPER).mean((1, 3)) * ink)[None, None]


def test_an_upright_bar_has_no_slant_and_a_sheared_one_the_shear():
    assert stroke_moments.slant(bar(3)).item() == pytest.approx(0, abs=1e-12)
    for shear in (0.5, -0.3, 0.2):
        assert stroke_moments.slant(bar(3, shear=shear)).item() == pytest.approx(shear, abs=0.01)
    # a whole-pixel shear (each row moved one pixel right per row up) adds exactly 1
    image = bar(3)
    sheared = torch.stack([torch.roll(image[0, 0, r], 13 - r) for r in range(SIZE)])[None, None]
    assert sheared[..., 0].sum() == 0 and sheared[..., -1].sum() == 0  # nothing wrapped around
    assert stroke_moments.slant(sheared).item() == pytest.approx(1.0, abs=1e-12)
    # leaning right ("/", the top further right) is positive
    slash = torch.zeros(1, 1, SIZE, SIZE, dtype=torch.float64)
    for r in range(4, 24):
        slash[0, 0, r, 24 - r] = 1
    assert stroke_moments.slant(slash).item() == pytest.approx(1.0, abs=1e-12)
    assert stroke_moments.slant(slash.flip(-1)).item() == pytest.approx(-1.0, abs=1e-12)


def test_thickness_is_the_stroke_width_and_does_not_depend_on_the_ink():
    thin, thick = stroke_moments.thickness(torch.cat([bar(2), bar(4)]))
    # 2 mass / perimeter = w / (1 + w / L) for a w x L bar (one corner pixel's outline is short by 2 - sqrt 2)
    for value, w in ((thin, 2), (thick, 4)):
        assert value.item() == pytest.approx(w / (1 + w / 16), rel=0.03)
    assert thick > 1.7 * thin  # (4 / 1.25) / (2 / 1.125) = 1.8
    assert stroke_moments.thickness(bar(3, ink=0.4)).item() == pytest.approx(
        stroke_moments.thickness(bar(3)).item(), rel=1e-12)
    # a sheared stroke of the same horizontal width is thinner across, as it is
    assert stroke_moments.thickness(bar(4, shear=0.75)).item() < stroke_moments.thickness(bar(4)).item()
    # channels are averaged; a blank image has neither measure
    rgb = bar(3).expand(1, 3, SIZE, SIZE)
    assert stroke_moments.thickness(rgb).item() == pytest.approx(stroke_moments.thickness(bar(3)).item(), rel=1e-12)
    blank = torch.zeros(1, 1, SIZE, SIZE)
    assert math.isnan(stroke_moments.thickness(blank).item()) and math.isnan(stroke_moments.slant(blank).item())


# ----------------------------------------------------------------------------- style survival
def test_pearson_and_class_centring():
    a = torch.tensor([1.0, 2.0, 3.0, 4.0, math.nan])
    assert restyle.pearson(a, 2 * a + 1) == pytest.approx(1.0)
    assert restyle.pearson(a, -a) == pytest.approx(-1.0)
    assert math.isnan(restyle.pearson(a[:2], a[:2])) and math.isnan(restyle.pearson(a, torch.ones(5)))
    centred = restyle.centred(torch.tensor([1.0, 3.0, 10.0, 20.0, math.nan]), torch.tensor([0, 0, 1, 1, 1]))
    assert centred[:4].tolist() == [-1.0, 1.0, -5.0, 5.0] and math.isnan(centred[4])


def test_the_baseline_picks_real_images_of_the_target_class():
    labels = torch.tensor([0, 1, 1, 2, 0, 1])
    picks = restyle.real_of_class(labels, 4, seed=1)
    assert picks.shape == (6, 4)
    for t in range(3):
        assert (labels[picks[:, t]] == t).all()
    assert (picks[:, 3] == -1).all()  # no image of class 3
    assert torch.equal(picks, restyle.real_of_class(labels, 4, seed=1))


def test_style_survival_counts_and_a_restyle_that_keeps_the_image_scores_one():
    model = tiny_model(1, 8, 2, dtype=torch.float64, num_classes=3)
    x = grey_images(9, seed=2)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])
    calls = []
    report = restyle.style_survival(model, x, labels, batch_size=4, progress=lambda done, total: calls.append(done))
    assert calls == [4, 8, 9] and report.num_images == 9
    assert [r.target for r in report.rows] == [0, 1, 2] and report.overall.target is None
    assert [r.count for r in report.rows] == [6, 6, 6] and report.overall.count == 18
    for r in report.rows + [report.overall]:
        assert 0 <= r.recognised <= 1 and 0 <= r.kept <= 1 - r.recognised
        for value in (r.slant, r.slant_baseline, r.thickness, r.thickness_baseline):
            assert math.isnan(value) or -1 <= value <= 1
    assert report.overall.recognised == pytest.approx(sum(r.recognised for r in report.rows) / 3)
    # with the class embeddings at zero the label changes nothing: every restyled image is its source
    with torch.no_grad():
        for module in model.modules():
            if getattr(module, "class_embedding", None) is not None:
                module.class_embedding.weight.zero_()
    same = restyle.style_survival(model, x, labels)
    # every class gives the same likelihood, so the classifier says 0 (the first of the tied): the
    # sources of classes 1 and 2 restyled into 0 are recognised, and none keeps its class but 0's
    assert [r.recognised for r in same.rows] == [1, 0, 0]
    assert same.overall.kept == pytest.approx(6 / 18)
    assert same.overall.slant == pytest.approx(1.0, abs=1e-9)
    assert same.overall.thickness == pytest.approx(1.0, abs=1e-9)
    assert same.overall.slant_baseline < 0.999
