"""Learning-curve maths: windowed success, grid reading, steps to a level, the stats file."""

import numpy as np

from hierarchical.curves import (
    method_band,
    on_grid,
    plot_panels,
    run_curve,
    smoothed_success,
    steps_to_reach,
)
from hierarchical.run_logging import COLUMNS, code_entropy, read_stats, write_csv_atomic


def rows(successes, episodes, step=100):
    return [
        {"env_steps": step * (i + 1), "episodes": n, "success": s}
        for i, (s, n) in enumerate(zip(successes, episodes, strict=True))
    ]


def test_smoothed_success_weights_recent_episodes():
    steps, rates = smoothed_success(rows([0.0, 1.0, float("nan"), 1.0], [4, 4, 0, 2]), window=6)
    np.testing.assert_allclose(steps, [100, 200, 300, 400])
    # last 6 episodes: [0.0]*4 -> 0; then 4 ones + 2 zeros; unchanged; then 2+4 ones
    np.testing.assert_allclose(rates, [0.0, 4 / 6, 4 / 6, 1.0])
    assert steps_to_reach(steps, rates, 0.5) == 200 and np.isnan(steps_to_reach(steps, rates, 1.1))


def test_curve_waits_for_enough_episodes():
    # a first iteration with one lucky episode must not count as reaching a level
    steps, rates = smoothed_success(rows([1.0, 0.0, 0.5], [1, 3, 4]), window=100, min_episodes=4)
    assert np.isnan(rates[0]) and rates[1] == 0.25 and rates[2] == 0.375
    assert np.isnan(steps_to_reach(steps, rates, 0.5))


def test_grid_is_nan_before_the_first_and_after_the_last_point():
    grid = np.array([50, 100, 150, 250])
    out = on_grid(np.array([100.0, 200.0]), np.array([0.2, 0.4]), grid)
    assert np.isnan(out[0]) and out[1] == 0.2 and out[2] == 0.2 and np.isnan(out[3])


def test_stats_round_trip_band_and_plot(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    table = [
        {c: 0 for c in COLUMNS} | {"env_steps": 100 * (i + 1), "episodes": 5, "success": i / 4}
        for i in range(4)
    ]
    write_csv_atomic(run / "stats.csv", table, COLUMNS)
    assert [r["success"] for r in read_stats(run / "stats.csv")] == [0, 0.25, 0.5, 0.75]
    grid = np.linspace(100, 400, 4)
    band = method_band([run_curve(run, window=5, min_episodes=5)] * 2, grid)
    np.testing.assert_allclose(band, [[0, 0.25, 0.5, 0.75]] * 2)
    path = plot_panels({"task": {"ptgm": band}}, grid, tmp_path / "curve.png")
    assert path.stat().st_size > 1000


def test_code_entropy():
    assert np.isnan(code_entropy([-1, -1]))
    assert code_entropy([3, 3]) == 0.0
    assert abs(code_entropy([0, 1, 2, 3]) - np.log(4)) < 1e-12
