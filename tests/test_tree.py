"""nbkeras.tree against keras.tree (Keras 3.15, optree) on nested lists, tuples, dicts,
OrderedDicts, namedtuples and deques; and the insertion-ordered helpers nbkeras's graph uses."""
from __future__ import annotations

import collections

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import tree

Point = collections.namedtuple("Point", "x y")
fast = settings(deadline=None, max_examples=60)

leaves = st.one_of(st.integers(-5, 5), st.none(), st.text("abc", max_size=2))
keys = st.text("abcdef", min_size=1, max_size=2)
structures = st.recursive(leaves, lambda children: st.one_of(
    st.lists(children, max_size=3),
    st.lists(children, max_size=3).map(tuple),
    st.dictionaries(keys, children, max_size=3),
    st.dictionaries(keys, children, max_size=3).map(collections.OrderedDict),
    st.tuples(children, children).map(lambda t: Point(*t)),
    st.lists(children, max_size=3).map(collections.deque),
), max_leaves=10)


def keras_tree():
    return pytest.importorskip("keras").tree


def same(a, b) -> bool:
    """Equal values with equal types and dict key orders (repr shows both)."""
    return repr(a) == repr(b)


def tag(x):
    return ("leaf", x)


@fast
@given(structures)
def test_matches_keras_on_one_structure(s):
    kt = keras_tree()
    assert same(tree.flatten(s), kt.flatten(s))
    assert same(tree.flatten_with_path(s), kt.flatten_with_path(s))
    assert tree.is_nested(s) == kt.is_nested(s)
    assert same(tree.map_structure(tag, s), kt.map_structure(tag, s))
    assert same(tree.map_structure(tag, s, none_is_leaf=False),
                kt.map_structure(tag, s, none_is_leaf=False))
    flat = list(range(len(kt.flatten(s))))
    assert same(tree.pack_sequence_as(s, flat), kt.pack_sequence_as(s, flat))
    assert same(tree.lists_to_tuples(s), kt.lists_to_tuples(s))
    assert same(tree.map_shape_structure(tag, s), kt.map_shape_structure(tag, s))
    tree.assert_same_structure(s, tree.map_structure(lambda x: "leaf", s))
    tree.assert_same_paths(s, s)
    for top_down in (True, False):
        ours, theirs = [], []
        assert same(tree.traverse(lambda x: ours.append(x), s, top_down=top_down),
                    kt.traverse(lambda x: theirs.append(x), s, top_down=top_down))
        assert same(ours, theirs)


def _outcome(fn):
    try:
        return repr(fn())
    except (ValueError, TypeError) as error:
        return type(error).__name__


@fast
@given(structures, structures)
def test_two_structures_agree_with_keras(a, b):
    """Same results, or both raise the same error type."""
    kt = keras_tree()
    for name in ("map_structure", "assert_same_structure"):
        ours = _outcome(lambda: getattr(tree, name)(*(
            [lambda x, y: (x, y)] if name == "map_structure" else []), a, b))
        theirs = _outcome(lambda: getattr(kt, name)(*(
            [lambda x, y: (x, y)] if name == "map_structure" else []), a, b))
        assert ours == theirs, name
    assert _outcome(lambda: tree.assert_same_paths(a, b)) == \
        _outcome(lambda: kt.assert_same_paths(a, b))


def test_dicts_sorted_ordered_dicts_not():
    s = {"b": [1, (2, 3)], "a": None, "c": {"z": 4, "y": 5}}
    assert tree.flatten(s) == [None, 1, 2, 3, 5, 4]
    assert tree.pack_sequence_as(s, range(6)) == {"b": [1, (2, 3)], "a": 0,
                                                  "c": {"z": 5, "y": 4}}
    assert list(tree.pack_sequence_as(s, range(6))) == ["b", "a", "c"]   # original key order
    assert tree.flatten(collections.OrderedDict([("b", 1), ("a", 2)])) == [1, 2]
    assert tree.flatten({"b": 1, 2: 3}) == [3, 1]          # mixed key types: by type name
    d = collections.defaultdict(list, {"b": 1, "a": 2})
    assert tree.flatten(d) == [2, 1]
    mapped = tree.map_structure(lambda x: x * 10, d)
    assert type(mapped) is collections.defaultdict and mapped.default_factory is list


def test_leaves_and_nodes_as_keras():
    class MyList(list):
        pass

    class MyDict(dict):
        pass

    assert tree.flatten(MyList([1, 2])) == [MyList([1, 2])]     # subclasses are leaves
    assert tree.flatten(MyDict(a=1)) == [{"a": 1}]
    assert tree.flatten("ab") == ["ab"] and tree.flatten(1) == [1] and tree.flatten([]) == []
    assert tree.flatten(None) == [None] and not tree.is_nested(None)
    assert tree.is_nested(Point(1, 2)) and tree.is_nested(()) and not tree.is_nested("ab")
    assert tree.map_structure(lambda x: x * 2, Point(1, 2)) == Point(2, 4)
    q = tree.map_structure(lambda x: x + 1, collections.deque([1, 2], maxlen=3))
    assert q == collections.deque([2, 3]) and q.maxlen == 3
    assert tree.flatten_with_path(Point(1, {"a": [2]})) == [((0,), 1), ((1, "a", 0), 2)]
    assert tree.map_structure(lambda a, b: a + b, [1, 2], [3, 4]) == [4, 6]
    assert tree.map_structure(lambda x: x, [None, 1], none_is_leaf=False) == [None, 1]
    assert tree.map_shape_structure(len, {"x": (None, 3), "y": [[1, 2], (3,)], "z": ()}) == \
        {"x": 2, "y": [2, 1], "z": 0}
    assert tree.lists_to_tuples({"a": [1, [2]], "b": (3, [4])}) == {"a": (1, (2,)),
                                                                     "b": (3, (4,))}
    assert tree.pack_sequence_as(1, [5]) == 5 and tree.pack_sequence_as(None, (5,)) == 5


def test_traverse_as_keras_docs():
    seen = []
    out = tree.traverse(seen.append, [(1, 2), [3], {"a": 4}], top_down=True)
    assert out == [(1, 2), [3], {"a": 4}]
    assert seen == [[(1, 2), [3], {"a": 4}], (1, 2), 1, 2, [3], 3, {"a": 4}, 4]
    seen = []
    tree.traverse(seen.append, [(1, 2), [3], {"a": 4}], top_down=False)
    assert seen == [1, 2, (1, 2), 3, [3], 4, {"a": 4}, [(1, 2), [3], {"a": 4}]]
    assert tree.traverse(lambda x: tree.MAP_TO_NONE if x == 2 else None, [1, [2]]) == [1, [None]]
    assert tree.traverse(lambda x: "X" if x == [2] else None, [1, [2]]) == [1, "X"]
    assert tree.traverse(lambda x: 9 if isinstance(x, int) else None, [1, [2]],
                         top_down=False) == [9, [9]]


def test_map_structure_up_to():
    structure = [[1, 1], [2, 2]]
    assert tree.map_structure_up_to([None, [None, None]], str, structure) == ["[1, 1]",
                                                                               ["2", "2"]]
    # Keras's documented result (Keras 3.15's optree version raises on None shallow leaves)
    assert tree.map_structure_up_to([None, None], len, structure) == [2, 2]
    assert tree.map_structure_up_to({"a": 0, "b": 0}, lambda x, y: x + y,
                                    {"b": 1, "a": 2}, {"a": 10, "b": 20}) == {"a": 12, "b": 21}
    with pytest.raises(ValueError, match="same nested structure"):
        tree.map_structure_up_to([None, [None, None]], str, [[1, 1], 2])
    with pytest.raises(ValueError, match="at least one structure"):
        tree.map_structure_up_to([None], str)
    with pytest.raises(TypeError, match="callable"):
        tree.map_structure_up_to([None], 3, [1])


def test_map_structure_up_to_matches_keras_on_non_none_shallow():
    kt = keras_tree()
    shallow, structure = [0, [0, 0]], [[1, 1], [2, (3, 4)]]
    assert same(tree.map_structure_up_to(shallow, str, structure),
                kt.map_structure_up_to(shallow, str, structure))


def test_errors_are_named():
    with pytest.raises(ValueError, match="expected an instance of list, got \\(1, 2\\)"):
        tree.map_structure(lambda a, b: a, [1, 2], (1, 2))
    with pytest.raises(ValueError, match="arity mismatch"):
        tree.map_structure(lambda a, b: a, [1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="dictionary keys"):
        tree.map_structure(lambda a, b: a, {"a": 1}, {"b": 1})
    with pytest.raises(ValueError, match="namedtuple type mismatch"):
        tree.assert_same_structure(Point(1, 2), collections.namedtuple("Point", "x y")(1, 2))
    with pytest.raises(ValueError, match="same nested structure"):
        tree.assert_same_structure([1, None], [1, [2]])
    with pytest.raises(ValueError, match="expected None, got 3"):
        tree.map_structure(lambda a, b: a, [None], [3], none_is_leaf=False)
    with pytest.raises(ValueError, match="at least one structure"):
        tree.map_structure(lambda x: x)
    with pytest.raises(TypeError, match="callable"):
        tree.map_structure(3, [1])
    with pytest.raises(TypeError, match="callable"):
        tree.traverse(3, [1])
    with pytest.raises(ValueError, match="has 2 leaves; received a flat_sequence of 3"):
        tree.pack_sequence_as([1, [2]], [5, 6, 7])
    with pytest.raises(TypeError, match="must be a sequence"):
        tree.pack_sequence_as([1, [2]], 5)
    with pytest.raises(ValueError, match=r"Paths in `b` missing in `a`"):
        tree.assert_same_paths([1, 2], (3, 4, 5))
    tree.assert_same_paths([1, 2], (3, 4))
    tree.assert_same_structure({"a": 1}, collections.OrderedDict(a=2))


def test_public_names_are_keras():
    kt = keras_tree()
    assert {n for n in dir(kt) if not n.startswith("_")} == set(tree.__all__)
    assert nk.tree is tree


def test_graph_helpers_keep_insertion_order():
    s = {"b": [1, (2, 3)], "a": None}
    assert tree.leaves(s) == [1, 2, 3, None]
    assert tree.map_leaves(lambda x: x, s) == s and list(tree.map_leaves(str, s)) == ["b", "a"]
    assert tree.pack_like(s, [4, 5, 6, 7]) == {"b": [4, (5, 6)], "a": 7}
