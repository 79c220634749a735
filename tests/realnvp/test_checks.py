"""realnvp.checks: the autograd log-determinant and the random models the exactness tests use."""
import torch

from realnvp.checks import jacobian_logabsdet, randomize_, random_model


def test_jacobian_logabsdet_of_a_linear_map():
    matrix = torch.tensor([[2.0, 1.0], [0.5, 3.0]], dtype=torch.float64)
    value = jacobian_logabsdet(lambda v: matrix @ v, torch.tensor([0.3, -0.2], dtype=torch.float64))
    assert torch.allclose(value, torch.linalg.slogdet(matrix)[1])


def test_random_models_are_reproducible_and_leave_the_global_generator_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b = random_model(1, 4, 2, seed=5), random_model(1, 4, 2, seed=5)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert not a.training
    c = random_model(1, 4, 2, seed=6)
    assert any(not torch.equal(p, q) for p, q in zip(a.state_dict().values(), c.state_dict().values()))


def test_randomize_moves_the_running_statistics():
    model = random_model(1, 4, 2)
    stats = {n: b for n, b in randomize_(model, seed=1).named_buffers() if n.endswith("running_var")}
    assert stats and all(((b >= 0.75) & (b <= 1.5)).all() for b in stats.values())
