"""nk.saving's object registration, as keras.saving's: register_keras_serializable,
get_registered_name/object, custom_object_scope (nesting, threads) and get_custom_objects; the
same calls on Keras give the same answers."""
import threading

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers
from nbkeras.saving import object_registration


@pytest.fixture(autouse=True)
def clean_registry():
    """Each test registers into a registry restored afterwards."""
    objects = dict(object_registration.GLOBAL_CUSTOM_OBJECTS)
    names = dict(object_registration.GLOBAL_CUSTOM_NAMES)
    yield
    object_registration.GLOBAL_CUSTOM_OBJECTS.clear()
    object_registration.GLOBAL_CUSTOM_OBJECTS.update(objects)
    object_registration.GLOBAL_CUSTOM_NAMES.clear()
    object_registration.GLOBAL_CUSTOM_NAMES.update(names)


def _registrations(saving, layer_base):
    """Register a class and a function through `saving` (nk.saving or keras.saving); return
    what the lookups answer."""

    @saving.register_keras_serializable("pkg")
    class Twice(layer_base):
        def call(self, x):
            return 2 * x

    @saving.register_keras_serializable(name="renamed")
    def cube(x):
        return x ** 3

    def unregistered(x):
        return x

    return {"class": saving.get_registered_name(Twice),
            "function": saving.get_registered_name(cube),
            "plain": saving.get_registered_name(unregistered),
            "found": saving.get_registered_object("pkg>Twice") is Twice,
            "found_fn": saving.get_registered_object("Custom>renamed") is cube,
            "missing": saving.get_registered_object("pkg>Nope"),
            "live": saving.get_custom_objects()["pkg>Twice"] is Twice}


def test_registration_answers_as_keras():
    keras = pytest.importorskip("keras")
    ours = _registrations(nk.saving, layers.Layer)
    assert ours == {"class": "pkg>Twice", "function": "Custom>renamed", "plain": "unregistered",
                    "found": True, "found_fn": True, "missing": None, "live": True}
    theirs = _registrations(keras.saving, keras.layers.Layer)
    for name in ("pkg>Twice", "Custom>renamed"):
        keras.saving.get_custom_objects().pop(name)
    assert ours == theirs


def test_a_class_without_get_config_cannot_be_registered():
    with pytest.raises(ValueError, match="Cannot register a class that does not have a "
                                         r"get_config\(\) method"):
        nk.saving.register_keras_serializable()(type("Plain", (), {}))


def test_lookup_order_scope_registry_custom_module():
    """Keras's order: the active scope, the registry, custom_objects, module_objects."""
    rng = np.random.default_rng(0)
    a, b, c, d = (object() for _ in range(4))
    names = [str(v) for v in rng.integers(0, 10**6, 2)]
    nk.saving.get_custom_objects()[names[0]] = b
    lookup = nk.saving.get_registered_object
    assert lookup(names[0], {names[0]: c}, {names[0]: d}) is b
    assert lookup(names[1], {names[1]: c}, {names[1]: d}) is c
    assert lookup(names[1], None, {names[1]: d}) is d
    with nk.saving.custom_object_scope({names[0]: a}):
        assert lookup(names[0], {names[0]: c}) is a
    assert lookup(names[0]) is b


def test_scopes_nest_replace_and_restore():
    a, b = object(), object()
    assert nk.saving.custom_object_scope is nk.saving.CustomObjectScope
    assert nk.utils.CustomObjectScope is nk.saving.CustomObjectScope
    with nk.utils.custom_object_scope({"a": a}) as outer:
        assert isinstance(outer, nk.saving.CustomObjectScope)
        with nk.saving.CustomObjectScope({"b": b}):
            # as Keras, the inner scope replaces the outer one
            assert nk.saving.get_registered_object("b") is b
            assert nk.saving.get_registered_object("a") is None
        assert nk.saving.get_registered_object("a") is a
        assert nk.saving.get_registered_object("b") is None
        assert "a" not in nk.saving.get_custom_objects()
    assert nk.saving.get_registered_object("a") is None


def test_a_scope_belongs_to_its_thread():
    seen = []
    with nk.saving.custom_object_scope({"mine": 1}):
        thread = threading.Thread(target=lambda: seen.append(
            nk.saving.get_registered_object("mine")))
        thread.start()
        thread.join()
    assert seen == [None]


class Scale(layers.Layer):
    """A Keras-style custom layer: y = factor * x."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor


@pytest.mark.parametrize("how", ["register", "scope", "custom_objects"])
def test_custom_layer_loads_by_registry_scope_or_custom_objects(how):
    rng = np.random.default_rng(1)
    factor = float(rng.uniform(0.5, 3.0))
    inp = nk.Input((3,))
    model = nk.Model(inp, Scale(factor, name="scale")(layers.Dense(2)(inp)))
    if how == "register":
        nk.saving.register_keras_serializable("tests")(Scale)
    config = nk.saving.serialize_keras_object(model)
    entry = config["config"]["layers"][2]
    assert entry["class_name"] == "Scale"
    assert entry["registered_name"] == ("tests>Scale" if how == "register" else "Scale")
    assert entry["module"] == Scale.__module__
    with pytest.raises(ValueError, match="Scale.*safe mode.*register_keras_serializable"
                                         ".*custom_objects.*safe_mode=False"):
        nk.saving.deserialize_keras_object(
            {**config, "config": {**config["config"], "layers": [
                config["config"]["layers"][0], config["config"]["layers"][1],
                {**entry, "registered_name": "elsewhere>Scale"}]}})
    if how == "register":
        clone = nk.saving.deserialize_keras_object(config)
    elif how == "scope":
        with nk.saving.custom_object_scope({"Scale": Scale}):
            clone = nk.saving.deserialize_keras_object(config)
    else:
        clone = nk.saving.deserialize_keras_object(config, custom_objects={"Scale": Scale})
    assert type(clone.get_layer("scale")) is Scale
    assert clone.get_layer("scale").factor == factor
    assert nk.saving.serialize_keras_object(clone) == config


@pytest.mark.parametrize("how", ["register", "scope", "custom_objects"])
def test_namespace_lookups_find_custom_objects(how):
    """initializers/regularizers/constraints/losses/metrics/optimizers/activations get and
    deserialize find objects registered, in a custom_object_scope or in custom_objects."""

    class Halves(nk.initializers.Initializer):
        def __call__(self, shape, dtype=None):
            return np.full(shape, 0.5, dtype=dtype or "float32")

        def get_config(self):
            return {}

    class Squared(nk.losses.Loss):
        def call(self, y_true, y_pred):
            return nk.ops.mean((y_pred - y_true) ** 2, axis=-1)

    class Quick(nk.optimizers.SGD):
        pass

    def doubled(x):
        return 2 * x

    objects = {"Halves": Halves, "Squared": Squared, "Quick": Quick, "doubled": doubled}
    if how == "register":
        for obj in objects.values():
            nk.saving.register_keras_serializable("t")(obj)
        objects = {f"t>{key}": obj for key, obj in objects.items()}

    def lookups(custom_objects=None):
        key = {name.split(">")[-1]: name for name in objects}
        assert type(nk.initializers.deserialize(
            {"class_name": key["Halves"], "config": {}}, custom_objects)) is Halves
        assert type(nk.losses.deserialize(
            {"class_name": key["Squared"], "config": {}}, custom_objects)) is Squared
        assert type(nk.optimizers.deserialize(
            {"class_name": key["Quick"], "config": {}}, custom_objects)) is Quick
        assert nk.activations.deserialize(key["doubled"], custom_objects) is doubled
        if custom_objects is None:
            assert type(nk.initializers.get(key["Halves"])) is Halves
            assert type(nk.losses.get(key["Squared"])) is Squared
            assert type(nk.optimizers.get(key["Quick"])) is Quick
            assert nk.metrics.get(key["doubled"]).name == "doubled"
            dense = layers.Dense(2, kernel_initializer=key["Halves"], activation=key["doubled"])
            np.testing.assert_allclose(np.asarray(dense(np.ones((1, 3)))), 3.0)

    if how == "scope":
        with nk.saving.custom_object_scope(objects):
            lookups()
    elif how == "custom_objects":
        lookups(objects)
    else:
        lookups()
    with pytest.raises(ValueError, match="Unknown loss: 'Squared'"):
        nk.losses.deserialize({"class_name": "Squared", "config": {}})
