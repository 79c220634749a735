"""Two measures of handwriting style from an image's ink, for telling whether a style survives a
change of class (realnvp.restyle): the slant and the thickness of the strokes.

The ink is the pixel value, averaged over channels: white strokes on black, as the digit models
see them (1 = full ink, 0 = background). Coordinates are in pixels, x to the right, y upwards.
The central moments of the ink are mu_pq = sum over pixels of I (x - x̄)^p (y - ȳ)^q.

- **slant** = mu11 / mu02: the least-squares slope of x against y over the ink, i.e. how many
  pixels the strokes move to the right per pixel of height. 0 is upright, positive leans right
  (as italics do), negative leans left. A shape sheared by x -> x + s y has its slant raised by
  exactly s (mu11 gains s mu02, mu02 is unchanged), whatever its ink intensity.
- **thickness** = 2 x ink mass / ink perimeter, in pixels. The perimeter is the total variation of
  the ink, the sum over pixels of the length of its gradient (forward differences, zero outside the
  image): for a shape of full ink it is the length of its outline (the coarea formula), and for
  fainter or anti-aliased ink both mass and perimeter scale with the ink, so their ratio does not
  depend on how dark the stroke is. A stroke of width w and length L has mass w L and outline
  2 (L + w), so 2 mass / perimeter = w / (1 + w / L): the width, a little less for short strokes
  (the ends count as outline). Unlike a skeleton's length it needs no threshold and no thinning,
  and it is a smooth function of the pixels.

A blank image (no ink) has neither: both are NaN, as is the slant of ink on a single row.
"""
from __future__ import annotations

import torch
from torch import Tensor


def _ink(images: Tensor) -> Tensor:
    """(B, H, W) float64 ink of (B, C, H, W) images in [0, 1]: the channel mean."""
    if images.dim() != 4:
        raise ValueError(f"expected images of shape (B, C, H, W), got {tuple(images.shape)}")
    return images.detach().double().mean(1)


def central_moments(images: Tensor) -> dict[str, Tensor]:
    """(B,) each, float64: the ink mass m00 and the central moments mu20, mu11, mu02 of every
    image (x to the right, y upwards, in pixels)."""
    ink = _ink(images)
    _, height, width = ink.shape
    x = torch.arange(width, dtype=torch.float64, device=ink.device)
    y = -torch.arange(height, dtype=torch.float64, device=ink.device)  # rows go down, y goes up
    mass = ink.sum((1, 2))
    x_mean = (ink.sum(1) * x).sum(1) / mass
    y_mean = (ink.sum(2) * y).sum(1) / mass
    dx = x[None, None, :] - x_mean[:, None, None]
    dy = y[None, :, None] - y_mean[:, None, None]
    return {"m00": mass, "mu20": (ink * dx * dx).sum((1, 2)), "mu11": (ink * dx * dy).sum((1, 2)),
            "mu02": (ink * dy * dy).sum((1, 2))}


def slant(images: Tensor) -> Tensor:
    """(B,) float64 slant mu11 / mu02 of each image: pixels to the right per pixel upwards."""
    moments = central_moments(images)
    return moments["mu11"] / moments["mu02"]


def perimeter(images: Tensor) -> Tensor:
    """(B,) float64 total variation of the ink: the length of the outline of full-ink shapes."""
    ink = torch.nn.functional.pad(_ink(images), (0, 1, 0, 1))  # zero beyond the right and bottom edges
    ink = torch.nn.functional.pad(ink, (1, 0, 1, 0))  # and before the left and top ones
    dx = ink[:, :, 1:] - ink[:, :, :-1]
    dy = ink[:, 1:, :] - ink[:, :-1, :]
    return torch.sqrt(dx[:, 1:, :] ** 2 + dy[:, :, 1:] ** 2).sum((1, 2))


def thickness(images: Tensor) -> Tensor:
    """(B,) float64 stroke thickness 2 x ink mass / ink perimeter, in pixels."""
    mass = _ink(images).sum((1, 2))
    return torch.where(mass > 0, 2 * mass / perimeter(images), torch.nan)
