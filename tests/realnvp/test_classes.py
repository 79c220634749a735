"""realnvp.classes: class likelihoods, posteriors and the calibration error."""

import pytest
import torch

from helpers import tiny_model
from realnvp import classes
from helpers import grey_images as images

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
