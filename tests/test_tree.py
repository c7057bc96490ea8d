"""Parameter trees: one array, or lists / tuples / dicts of them."""

from typing import NamedTuple

import numpy as np
import pytest
import torch

from course_utils.tree import check_like, tree_leaves, tree_map, tree_unzip


class Pair(NamedTuple):
    first: object
    second: object


def test_leaves_come_in_a_fixed_order():
    a, b, c, d = (np.full(1, float(i)) for i in range(4))
    assert tree_leaves(a) == [a]
    leaves = tree_leaves({"w": [a, (b, c)], "b": d})
    assert [x is y for x, y in zip(leaves, [a, b, c, d], strict=True)] == [True] * 4


def test_tree_map_keeps_the_structure_and_container_types():
    tree = {"w": [np.ones(2), (np.ones(3),)], "state": Pair(np.ones(1), [np.ones(2)])}
    doubled = tree_map(lambda x: 2 * x, tree)
    assert list(doubled) == ["w", "state"]
    assert type(doubled["w"]) is list and type(doubled["w"][1]) is tuple
    assert type(doubled["state"]) is Pair
    assert all(np.all(x == 2) for x in tree_leaves(doubled))


def test_tree_map_over_several_trees():
    a = {"x": np.array([1.0]), "y": [np.array([2.0])]}
    b = {"y": [np.array([20.0])], "x": np.array([10.0])}  # key order follows the first tree
    total = tree_map(lambda p, q: p + q, a, b)
    assert list(total) == ["x", "y"]
    np.testing.assert_array_equal(total["x"], [11.0])
    np.testing.assert_array_equal(total["y"][0], [22.0])


def test_tree_unzip_splits_tuples_at_the_leaves():
    like = [np.zeros(1), {"b": np.zeros(1)}]
    pairs = [(1, "a"), {"b": (2, "b")}]
    firsts, seconds = tree_unzip(pairs, like)
    assert firsts == [1, {"b": 2}]
    assert seconds == ["a", {"b": "b"}]


def test_check_like_accepts_matching_trees_and_tuples_for_lists():
    params = {"w": [np.ones((2, 3)), np.ones(3)], "t": torch.ones(2)}
    check_like({"w": (np.zeros((2, 3)), np.zeros(3)), "t": torch.zeros(2)}, params)


@pytest.mark.parametrize(
    "tree, reference, error, message",
    [
        (np.ones(3), np.ones(4), ValueError, r"grads has shape \(3,\) but the parameters have shape \(4,\)"),
        ([np.ones(3)], {"w": np.ones(3)}, TypeError, r"got a list of length 1 for a dict with keys \['w'\]"),
        ({"w": np.ones(3)}, [np.ones(3)], TypeError, "got a dict with keys"),
        ([np.ones(3)], [np.ones(3), np.ones(2)], TypeError, "a list of length 1 for a list of length 2"),
        ({"v": np.ones(3)}, {"w": np.ones(3)}, TypeError, r"keys \['v'\] for a dict with keys \['w'\]"),
        (torch.ones(3), np.ones(3), TypeError, "grads is a torch tensor but the parameters are a NumPy array"),
        (np.ones(3), torch.ones(3), TypeError, "grads is a NumPy array but the parameters are a torch tensor"),
        ([1.0, 2.0, 3.0], np.ones(3), TypeError, "must be a NumPy array or a torch tensor, got a list"),
        ({"w": [np.ones(2)]}, {"w": [np.ones(3)]}, ValueError, r"grads\['w'\]\[0\] has shape \(2,\)"),
    ],
)
def test_check_like_names_what_differs(tree, reference, error, message):
    with pytest.raises(error, match=message):
        check_like(tree, reference)
