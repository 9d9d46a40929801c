"""Where the network view puts its tiles and links, and each link's width and colour: numbers, no Qt."""

import numpy as np
import pytest

from playground.network_layout import link_groups, neuron_at, place_columns

# A 2-3-1 network in 600 px of width from x = 50, tiles in 200 px of height from y = 40.
COUNTS = [2, 3, 1]


def placed():
    return place_columns(COUNTS, left=50.0, inner=600.0, top=40.0, height=200.0, max_tile=76.0,
                         io_titles=(40.0, 44.0), line=14.0)


def test_columns_share_the_width_and_tiles_are_centred():
    columns = placed()
    # the tallest column (3 tiles × 1.25) sets the tile: 200 / 3.75
    assert columns.tile == pytest.approx(200 / 3.75)
    assert columns.widths == [200.0, 200.0, 200.0]
    assert columns.centres == [150.0, 350.0, 550.0]
    tile = columns.tile
    hidden = columns.boxes[1]
    assert hidden.shape == (3, 4)
    np.testing.assert_allclose(hidden[:, 0], 350 - tile / 2)
    np.testing.assert_allclose(hidden[:, 2:], tile)
    gaps = np.diff(hidden[:, 1]) - tile
    np.testing.assert_allclose(gaps, tile * 0.25)  # a quarter tile apart
    middle = hidden[1, 1] + tile / 2
    assert middle == pytest.approx(140.0)  # the column centred in 40 .. 240
    assert columns.boxes[2][0, 1] + tile / 2 == pytest.approx(140.0)  # a lone output tile too


def test_many_layers_give_inputs_and_output_only_their_title():
    counts = [2, *[8] * 8, 1]
    columns = place_columns(counts, left=30.0, inner=500.0, top=0.0, height=400.0, max_tile=76.0,
                            io_titles=(40.0, 44.0), line=14.0)
    tile = min(76.0, 400 / (8 * 1.25))
    io = [max(tile, 40.0) + 14 * 0.8, max(tile, 44.0) + 14 * 0.8]
    rest = (500 - sum(io)) / 8
    assert columns.widths == pytest.approx([io[0], *[rest] * 8, io[1]])
    assert columns.tile == pytest.approx(min(tile, rest * 0.5))  # a tile fits half its column
    assert sum(columns.widths) == pytest.approx(500.0)


def test_links_run_edge_to_edge_with_width_and_colour_from_the_weight():
    columns = placed()
    W1 = np.array([[0.5, -2.0, 0.0], [np.nan, 10.0, -0.1]])
    W2 = np.array([[1.0], [-1.0], [0.2]])
    groups = link_groups([W1, W2], columns.boxes)
    assert sum(len(g.lines) for g in groups) == W1.size + W2.size
    tile, b = columns.tile, columns.boxes
    by_link = {}
    for g in groups:
        for line in g.lines.tolist():
            by_link[tuple(round(v, 6) for v in line)] = (g.sign, g.width, g.alpha)

    def link(c, i, j):
        src, dst = b[c][i], b[c + 1][j]
        key = (src[0] + tile, src[1] + tile / 2, dst[0], dst[1] + tile / 2)
        return by_link[tuple(round(v, 6) for v in key)]

    # width 0.5 + 1.2|w| px in half pixels within 0.5 .. 6; alpha 110 + 20 per px; sign by w >= 0
    assert link(0, 0, 0) == (1, 1.0, 130)  # w = 0.5: 1.1 px → 1.0
    assert link(0, 0, 1) == (-1, 3.0, 170)  # w = -2: 2.9 px → 3.0
    assert link(0, 0, 2) == (1, 0.5, 120)  # w = 0: thinnest, positive
    assert link(0, 1, 0) == (-1, 0.5, 120)  # NaN: thinnest, drawn as negative
    assert link(0, 1, 1) == (1, 6.0, 230)  # w = 10: capped at 6 px
    assert link(0, 1, 2) == (-1, 0.5, 120)  # w = -0.1: 0.62 px → 0.5
    assert link(1, 0, 0) == (1, 1.5, 140) and link(1, 1, 0) == (-1, 1.5, 140)
    # the source tile's right edge to the target's left edge, at their centres
    x0, y0, x1, y1 = next(g for g in groups if g.width == 6.0).lines[0]
    assert (x0, x1) == pytest.approx((150 + tile / 2, 350 - tile / 2))
    assert (y0, y1) == pytest.approx((b[0][1, 1] + tile / 2, 140.0))
    # thinnest first, so strong weights are drawn on top
    assert [g.width for g in groups] == sorted(g.width for g in groups)


def test_no_layers_no_links():
    assert link_groups([], [np.zeros((2, 4))]) == []


def test_the_tile_under_a_point():
    columns = placed()
    x, y, w, h = columns.boxes[1][2]
    assert neuron_at(columns.boxes, x + w / 2, y + h / 2) == (1, 2)
    assert neuron_at(columns.boxes, x - 1.5, y) == (1, 2)  # within the 2 px margin
    assert neuron_at(columns.boxes, x - 3, y) is None
    assert neuron_at(columns.boxes, 0.0, 0.0) is None
