"""A compare section that shows several seeds lays them out a row per seed, each tile naming its seed."""

from __future__ import annotations

from stepthrough.widgets.compare import _columns_by_seed


def tiles(*seeds: int) -> list[dict]:
    return [{"seed": seed} for seed in seeds]


def test_three_seeds_at_three_guidance_scales_make_three_rows_of_three():
    assert _columns_by_seed(tiles(0, 0, 0, 1, 1, 1, 2, 2, 2)) == 3


def test_one_seed_or_seeds_that_do_not_come_in_equal_runs_keep_the_flowing_grid():
    assert _columns_by_seed(tiles(7, 7, 7)) == 0
    assert _columns_by_seed(tiles(0, 1, 0, 1)) == 0
    assert _columns_by_seed(tiles(0, 0, 1)) == 0
