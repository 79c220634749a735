"""The multi-scale Real NVP (paper section 3.6): encode, decode, log_prob, nll_map, sample.

Direction names: `encode` maps data x in [0,1]^D to latents z, `decode` maps latents to data.
Log-likelihoods are in nats; `bits_per_dim` converts at the edge.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Sequence

import torch
from huggingface_hub import PyTorchModelHubMixin, hf_hub_download
from torch import Tensor, nn

from . import inputs
from .checkpoint import CheckpointError, load_state_strict
from .class_shift import ClassShift
from .dequantization import VariationalDequantizer
from .flow import Composite, NonFiniteError, Scale, check_finite, in_image_layout, locating_non_finite
from .nets import ResNet
from .precision import sampling_precision
from .preprocess import LogitTransform, bits_per_dim, dequantize, importance_weighted_bits, quantize
from .reshape import join_scales, split_scales

LOG_2PI = math.log(2 * math.pi)


def standard_normal_log_density(z: Tensor) -> Tensor:
    return -0.5 * (z * z + LOG_2PI)


def _flat_sum(t: Tensor) -> Tensor:
    return t.flatten(1).sum(1)


class RealNVP(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="realnvp-explorer",
    paper_url="https://arxiv.org/abs/1605.08803",
    tags=["normalizing-flow", "real-nvp", "density-estimation", "image-generation"],
    license="mit",
):
    """Real NVP with the paper's multi-scale architecture.

    Each of the first `num_scales - 1` scales applies 3 checkerboard couplings, a squeeze,
    3 channel-wise couplings, then factors out half of its channels as that scale's latent;
    the last scale applies 4 checkerboard couplings. Every coupling is followed by an
    invertible batch norm. Hidden channels double at each scale. The network is fully
    convolutional: any H, W divisible by `size_multiple` = 2^(num_scales - 1) works.

    A class-conditional model (`num_classes`) sees the label where `conditioning` says:
    "networks" adds a label embedding to every s/t network; "latent_means" gives each class its
    own mean in latent space (`ClassShift`, a Gaussian-mixture prior; one encoding then gives
    log p(x | y) for every class, and the model works at its own image size only); "both" does both.

    `dequantizer_hidden` > 0 gives the model a learned dequantization noise q(u | k)
    (`VariationalDequantizer`, Flow++ section 3.1) instead of uniform noise; its discrete
    figures (`discrete_bits_per_dim`) then include log q.
    """

    def __init__(self, in_channels: int = 3, image_size: int = 32, num_scales: int = 2,
                 hidden_channels: int = 64, num_blocks: int = 8, num_classes: int | None = None,
                 num_levels: int = 256, logit_alpha: float = 0.05, bn_momentum: float = 0.05,
                 bn_training_statistics: str = "batch", conditioning: str = "networks", dequantizer_hidden: int = 0):
        super().__init__()
        inputs.check_config(in_channels=in_channels, image_size=image_size, num_scales=num_scales,
                            hidden_channels=hidden_channels, num_blocks=num_blocks, num_levels=num_levels,
                            num_classes=num_classes, conditioning=conditioning)
        if not isinstance(dequantizer_hidden, int) or isinstance(dequantizer_hidden, bool) or dequantizer_hidden < 0:
            raise ValueError(f"dequantizer_hidden must be an integer >= 0 (0: uniform noise), got {dequantizer_hidden!r}")
        self.in_channels = in_channels
        self.image_size = image_size
        self.num_scales = num_scales
        self.num_classes = num_classes
        self.num_levels = num_levels
        self.conditioning = conditioning if num_classes else None
        self.preprocess = LogitTransform(logit_alpha)
        self.scales = nn.ModuleList()
        channels = in_channels
        network_classes = num_classes if conditioning in ("networks", "both") else None
        for i in range(num_scales):
            last = i == num_scales - 1
            self.scales.append(Scale(channels, hidden_channels * 2 ** i, num_blocks, last, network_classes,
                                     bn_momentum, bn_training_statistics))
            channels *= 2  # squeeze (x4), then half factored out
        self.dequantizer = VariationalDequantizer(in_channels, dequantizer_hidden) if dequantizer_hidden else None
        self.class_shift = (ClassShift(num_classes, (in_channels, image_size, image_size))
                            if num_classes and conditioning in ("latent_means", "both") else None)
        for name, module in self.named_modules():
            if isinstance(module, Composite):
                module.path = name

    # ----------------------------------------------------------------- shapes and checks
    @property
    def fixed_image_size(self) -> bool:
        """True when the model works at its own image size only (class means in latent space)."""
        return self.class_shift is not None

    @property
    def size_multiple(self) -> int:
        """Height and width must be multiples of this."""
        return 2 ** (self.num_scales - 1)

    def latent_shapes(self, height: int | None = None, width: int | None = None) -> list[tuple[int, int, int]]:
        """(C, H, W) of each scale's latent, finest scale first: the walk's rearrangements
        (`split_scales`) applied to an image-shaped tensor on the meta device (no computation)."""
        h = self.image_size if height is None else height
        w = h if width is None and height is not None else (self.image_size if width is None else width)
        inputs.check_size(self, h, w)
        parts = split_scales(torch.empty(1, self.in_channels, h, w, device="meta"), self.num_scales)
        return [tuple(z.shape[1:]) for z in parts]

    # ----------------------------------------------------------------- the flow
    # The model is one walk over layers that all map an image-layout tensor (B, C, H, W) to one of
    # the same layout: the logit preprocessing, then each scale inside the factor-outs of the
    # scales before it (flow.in_image_layout). Every element stays where it is, so the log-det maps
    # add up element by element, and the walk's output is the latents in image layout
    # (`assemble`d); `split_scales` gives them per scale.

    def _layers(self) -> list[tuple[str, Composite | LogitTransform | ClassShift]]:
        layers = [("preprocessing", self.preprocess)] + [(f"scale {i}", in_image_layout(scale, i))
                                                         for i, scale in enumerate(self.scales)]
        return layers + [("class means", self.class_shift)] * (self.class_shift is not None)

    def _walk_encode(self, x: Tensor, y: Tensor | None, layers=None) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        h, total, terms = x, None, {}
        for name, layer in self._layers() if layers is None else layers:
            h, logdet = layer.encode(h, y)
            if not getattr(layer, "volume_preserving", False):  # a translation adds no term
                terms[name] = _flat_sum(logdet)
            total = logdet if total is None else total + logdet
        return h, total, terms

    def _walk_decode(self, z: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor]:
        h, total = z, None
        for _, layer in reversed(self._layers()):
            h, logdet = layer.decode(h, y)
            total = logdet if total is None else total + logdet
        return h, total

    def _checked(self, walk, outputs, direction: str, *args):
        """Run `walk(*args)`; if any of `outputs(result)` is not finite, run it again with a check
        after every layer to name the first layer that produced a non-finite value."""
        result = walk(*args)
        parts = outputs(result)
        if all(bool(torch.isfinite(t).all()) for t in parts):
            return result
        with locating_non_finite():
            located = walk(*args)
            for t in outputs(located):
                check_finite(t, "preprocess (sigmoid)" if direction == "decoding" else "the last scale", direction)
        raise NonFiniteError(f"non-finite values while {direction} (not reproducible layer by layer)")

    @contextlib.contextmanager
    def _fixed_bijection(self):
        """Evaluation mode for the duration: batch norms use their running averages, so the
        flow is one fixed bijection whatever else is in the batch. The mode is restored after."""
        was_training = self.training
        if was_training:
            self.eval()
        try:
            yield
        finally:
            if was_training:
                self.train()

    def _encode_terms(self, x: Tensor, y=None, unit_interval: bool = True
                      ) -> tuple[list[Tensor], Tensor, dict[str, Tensor]]:
        """Latents (per scale), the per-element log-likelihood map in image layout, and the
        log-likelihood's terms as (B,) tensors: preprocessing, each scale's log-det, and the
        prior. Uses the module's mode: callers that evaluate the density wrap it in
        `_fixed_bijection`."""
        inputs.check_dtype(self)
        inputs.check_images(self, x, unit_interval)
        y = inputs.labels(self, y, x.shape[0])
        if self.training:
            inputs.check_training_batch(self, x)
        with sampling_precision(None):  # densities never run in reduced precision
            z, logdet, terms = self._checked(
                self._walk_encode, lambda r: [r[0], *(v for v in r[2].values())], "encoding", x, y)
        latents = split_scales(z, self.num_scales)
        priors = [standard_normal_log_density(part) for part in latents]
        terms["prior"] = sum(_flat_sum(p) for p in priors)
        return latents, logdet + join_scales(priors), terms

    def encode(self, x: Tensor, y=None) -> list[Tensor]:
        """Images (B, C, H, W) in [0, 1] -> latents, one tensor per scale, finest scale first.

        Always the fixed bijection (batch-norm running averages), in any mode. The flow is a
        bijection between all of latent space and the open box (-a/(1-2a), 1 + a/(1-2a))^D around
        [0, 1]^D (a = logit alpha), so `encode` also accepts the slightly-out-of-range values
        `decode` can return: encode(decode(z)) == z for every z."""
        with self._fixed_bijection():
            return self._encode_terms(x, y, unit_interval=False)[0]

    def decode(self, latents: Sequence[Tensor], y=None) -> Tensor:
        """The exact inverse of `encode`, for every latent. Not clamped: latents off the
        image of [0, 1]^D decode slightly outside [0, 1] (`sample` clamps)."""
        with self._fixed_bijection():
            return self.decode_with_logdet(latents, y)[0]

    def decode_with_logdet(self, latents: Sequence[Tensor], y=None) -> tuple[Tensor, Tensor]:
        """`decode`, plus the (B,) log|det| of the decoding Jacobian (minus encode's)."""
        with self._fixed_bijection():
            return self._decode(latents, y)

    def _decode(self, latents: Sequence[Tensor], y=None) -> tuple[Tensor, Tensor]:
        inputs.check_dtype(self)
        latents = inputs.check_latents(self, latents)
        y = inputs.labels(self, y, latents[-1].shape[0])
        x, logdet = self._checked(self._walk_decode, lambda r: r, "decoding", join_scales(latents), y)
        return x, _flat_sum(logdet)

    def assemble(self, parts: Sequence[Tensor]) -> Tensor:
        """Place per-scale tensors shaped like the latents back into image layout (B, C, H, W):
        the rearrangements of the walk (factor-outs, squeezes) undone, without the couplings.
        Each element lands on the pixel and channel it was factored out from."""
        return join_scales(list(parts))

    # ----------------------------------------------------------------- likelihoods
    # Density evaluation always means the fixed bijection (batch-norm running averages), in
    # either mode: a density that depended on the rest of the batch would not be a density.
    # The training objective, with batch statistics in training mode, is `forward`.

    def log_prob(self, x: Tensor, y=None) -> Tensor:
        """(B,) log-density of x on [0, 1]^D in nats, every preprocessing term included."""
        with self._fixed_bijection():
            return sum(self._encode_terms(x, y)[2].values())

    def log_prob_terms(self, x: Tensor, y=None) -> dict[str, Tensor]:
        """The terms of `log_prob` (nats, (B,) each): 'preprocessing', 'scale i' (log-dets of
        the couplings and batch norms of scale i) and 'prior'. They sum to `log_prob`."""
        with self._fixed_bijection():
            return self._encode_terms(x, y)[2]

    def log_prob_every_class(self, x: Tensor) -> Tensor:
        """(B, num_classes) log p(x_i | y) in nats for every image and class of a class-conditional
        model. With conditioning "latent_means" one pass through the flow serves every class;
        otherwise each class costs one pass."""
        with self._fixed_bijection():
            return self._every_class(x)

    def _every_class(self, x: Tensor) -> Tensor:
        if self.num_classes is None:
            raise ValueError("the model is not class-conditional")
        if self.conditioning != "latent_means":
            return torch.stack([sum(self._encode_terms(x, torch.full((len(x),), k, device=x.device))[2].values())
                                for k in range(self.num_classes)], 1)
        inputs.check_dtype(self)
        inputs.check_images(self, x, True)
        if self.training:
            inputs.check_training_batch(self, x)
        with sampling_precision(None):
            u, _, terms = self._checked(self._walk_encode, lambda r: [r[0], *r[2].values()], "encoding",
                                        x, None, self._layers()[:-1])
        return sum(terms.values())[:, None] + self.class_shift.log_prior_every_class(u)

    def num_dims(self, x: Tensor) -> int:
        return x[0].numel()

    def bits_per_dim(self, x: Tensor, y=None) -> Tensor:
        """(B,) = (-log_prob(x) + D ln L) / (D ln 2), L = num_levels. Pass dequantized data
        (see `dequantize`) for the figure papers report."""
        return bits_per_dim(self.log_prob(x, y), self.num_dims(x), self.num_levels)

    def nll_map(self, x: Tensor, y=None) -> Tensor:
        """(B, H, W) nats: -log p(x) split over pixels (channels summed); sums to -log_prob(x).

        Every term is assigned to the element it belongs to: the prior term of each latent
        element and the log-det terms of each element, traced through the squeezes and
        factor-outs, plus the per-element logit term."""
        return self.nll_map_and_terms(x, y)[0]

    def nll_map_and_terms(self, x: Tensor, y=None) -> tuple[Tensor, dict[str, Tensor]]:
        """`nll_map` and `log_prob_terms` from one pass through the flow."""
        with self._fixed_bijection():
            _, log_density, terms = self._encode_terms(x, y)
        return -log_density.sum(dim=1), terms

    def dequantize(self, x: Tensor, noise: bool = True, generator: torch.Generator | None = None) -> Tensor:
        """Quantized images k/(L-1) -> (k + u)/L with u ~ U[0,1) (u = 1/2 without noise), or u from
        the model's learned q(u | k) (its median without noise) if it has one."""
        return self.dequantize_with_log_q(x, noise, generator)[0]

    def dequantize_with_log_q(self, x: Tensor, noise: bool = True, generator: torch.Generator | None = None
                              ) -> tuple[Tensor, Tensor]:
        """`dequantize`, and log q(u | k) per element (nats; zero for uniform noise). Uniform noise is
        drawn in x's dtype (pass float64 images for the evaluation's exact figures); q's in the model's."""
        if self.dequantizer is None:
            xd = dequantize(x, self.num_levels, noise, generator)
            return xd, xd.new_zeros(xd.shape)
        k = quantize(x, self.num_levels)
        param = next(self.dequantizer.parameters())
        eps = (torch.randn(x.shape, generator=generator, dtype=param.dtype,
                           device=generator.device if generator is not None else param.device)
               if noise else torch.zeros(x.shape, dtype=param.dtype))
        k = k.to(device=param.device, dtype=param.dtype)
        u, log_q = self.dequantizer(k / (self.num_levels - 1), eps.to(param.device))
        return (k + u) / self.num_levels, log_q

    def discrete_bits_per_dim(self, x: Tensor, y=None, generator: torch.Generator | None = None) -> Tensor:
        """(B,) bits/dim of quantized images k/(L-1) (e.g. uint8 / 255): one draw of the model's
        dequantization noise (uniform, or its learned q), -log p + log q. The figure papers report,
        an upper bound on the discrete code length; averaged over images it estimates the bound."""
        xd, log_q = self.dequantize_with_log_q(x, generator=generator)
        param = next(self.parameters())
        xd, log_q = xd.to(device=param.device, dtype=param.dtype), log_q.to(device=param.device, dtype=param.dtype)
        return bits_per_dim(self.log_prob(xd, y) - _flat_sum(log_q), self.num_dims(x), self.num_levels)

    def importance_weighted_bits_per_dim(self, x: Tensor, y=None, draws: int = 16,
                                         generator: torch.Generator | None = None) -> Tensor:
        """(B,) bits/dim of quantized images from `draws` draws of the dequantization noise:
        -log of the mean weight w = p(x + u) / q(u | k), as in Burda et al.'s importance-weighted
        bound (2016). Each w is an unbiased estimate of the discrete P(k), so the figure falls from
        the single-draw bound (`discrete_bits_per_dim`, draws=1) towards the model's exact
        -log P(k) as `draws` grows: it tells how loose the reported bound is."""
        if not isinstance(draws, int) or isinstance(draws, bool) or draws < 1:
            raise ValueError(f"draws must be an integer >= 1, got {draws!r}")
        draws_bpd = torch.stack([self.discrete_bits_per_dim(x, y, generator) for _ in range(draws)])
        return importance_weighted_bits(draws_bpd, self.num_dims(x))

    # ----------------------------------------------------------------- sampling
    def sample_latents(self, n: int, temperature: float | Sequence[float] = 1.0,
                       generator: torch.Generator | None = None, image_size: int | tuple[int, int] | None = None
                       ) -> list[Tensor]:
        """z ~ N(0, T^2 I) per scale; `temperature` may be one number or one per scale (finest first)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"number of samples must be a non-negative integer, got {n!r}")
        temps = [float(temperature)] * self.num_scales if isinstance(temperature, (int, float)) else list(map(float, temperature))
        if len(temps) != self.num_scales or any(not math.isfinite(t) or t < 0 for t in temps):
            raise ValueError(f"temperature must be a non-negative number or {self.num_scales} of them, got {temperature!r}")
        height, width = (image_size, image_size) if isinstance(image_size, int) else (image_size or (None, None))
        param = next(self.parameters())
        latents = []
        for shape, t in zip(self.latent_shapes(height, width), temps):
            gen_device = generator.device if generator is not None else param.device
            z = torch.randn((n, *shape), generator=generator, device=gen_device, dtype=param.dtype)
            latents.append(z.to(param.device) * t)
        return latents

    @torch.no_grad()
    def sample(self, n: int, temperature: float | Sequence[float] = 1.0, generator: torch.Generator | None = None,
               y=None, image_size: int | tuple[int, int] | None = None) -> Tensor:
        """(n, C, H, W) samples in [0, 1], z ~ N(0, T^2 I). The fixed bijection (batch-norm
        running averages) whatever the module's mode. Temperature 0 decodes the zero latent.
        With `sampling_dtype` set (see `realnvp.precision`), the s/t networks' convolutions run
        in that dtype; the coupling arithmetic stays in the model's dtype."""
        latents = self.sample_latents(n, temperature, generator, image_size)
        with sampling_precision(self.sampling_dtype):
            return self.decode(latents, y).clamp(0, 1)

    # None: sample in full precision. torch.bfloat16: faster on CPUs with native bf16
    # (realnvp.precision.fast_sampling_dtype picks it per machine). Not saved with the model.
    sampling_dtype: torch.dtype | None = None

    def forward(self, x: Tensor, y=None, every_class: bool = False) -> Tensor:
        """The training objective: (B,) log_prob of x in the module's mode. In training mode the
        batch norms use this batch's statistics (and update their running averages), as the
        paper trains; in evaluation mode it equals `log_prob`. It is what DistributedDataParallel
        wraps. To evaluate a density, call `log_prob`. With `every_class` (conditioning
        "latent_means" only): (B, num_classes) log p(x | y) of every class from one pass."""
        if every_class:
            if self.conditioning != "latent_means":
                raise ValueError("every_class in one pass needs conditioning='latent_means' (the networks must not "
                                 "see the label)")
            return self._every_class(x)
        return sum(self._encode_terms(x, y)[2].values())

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        """The dtype given to `set_autocast` (None: off)."""
        return next((m.autocast_dtype for m in self.modules() if isinstance(m, ResNet)), None)

    def set_autocast(self, dtype: torch.dtype | None) -> None:
        """In the training forward, run the s/t networks' convolutions in `dtype` (e.g.
        torch.bfloat16), keeping the coupling arithmetic, log-determinants and the likelihood in
        the model's dtype. Evaluation (log_prob, encode, decode, sample) stays in full precision."""
        for module in self.modules():
            if isinstance(module, ResNet):
                module.autocast_dtype = dtype

    # ----------------------------------------------------------------- checkpoints
    def weight_norm_scales(self) -> list[nn.Parameter]:
        """The weight-normalization scale parameters g (the paper puts L2 5e-5 on these)."""
        return [p for name, p in self.named_parameters() if name.endswith("parametrizations.weight.original0")]

    @staticmethod
    def upgrade_state_dict(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
        """Rename tensors of checkpoints from version 0.1: the couplings' `scale` is `s_bound`."""
        return {re.sub(r"^(scales\.\d+\.(?:checkerboard|channelwise)\.\d+)\.scale$", r"\1.s_bound", k): v
                for k, v in tensors.items()}

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        """Load `config.json` + `model.safetensors` from a directory or a Hub repo id. Strict:
        every tensor must be present with the right shape; nothing is unpickled."""
        path = os.fspath(pretrained_model_name_or_path)
        if os.path.isdir(path):
            config_file = os.path.join(path, "config.json")
            if not os.path.isfile(config_file):
                raise CheckpointError(f"{config_file}: not found; a checkpoint directory needs config.json and model.safetensors")
            try:
                with open(config_file, encoding="utf-8") as f:
                    json.load(f)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise CheckpointError(f"{config_file}: not valid JSON ({error})") from error
        return super().from_pretrained(path, **kwargs)

    @classmethod
    def _from_pretrained(cls, *, model_id: str, revision, cache_dir, force_download, local_files_only, token,
                         map_location: str = "cpu", strict: bool = True, config: dict | None = None, **model_kwargs):
        if not strict:
            raise ValueError("RealNVP checkpoints always load strictly")
        if config is None:
            raise CheckpointError(f"{model_id}: config.json is missing")
        import inspect
        known = set(inspect.signature(cls.__init__).parameters) - {"self"}
        unknown = sorted(set(config) - known)
        if unknown:
            raise CheckpointError(f"{model_id}/config.json: unknown keys {unknown}; expected a subset of {sorted(known)}")
        try:
            model = cls(**model_kwargs)
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"{model_id}/config.json: invalid configuration ({error})") from error
        if os.path.isdir(model_id):
            weights = os.path.join(model_id, "model.safetensors")
        else:
            weights = hf_hub_download(repo_id=model_id, filename="model.safetensors", revision=revision,
                                      cache_dir=cache_dir, force_download=force_download, token=token,
                                      local_files_only=local_files_only)
        load_state_strict(model, weights)
        return model.to(map_location).eval()
