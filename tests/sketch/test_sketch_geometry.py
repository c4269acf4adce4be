"""Bézier fitting against control points computed by hand, and against numpy.linalg.lstsq."""

from __future__ import annotations

import numpy as np
import pytest

from tinkerlab.sketch.geometry import DEFAULT_GRID, Grid, fit_points, fit_stroke, flatten, to_cubic
from tinkerlab.sketch.language import Stroke


def fit_cells(cells, t_values=None):
    return fit_stroke(Stroke.from_cells(cells, t_values))


def test_grid_cell_centres_match_the_original_layout():
    assert DEFAULT_GRID.canvas_size == 612
    assert DEFAULT_GRID.cell_center(1, 1) == (18.0, 594.0)
    assert DEFAULT_GRID.cell_center(50, 50) == (606.0, 6.0)
    assert DEFAULT_GRID.cell_center(13, 27) == (12 * 13 + 6, 606 - 12 * 27)
    np.testing.assert_allclose(DEFAULT_GRID.centers([(1, 1), (50, 50)]), [[18, 594], [606, 6]])
    assert DEFAULT_GRID.cell_at(18, 594) == (1, 1)
    assert DEFAULT_GRID.cell_at(606, 6) == (50, 50)
    assert Grid(resolution=10, cell_size=20).canvas_size == 220


def test_one_point_is_a_tiny_segment():
    (segment,) = fit_cells(["x10y10"], [0.0])
    np.testing.assert_allclose(segment, [[126, 486], [126.0001, 486.0001]])


def test_two_points_are_a_line():
    (segment,) = fit_cells(["x1y1", "x50y50"], [0.0, 1.0])
    np.testing.assert_allclose(segment, [[18, 594], [606, 6]])


def test_three_points_are_an_exact_quadratic():
    # B(0.5) = P0/4 + P1/2 + P2/4  =>  P1 = 2 B(0.5) - (P0 + P2) / 2 = (276 - 138, 948 - 594)
    (segment,) = fit_cells(["x1y1", "x11y11", "x21y1"], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(segment, [[18, 594], [138, 354], [258, 594]], atol=1e-9)


def test_four_points_are_an_exact_cubic():
    # Samples S0..S3 at t = 0, 1/3, 2/3, 1:
    # P1 = (-5 S0 + 18 S1 - 9 S2 + 2 S3) / 6, P2 = (2 S0 - 9 S1 + 18 S2 - 5 S3) / 6.
    # S = (18,594) (54,486) (90,486) (126,594)  =>  P1 = (54, 432), P2 = (90, 432).
    (segment,) = fit_cells(["x1y1", "x4y10", "x7y10", "x10y1"], [0.0, 1 / 3, 2 / 3, 1.0])
    np.testing.assert_allclose(segment, [[18, 594], [54, 432], [90, 432], [126, 594]], atol=1e-9)


V_LEFT = [[18, 594], [66, 546], [114, 498], [162, 450]]
V_RIGHT = [[162, 450], [210, 498], [258, 546], [306, 594]]


def test_seven_points_of_a_v_split_once_at_the_middle():
    # One cubic cannot follow the sharp V (mean error > 5 px), so points[:4] and points[3:] are fitted separately;
    # four collinear, evenly spaced samples at t = 0, 1/3, 2/3, 1 are their own control points.
    cells = ["x1y1", "x5y5", "x9y9", "x13y13", "x17y9", "x21y5", "x25y1"]
    left, right = fit_cells(cells, [i / 6 for i in range(7)])
    np.testing.assert_allclose(left, V_LEFT, atol=1e-9)
    np.testing.assert_allclose(right, V_RIGHT, atol=1e-9)


def test_seven_points_with_a_wrong_t_count_fall_back_to_even_spacing():
    cells = ["x1y1", "x5y5", "x9y9", "x13y13", "x17y9", "x21y5", "x25y1"]
    left, right = fit_cells(cells, [0.0, 1.0])
    np.testing.assert_allclose(left, V_LEFT, atol=1e-9)
    np.testing.assert_allclose(right, V_RIGHT, atol=1e-9)


def test_nine_collinear_points_stay_one_cubic():
    # Error 0: no split; the least-squares cubic is the line with its control points at the thirds.
    cells = [f"x{i}y1" for i in range(1, 10)]
    (segment,) = fit_cells(cells, [i / 8 for i in range(9)])
    np.testing.assert_allclose(segment, [[18, 594], [50, 594], [82, 594], [114, 594]], atol=1e-9)


def test_nine_points_of_a_v_split_into_two_least_squares_halves():
    # mid = 4: the halves have 5 collinear evenly spaced samples each; least squares recovers the line exactly.
    cells = ["x1y1", "x4y4", "x7y7", "x10y10", "x13y13", "x16y10", "x19y7", "x22y4", "x25y1"]
    left, right = fit_cells(cells, [i / 8 for i in range(9)])
    np.testing.assert_allclose(left, V_LEFT, atol=1e-9)
    np.testing.assert_allclose(right, V_RIGHT, atol=1e-9)


def test_six_points_never_split_even_with_a_large_error():
    cells = ["x1y1", "x7y7", "x13y13", "x13y13", "x19y7", "x25y1"]
    assert len(fit_cells(cells, [0, 0.2, 0.45, 0.5, 0.8, 1])) == 1


def test_corner_repetition_with_non_monotonic_t_makes_a_sharp_turn():
    (segment,) = fit_cells(["x13y27", "x18y37", "x18y37", "x24y27"], [0.0, 0.55, 0.5, 1.0])
    assert segment.shape == (4, 2)
    polyline = flatten([[segment]], samples=200)[0]
    apex = DEFAULT_GRID.cell_center(18, 37)
    assert np.min(np.linalg.norm(polyline - apex, axis=1)) < 6.0


@pytest.mark.parametrize("n", [5, 6, 7, 8, 12, 20])
def test_cached_pseudo_inverse_matches_lstsq(n):
    rng = np.random.default_rng(n)
    points = rng.uniform(18, 594, size=(n, 2))
    t = np.sort(rng.uniform(0, 1, n))
    t[0], t[-1] = 0.0, 1.0
    fitted = fit_points(points, t)
    A = np.stack([(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3], axis=1)
    full = np.linalg.lstsq(A, points, rcond=None)[0]
    error = np.linalg.norm(A @ full - points, axis=1).mean()
    if error <= 5 or n < 7:
        np.testing.assert_allclose(fitted[0], full, atol=1e-6)
    else:
        mid = n // 2
        tl = (t[: mid + 1] - t[0]) / (t[mid] - t[0])
        Al = np.stack([(1 - tl) ** 3, 3 * (1 - tl) ** 2 * tl, 3 * (1 - tl) * tl**2, tl**3], axis=1)
        np.testing.assert_allclose(fitted[0], np.linalg.lstsq(Al, points[: mid + 1], rcond=None)[0], atol=1e-6)
        np.testing.assert_allclose(fitted[1][0], fitted[0][-1])


def test_degree_elevation_keeps_the_curve():
    quad = np.array([[0.0, 0.0], [50.0, 100.0], [100.0, 0.0]])
    cubic = to_cubic(quad)
    t = np.linspace(0, 1, 11)[:, None]
    on_quad = (1 - t) ** 2 * quad[0] + 2 * (1 - t) * t * quad[1] + t**2 * quad[2]
    on_cubic = (
        (1 - t) ** 3 * cubic[0] + 3 * (1 - t) ** 2 * t * cubic[1] + 3 * (1 - t) * t**2 * cubic[2] + t**3 * cubic[3]
    )
    np.testing.assert_allclose(on_quad, on_cubic, atol=1e-9)


def test_fit_points_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        fit_points(np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        fit_points(np.zeros((3, 3)))


def test_flatten_joins_split_halves_into_one_polyline():
    cells = ["x1y1", "x5y5", "x9y9", "x13y13", "x17y9", "x21y5", "x25y1"]
    polyline = flatten([fit_cells(cells)], samples=10)[0]
    assert polyline.shape == (19, 2)
    np.testing.assert_allclose(polyline[0], [18, 594])
    np.testing.assert_allclose(polyline[-1], [306, 594])
