"""The runner's per-cell time breakdown (runner/timings.py): parts add up, nothing counted twice."""
import time

from tffnoise.runner.timings import PARTS, Timings


def test_parts_accumulate_and_other_is_the_rest():
    tm = Timings()
    with tm.part("train"):
        time.sleep(0.05)
    with tm.part("train"):
        time.sleep(0.05)
    with tm.part("attacks"):
        time.sleep(0.02)
    time.sleep(0.03)  # in no part: `other`
    d = tm.as_dict()
    assert set(d) == {*PARTS, "wall", "other"}
    assert 0.1 <= d["train"] < 0.2 and 0.02 <= d["attacks"] < 0.1 and d["evaluate"] == 0.0
    assert abs(sum(d[k] for k in PARTS) + d["other"] - d["wall"]) < 1e-3
    assert d["other"] >= 0.03


def test_a_part_that_raises_is_still_counted():
    tm = Timings()
    try:
        with tm.part("evaluate"):
            time.sleep(0.02)
            raise ValueError
    except ValueError:
        pass
    assert tm.as_dict()["evaluate"] >= 0.02
