"""Pictures of a layer-by-layer trace (realnvp.trace): each step as two panels side by side, the
state it leaves in image layout and what the step did, as (H, W, 3) uint8.

States inside the flow are shown on a fixed scale, -3 (black) to +3 (white), so the logit of an
image still looks like the image and the Gaussian latents look like noise; the image itself (the
start of an encode, the end of a decode) is shown as it is. Elements outside the flow (set aside
by a factor-out, or not yet brought back while decoding) are teal.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from realnvp.trace import Step

STATE_RANGE = 3.0  # states are shown from -STATE_RANGE to +STATE_RANGE
OUTSIDE = (0, 128, 128)  # teal: elements outside the flow
CHANGED = (240, 140, 30)  # orange: elements the step transforms
CONDITIONS = (70, 90, 140)  # slate blue: elements a coupling leaves unchanged and conditions on
GAP = 2  # pixels between the two panels, and between channel tiles
PANEL_SIDE = 112  # each panel is enlarged to about this many pixels
LEGEND = ("Left: the state after the step, in image layout (−3 black … +3 white; the image itself in [0, 1]); "
          "teal: elements outside the flow. Right: what the step does: orange elements are transformed, "
          "slate-blue ones pass through unchanged and condition a coupling's scale and shift; for a squeeze or "
          "factor-out, the channels as the next layer sees them (one tile per group of image channels).")


def _rgb(values: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """(H, W, C) floats in [0, 1] and an (H, W) outside mask -> (H, W, 3) uint8."""
    grey = (np.clip(values, 0, 1) * 255).round().astype(np.uint8)
    rgb = np.repeat(grey, 3, axis=2) if grey.shape[2] == 1 else grey[..., :3]
    rgb[outside] = OUTSIDE
    return rgb


def state_panel(picture: torch.Tensor, is_image: bool = False) -> np.ndarray:
    """(C, H, W) with NaN outside the flow -> (H, W, 3) uint8."""
    array = picture.detach().double().cpu().numpy().transpose(1, 2, 0)
    outside = np.isnan(array).all(axis=2)
    values = array if is_image else 0.5 + array / (2 * STATE_RANGE)
    return _rgb(np.nan_to_num(values, nan=0.0), outside)


def change_panel(changed_picture: torch.Tensor | None, like: torch.Tensor) -> np.ndarray:
    """What an element-wise step changes: `changed_picture` (C, H, W) 1 / 0 / NaN from a coupling,
    or None for a step that changes every element inside the flow (`like`, a state picture, says
    which are outside)."""
    outside = torch.isnan(like).all(dim=0).cpu().numpy()
    if changed_picture is None:
        changed = ~outside
    else:
        changed = (torch.nan_to_num(changed_picture, nan=0.0) > 0.5).any(dim=0).cpu().numpy()
    panel = np.empty(outside.shape + (3,), np.uint8)
    panel[...] = CONDITIONS
    panel[changed] = CHANGED
    panel[outside] = OUTSIDE
    return panel


def channel_tiles(output: torch.Tensor, image_channels: int, height: int, width: int) -> np.ndarray:
    """A tensor (C', H', W') as the next layer sees it: one tile per group of `image_channels`
    channels, enlarged as much as fits, in a grid on a white canvas of height x width (larger only
    if the tiles at their own size do not fit)."""
    groups = output.shape[0] // image_channels
    tiles = output[: groups * image_channels].reshape(groups, image_channels, *output.shape[1:])
    th, tw = output.shape[1], output.shape[2]
    cols = math.ceil(math.sqrt(groups * th / max(tw, 1)))
    rows = math.ceil(groups / cols)
    scale = max(1, min((height - (rows - 1) * GAP) // (rows * th), (width - (cols - 1) * GAP) // (cols * tw)))
    sh, sw = th * scale, tw * scale
    grid_h, grid_w = rows * sh + (rows - 1) * GAP, cols * sw + (cols - 1) * GAP
    canvas = np.full((max(height, grid_h), max(width, grid_w), 3), 255, np.uint8)
    top, left = (canvas.shape[0] - grid_h) // 2, (canvas.shape[1] - grid_w) // 2
    for k in range(groups):
        r, c = divmod(k, cols)
        tile = np.repeat(np.repeat(state_panel(tiles[k]), scale, axis=0), scale, axis=1)
        y0, x0 = top + r * (sh + GAP), left + c * (sw + GAP)
        canvas[y0: y0 + sh, x0: x0 + sw] = tile
    return canvas


def enlarge_to(panel: np.ndarray, side: int) -> np.ndarray:
    """Nearest-neighbour enlargement by the whole factor that brings the longer side nearest `side`."""
    factor = max(1, round(side / max(panel.shape[:2])))
    return np.repeat(np.repeat(panel, factor, axis=0), factor, axis=1)


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    height = max(left.shape[0], right.shape[0])
    out = np.full((height, left.shape[1] + GAP + right.shape[1], 3), 255, np.uint8)
    out[: left.shape[0], : left.shape[1]] = left
    out[: right.shape[0], left.shape[1] + GAP:] = right
    return out


def step_picture(step: Step, image_channels: int, is_image: bool = False, side: int = PANEL_SIDE) -> np.ndarray:
    """The two panels of one step of a one-image trace (batch element 0), each enlarged to about
    `side` pixels."""
    picture = step.picture[0]
    state = enlarge_to(state_panel(picture, is_image), side)
    if step.kind in ("squeeze", "unsqueeze", "factor-out", "factor-in"):
        right = channel_tiles(step.output[0], image_channels, *state.shape[:2])
    else:
        right = enlarge_to(change_panel(step.changed_picture, picture), side)
    return side_by_side(state, right)


def start_picture(start: torch.Tensor, is_image: bool, side: int = PANEL_SIDE) -> np.ndarray:
    """The state before the first step (the image, or the latents in image layout), with a blank
    right panel."""
    state = enlarge_to(state_panel(start[0], is_image), side)
    return side_by_side(state, np.full_like(state, 255))
