"""Filling in erased pixels: by maximizing log p(x) over them, or by sampling them given the known
ones (a search in latent space, then Metropolis-adjusted Langevin on the pixels); the rectangle
mask. Known pixels never change."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .interpolation import label_batch
from .model import RealNVP
from .nets import input_gradients_only
from .preprocess import bits_per_dim


def complete(model: RealNVP, x: Tensor, erased: Tensor, steps: int = 50, lr: float = 0.2, seed: int = 0, y=None,
             progress: Callable[[int, int, float], None] | None = None) -> tuple[Tensor, list[float]]:
    """Fill the erased pixels (erased: (1, 1 or C, H, W) bool) by maximizing log p(x) over them.

    The erased values are parametrized as sigmoid(u) so they stay in (0, 1), start from
    uniform noise, and follow Adam on -log p; known pixels never change. Returns the image
    and the bits/dim after each step. Adam moves each logit u by about `lr` per step; the default
    rate and steps were chosen by a sweep (docs/performance.md, "Completion, the right measure")."""
    erased = erased.expand_as(x).to(x.device)
    if not erased.any():
        raise ValueError("nothing is erased: paint over the part of the image to fill in")
    generator = torch.Generator().manual_seed(int(seed))
    start = torch.rand(x.shape, generator=generator).to(x.device, x.dtype).clamp(0.02, 0.98)
    u = torch.logit(start).requires_grad_(True)
    optimizer = torch.optim.Adam([u], lr=lr)
    history = []
    with model._fixed_bijection(), torch.enable_grad(), input_gradients_only():  # also when called under torch.no_grad()
        for step in range(steps):
            filled = torch.where(erased, torch.sigmoid(u), x)
            loss = -model.log_prob(filled, y).sum()
            # gradients w.r.t. the pixels only: the model's parameters are left untouched
            # (no .grad accumulates on them, so concurrent callers do not interfere)
            (u.grad,) = torch.autograd.grad(loss, [u])
            optimizer.step()
            bpd = float(bits_per_dim(-loss.item(), x[0].numel(), model.num_levels))
            history.append(bpd)
            if progress is not None:
                progress(step + 1, steps, bpd)
    with torch.no_grad():
        return torch.where(erased, torch.sigmoid(u), x).detach(), history


class Completions(NamedTuple):
    """Sampled completions: the images (n, C, H, W), their bits/dim (n,) at the completed pixel
    values, each chain's Metropolis acceptance rate after the step-size adaptation (n,), its
    final step size (n,), and the bits/dim of every chain after each Langevin step (steps, n)."""

    images: Tensor
    bits_per_dim: Tensor
    acceptance: Tensor
    step_size: Tensor
    history: Tensor


def _check_count(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def _check_positive(name: str, value) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _completion_setup(x: Tensor, erased: Tensor, n: int, y) -> tuple[Tensor, Tensor, Tensor | None]:
    """The erased mask and the known image repeated for n chains, and the chains' labels."""
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"expected one image (1, C, H, W), got {tuple(x.shape)}")
    _check_count("n", n, 1)
    mask = erased.to(x.device).expand_as(x).expand(n, *x.shape[1:])
    if not mask.any():
        raise ValueError("nothing is erased: paint over the part of the image to fill in")
    ys = label_batch(y, n)
    return mask, x.expand(n, *x.shape[1:]), None if ys is None else ys.to(x.device)


def latent_completions(model: RealNVP, x: Tensor, erased: Tensor, n: int = 4, steps: int = 80,
                       temperature: float = 1.0, seed: int = 0, y=None, sigma: tuple[float, float] = (0.3, 0.03),
                       lr: float = 0.1, progress: Callable[[int, int], None] | None = None) -> Tensor:
    """n completions found in latent space, each from its own random start z ~ N(0, T^2 I):
    Adam on z minimizing ||z||^2 / (2 T^2) + ||known pixels of decode(z) - x||^2 / (2 sigma^2),
    the negative log posterior of z given the known pixels observed with Gaussian noise sigma,
    sigma going geometrically from sigma[0] to sigma[1] (a loose fit first, then a close one).
    The flow's latent space is well conditioned where its pixel space is not, so this finds
    data-like completions in tens of steps; the starts make them differ. Returns (n, C, H, W):
    decode(z) on the erased pixels, x on the known ones (exactly)."""
    mask, known, ys = _completion_setup(x, erased, n, y)
    _check_count("steps", steps, 1)
    _check_positive("temperature", temperature)
    _check_positive("lr", lr)
    generator = torch.Generator().manual_seed(int(seed))
    latents = [(torch.randn((n, *shape), generator=generator, dtype=x.dtype) * temperature).to(x.device)
               .requires_grad_(True) for shape in model.latent_shapes(x.shape[2], x.shape[3])]
    optimizer = torch.optim.Adam(latents, lr=lr)
    observed = (~mask).to(x.dtype)
    with model._fixed_bijection(), torch.enable_grad(), input_gradients_only():
        for step in range(steps):
            noise = sigma[0] * (sigma[1] / sigma[0]) ** (step / max(1, steps - 1))
            decoded = model.decode(latents, ys)
            prior = sum((z * z).sum() for z in latents) / (2 * temperature ** 2)
            fit = (((decoded - known) ** 2) * observed).sum() / (2 * noise ** 2)
            grads = torch.autograd.grad(prior + fit, latents)  # the latents only: model parameters untouched
            for z, g in zip(latents, grads):
                z.grad = g
            optimizer.step()
            if progress is not None:
                progress(step + 1, steps)
    with torch.no_grad():
        return torch.where(mask, model.decode(latents, ys).clamp(0, 1), known)


def langevin_completions(model: RealNVP, x: Tensor, erased: Tensor, n: int = 4, steps: int = 200,
                         temperature: float = 1.0, step_size: float = 0.05, seed: int = 0, y=None,
                         adapt: float = 0.5, target_acceptance: float = 0.574, start: Tensor | None = None,
                         progress: Callable[[int, int, float], None] | None = None) -> Completions:
    """Sample the erased pixels given the known ones: n independent chains of the
    Metropolis-adjusted Langevin algorithm (MALA) on p(x_erased | x_known)^(1/T^2).

    The erased values are x = sigmoid(u); the chains move u, whose target density is
    p(x(u))^(1/T^2) |dx/du| (the change of variables keeps it a density for x on [0, 1]). Each
    step proposes u' = u + (e^2/2) grad log pi(u) + e noise on the erased pixels and accepts it
    with the Metropolis-Hastings probability, so at T = 1 the stationary distribution is exactly
    the model's conditional (T^2, as for latents drawn from N(0, T^2 I)). Each chain's step size
    e is tuned towards `target_acceptance` during the first `adapt` fraction of the steps
    (Robbins-Monro, decaying gain), then frozen. The chains start from `start` (n or 1 images)
    or from uniform noise drawn from `seed`; known pixels never change. Started from noise the
    chains need many steps (pixel space is badly conditioned): see `sample_completions`."""
    mask, known, ys = _completion_setup(x, erased, n, y)
    _check_count("steps", steps, 1)
    _check_positive("temperature", temperature)
    _check_positive("step_size", step_size)
    generator = torch.Generator().manual_seed(int(seed))

    def draw(fn) -> Tensor:
        return fn(known.shape, generator=generator, dtype=x.dtype).to(x.device)

    d = x[0].numel()
    weight = mask.to(x.dtype)
    power = 1.0 / temperature ** 2

    def target(u: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """log pi(u) (n,), its gradient (zero off the erased pixels), and bits/dim (n,)."""
        u = u.detach().requires_grad_(True)
        filled = torch.where(mask, torch.sigmoid(u), known)
        log_p = model.log_prob(filled, ys)
        log_jacobian = -(F.softplus(u) + F.softplus(-u)) * weight  # log sigmoid(u) (1 - sigmoid(u))
        log_pi = power * log_p + log_jacobian.flatten(1).sum(1)
        (grad,) = torch.autograd.grad(log_pi.sum(), [u])  # the pixels only: model parameters untouched
        bpd = bits_per_dim(log_p.detach().double().cpu(), d, model.num_levels)
        return log_pi.detach(), grad * weight, bpd

    if start is None:
        initial = draw(torch.rand).clamp(0.02, 0.98)
    else:  # kept as it is, just inside (0, 1) so that its logit is finite
        initial = start.to(x.device, x.dtype).expand_as(known).clamp(1e-6, 1 - 1e-6)
    u = torch.logit(initial) * weight
    eps = torch.full((n,), float(step_size), dtype=torch.float64)
    adapt_steps = int(round(adapt * steps))
    accepted = torch.zeros(n, dtype=torch.float64)
    history = []
    shape = (n, *[1] * (x.dim() - 1))
    with model._fixed_bijection(), torch.enable_grad(), input_gradients_only():  # also when called under torch.no_grad()
        log_pi, grad, bpd = target(u)
        for step in range(steps):
            e = eps.to(x.device, x.dtype).view(shape)
            noise = draw(torch.randn) * weight
            proposal = u + 0.5 * e * e * grad + e * noise
            log_pi_new, grad_new, bpd_new = target(proposal)
            back = u - proposal - 0.5 * e * e * grad_new  # e times the reverse move's noise
            log_q_back = -(back * back).flatten(1).sum(1) / (2 * e.flatten() ** 2)
            log_q_forward = -(noise * noise).flatten(1).sum(1) / 2
            log_alpha = torch.nan_to_num((log_pi_new - log_pi + log_q_back - log_q_forward).double().cpu(),
                                         nan=-math.inf)
            accept = torch.log(torch.rand(n, generator=generator, dtype=torch.float64)) < log_alpha
            here = accept.to(x.device)
            u = torch.where(here.view(shape), proposal, u)
            grad = torch.where(here.view(shape), grad_new, grad)
            log_pi = torch.where(here, log_pi_new, log_pi)
            bpd = torch.where(accept, bpd_new, bpd)
            if step < adapt_steps:
                eps = eps * torch.exp((log_alpha.clamp(max=0).exp() - target_acceptance) / math.sqrt(step + 1))
            else:
                accepted += accept.double()
            history.append(bpd)
            if progress is not None:
                progress(step + 1, steps, float(bpd.mean()))
    with torch.no_grad():
        images = torch.where(mask, torch.sigmoid(u), known).detach()
        final = model.bits_per_dim(images, ys).double().cpu()
    return Completions(images, final, accepted / max(1, steps - adapt_steps), eps, torch.stack(history))


def sample_completions(model: RealNVP, x: Tensor, erased: Tensor, n: int = 4, steps: int = 30,
                       mcmc_steps: int = 5, temperature: float = 1.0, seed: int = 0, y=None,
                       latent_lr: float = 0.2, progress: Callable[[int, int, str], None] | None = None) -> Completions:
    """n completions of the erased pixels that look like the data, each a draw that differs
    from the others: `latent_completions` (each chain from its own random latent, `steps`
    steps) brings every chain to a data-like completion, then `langevin_completions`
    (`mcmc_steps` Metropolis-adjusted Langevin steps on the erased pixels, target
    p(x_erased | x_known)^(1/T^2)) samples around it. Known pixels never change. x is
    (1, C, H, W) in [0, 1], erased (1, 1 or C, H, W) bool; latent_lr is the latent search's Adam
    rate; progress(step, total, phase). The defaults, 30 + 5 steps at rate 0.2, were measured
    against 80 + 30 at 0.1 (3.4x the time) on held-out digits with `bench/completion_quality.py`:
    as likely under the model and more varied, a little less often the original digit (64% against
    70%; docs/performance.md)."""
    _check_count("mcmc_steps", mcmc_steps, 0)
    total = steps + mcmc_steps

    def latent_progress(step, _):
        if progress is not None:
            progress(step, total, "latent search")

    def mcmc_progress(step, _, bpd):
        if progress is not None:
            progress(steps + step, total, f"Langevin, bits/dim {bpd:.3f}")

    start = latent_completions(model, x, erased, n, steps, temperature, seed, y, lr=latent_lr,
                               progress=latent_progress)
    if mcmc_steps == 0:
        with torch.no_grad():
            bpd = model.bits_per_dim(start, label_batch(y, n)).double().cpu()
        empty = torch.zeros(n, dtype=torch.float64)
        return Completions(start, bpd, empty, empty, torch.empty(0, n, dtype=torch.float64))
    return langevin_completions(model, x, erased, n, mcmc_steps, temperature, seed=seed + 1, y=y, start=start,
                                progress=mcmc_progress)


def rectangle_mask(height: int, width: int, top: float, bottom: float, left: float, right: float) -> Tensor:
    """(1, 1, H, W) bool, True inside the rectangle given in fractions of the image's height
    (top, bottom) and width (left, right); the edges snap outwards to whole pixels."""
    for name, value in (("top", top), ("bottom", bottom), ("left", left), ("right", right)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"{name} must be a fraction between 0 and 1, got {value!r}")
    if top >= bottom or left >= right:
        raise ValueError(f"the rectangle is empty: top ({top:g}) must be above bottom ({bottom:g}) and "
                         f"left ({left:g}) before right ({right:g})")
    r0, r1 = math.floor(top * height), max(math.floor(top * height) + 1, math.ceil(bottom * height))
    c0, c1 = math.floor(left * width), max(math.floor(left * width) + 1, math.ceil(right * width))
    mask = torch.zeros(1, 1, height, width, dtype=torch.bool)
    mask[..., r0:min(r1, height), c0:min(c1, width)] = True
    return mask
