"""explorer.layer_pictures: the Layer by layer tab's two panels per step (the state in image
layout, what the step changes), their colours and sizes."""
import numpy as np
import pytest
import torch

from explorer import layer_pictures
from explorer.layer_pictures import (CHANGED, CONDITIONS, GAP, OUTSIDE, STATE_RANGE, change_panel, channel_tiles,
                                     enlarge_to, side_by_side, start_picture, state_panel)
from helpers import tiny_model
from realnvp import trace


def colour_share(panel: np.ndarray, colour) -> float:
    return float(np.all(panel == colour, axis=2).mean())


def test_step_pictures_mark_what_is_outside_and_what_changes():
    model = tiny_model(1, 8, 2, dtype=torch.float32)
    x = torch.rand(1, 1, 8, 8) * 0.9 + 0.05
    walk = trace.trace_encode(model, x)
    for step in walk.steps:
        image = layer_pictures.step_picture(step, 1, side=32)
        assert image.dtype == np.uint8 and image.shape == (32, 32 + layer_pictures.GAP + 32, 3), step.kind
    factor_out = next(s for s in walk.steps if s.kind == "factor-out")
    state = layer_pictures.state_panel(factor_out.picture[0])
    outside = np.all(state == layer_pictures.OUTSIDE, axis=2)
    assert np.array_equal(outside, torch.isnan(factor_out.picture[0, 0]).numpy())
    assert outside[0].all() and not outside[1].any()  # the top row of every 2x2 block leaves
    start = layer_pictures.start_picture(x, is_image=True, side=8)
    assert np.array_equal(start[:, :8, 0], (x[0, 0].numpy() * 255).round().astype(np.uint8))
    tiles = layer_pictures.channel_tiles(factor_out.output[0], 1, 32, 32)  # 2 tiles of 4x4, enlarged 3x
    assert tiles.shape == (32, 32, 3) and (tiles == 255).all(axis=2).mean() > 0.5


def test_states_are_shown_from_minus_to_plus_the_range_and_nan_is_teal():
    state = torch.tensor([[[-STATE_RANGE, 0.0], [STATE_RANGE, float("nan")]]])  # (1, 2, 2)
    panel = state_panel(state)
    assert panel.shape == (2, 2, 3) and panel.dtype == np.uint8
    assert panel[0, 0].tolist() == [0, 0, 0] and panel[1, 0].tolist() == [255, 255, 255]
    assert panel[0, 1].tolist() == [128, 128, 128]  # 0 is mid-grey
    assert tuple(panel[1, 1]) == OUTSIDE
    far = state_panel(torch.full((1, 1, 1), 10 * STATE_RANGE))
    assert far[0, 0].tolist() == [255, 255, 255]  # clipped, not wrapped
    # the image itself is shown as it is, in [0, 1]; colour states keep their channels
    image = torch.tensor([[[0.0, 1.0]], [[1.0, 0.0]], [[0.5, 0.5]]])  # (3, 1, 2)
    rgb = state_panel(image, is_image=True)
    assert rgb[0, 0].tolist() == [0, 255, 128] and rgb[0, 1].tolist() == [255, 0, 128]


def test_a_coupling_shows_what_it_changes_and_what_it_conditions_on():
    like = torch.zeros(1, 2, 2)
    like[0, 1, 1] = float("nan")  # one element outside the flow
    mask = torch.tensor([[[1.0, 0.0], [0.0, float("nan")]]])
    panel = change_panel(mask, like)
    assert tuple(panel[0, 0]) == CHANGED and tuple(panel[0, 1]) == CONDITIONS and tuple(panel[1, 0]) == CONDITIONS
    assert tuple(panel[1, 1]) == OUTSIDE
    every = change_panel(None, like)  # batch norm, logit: every element inside the flow changes
    assert colour_share(every, CHANGED) == 0.75 and tuple(every[1, 1]) == OUTSIDE


def test_panels_are_enlarged_by_whole_factors_and_put_side_by_side():
    panel = np.zeros((8, 4, 3), np.uint8)
    assert enlarge_to(panel, 30).shape == (32, 16, 3)  # the longer side nearest 30: 4x
    assert enlarge_to(panel, 2).shape == (8, 4, 3)  # never shrunk
    big = enlarge_to(np.arange(4, dtype=np.uint8).reshape(2, 2, 1).repeat(3, 2), 4)
    assert np.array_equal(big[:2, :2, 0], np.zeros((2, 2))) and big[3, 3, 0] == 3  # nearest neighbour
    pair = side_by_side(np.zeros((4, 3, 3), np.uint8), np.zeros((2, 5, 3), np.uint8))
    assert pair.shape == (4, 3 + GAP + 5, 3)
    assert (pair[:, 3:3 + GAP] == 255).all() and (pair[2:, 3 + GAP:] == 255).all()  # white gap and padding


def test_channel_tiles_show_each_group_of_image_channels():
    output = torch.zeros(12, 2, 2)  # a squeezed colour image: 4 groups of 3 channels
    output[3:6] = STATE_RANGE  # the second group white
    tiles = channel_tiles(output, 3, 20, 20)
    assert tiles.shape == (20, 20, 3)
    assert colour_share(tiles, (128, 128, 128)) == pytest.approx(3 * 64 / 400)  # three grey tiles of 8x8
    assert (tiles == 255).all(axis=2).sum() >= 64 + (400 - 4 * 64)  # the white tile and the canvas
    small = channel_tiles(torch.zeros(4, 8, 8), 1, 4, 4)  # tiles that do not fit: the canvas grows
    assert small.shape[0] >= 16 and small.shape[1] >= 16


def test_the_start_picture_leaves_the_right_panel_blank():
    latents = torch.randn(1, 1, 4, 4)
    picture = start_picture(latents, is_image=False, side=8)
    assert picture.shape == (8, 8 + GAP + 8, 3)
    assert (picture[:, 8 + GAP:] == 255).all()
    assert np.array_equal(picture[::2, :8:2], state_panel(latents[0]))
