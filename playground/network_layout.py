"""Where the network view draws its neurons and links, as plain numbers (no Qt).

The view (ui/network_view.py) measures its text and hands the sizes in; these functions say where each
column and neuron tile goes and every link's ends, width and colour, so a test can check them with
real numbers. Boxes are (x, y, width, height) in px, y downwards; a link runs from the right edge of
its source tile to the left edge of its target, at the tiles' vertical centres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TILE_SPACING = 1.25  # a column's tiles at their largest: one tile plus a quarter of one between them
MIN_TILE = 6.0  # px: below this a tile shows nothing


@dataclass(frozen=True)
class Columns:
    """One network shape placed in one view size."""

    tile: float  # a neuron tile's side, px
    centres: list[float]  # x centre of each column (inputs, hidden layers, output)
    widths: list[float]  # the room each column has (its share of the width)
    boxes: list[np.ndarray]  # per column, (neurons, 4) float64 rows of x, y, width, height


@dataclass(frozen=True)
class LinkGroup:
    """Links drawn with one pen: one sign, one width."""

    sign: int  # +1 for weights >= 0 (blue), -1 for negative ones and NaN (orange)
    width: float  # px, 0.5 to 6 in half-pixel steps: grows with |w|
    alpha: int  # 120 (thinnest) to 230 (widest) of 255: strong weights stand out
    lines: np.ndarray  # (links, 4) float64 rows of x0, y0, x1, y1


def place_columns(counts: list[int], left: float, inner: float, top: float, height: float,
                  max_tile: float, io_titles: tuple[float, float], line: float) -> Columns:
    """Columns and neuron tiles for `counts` neurons per column, in `inner` px of width from `left`.

    `height` is the room between `top` and the legend; `io_titles` the widths of the "Inputs" and
    "Output" titles and `line` the text's line height. Inputs and Output need only their tile and
    title; when the columns are tight (many layers, big font) the hidden layers share what is left,
    so their controls get the room.
    """
    n_cols, n_hidden = len(counts), len(counts) - 2
    tile = min(max_tile, height / (max(counts) * TILE_SPACING))
    io = [max(tile, title) + line * 0.8 for title in io_titles]
    uniform = inner / n_cols
    if n_hidden == 0 or uniform >= max(io):
        widths = [uniform] * n_cols
    else:
        rest = (inner - io[0] - io[1]) / n_hidden
        widths = [io[0], *[rest] * n_hidden, io[1]]
    tile = max(MIN_TILE, min(tile, min(widths) * 0.5))
    centres = left + np.cumsum([0.0, *widths[:-1]]) + np.asarray(widths) / 2
    boxes = []
    for x, count in zip(centres, counts):
        gap = min(tile * 0.25 + (height - count * tile * TILE_SPACING) / max(count, 1), tile * 0.6)
        pitch = tile + gap
        y0 = top + (height - (count * pitch - gap)) / 2
        ys = np.array([y0 + k * pitch for k in range(count)], np.float64)
        boxes.append(np.column_stack([np.full(count, x - tile / 2), ys, np.full(count, tile), np.full(count, tile)]))
    return Columns(tile, [float(c) for c in centres], widths, boxes)


def link_groups(weights: list[np.ndarray], boxes: list[np.ndarray]) -> list[LinkGroup]:
    """Every link of `weights` (per layer, (inputs, outputs)) between `boxes`, grouped by pen, thinnest first.

    Grouped so the view strokes each group with one pen in one call (separate lines stroke far
    faster than one long path); thinnest first so the strong weights stay on top. A link's width is
    0.5 + 1.2·|w| px rounded to half pixels and kept within 0.5 to 6; a NaN weight draws thinnest.
    """
    if not weights:
        return []
    parts = []
    for W, src, dst in zip(weights, boxes, boxes[1:]):
        part = np.empty((len(src), len(dst), 4))  # link (i, j), source i → target j, as W is laid out
        part[..., 0] = (src[:, 0] + src[:, 2])[:, None]  # the source's right edge
        part[..., 1] = (src[:, 1] + src[:, 3] / 2)[:, None]  # at its centre
        part[..., 2] = dst[:, 0]  # the target's left edge
        part[..., 3] = dst[:, 1] + dst[:, 3] / 2
        parts.append(part.reshape(-1, 4))
    lines = np.concatenate(parts)
    flat = np.concatenate([np.ravel(W) for W in weights])
    magnitude = np.abs(np.nan_to_num(flat, nan=0.0, posinf=1e3, neginf=-1e3))
    buckets = np.clip(np.round((0.5 + 1.2 * magnitude) * 2), 1, 12).astype(int)  # half-px
    keys = buckets * 2 + (flat >= 0)  # NaN compares False: negative
    unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    # thinnest first; among equal widths the pen seen first; within a pen the links in weight order
    rank = np.lexsort((first, unique // 2))
    position = np.empty_like(rank)
    position[rank] = np.arange(len(rank))
    order = np.argsort(position[inverse], kind="stable")
    ends = np.cumsum(np.bincount(position[inverse], minlength=len(rank)))
    groups, start = [], 0
    for key, end in zip(unique[rank].tolist(), ends.tolist()):
        bucket = key // 2
        groups.append(LinkGroup(1 if key % 2 else -1, bucket / 2, 110 + bucket * 10, lines[order[start:end]]))
        start = end
    return groups


def neuron_at(boxes: list[np.ndarray], x: float, y: float, margin: float = 2.0) -> tuple[int, int] | None:
    """(column, neuron) of the first tile within `margin` px of (x, y), or None."""
    for c, box in enumerate(boxes):
        inside = ((box[:, 0] - margin <= x) & (x <= box[:, 0] + box[:, 2] + margin)
                  & (box[:, 1] - margin <= y) & (y <= box[:, 1] + box[:, 3] + margin))
        if inside.any():
            return c, int(np.flatnonzero(inside)[0])
    return None
