"""nbkeras.ops.image.scale_and_translate: the forward against values recorded once from Keras
3.15 on JAX (jax.image.scale_and_translate) for every kernel (upscaling, downscaling with
and without antialias, translation off the edge), "linear" against an independent float64
loop over output pixels, method aliases, axis orders and layouts, dtypes, symbolic shapes,
errors, and gradients for the images (composed of tensordot: checked on the CPU)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops

from op_checks import assert_matches, check_composed_grads

scale_and_translate = ops.image.scale_and_translate

X = ((np.arange(32) * 7 + 3) % 10).reshape(2, 4, 4, 1).astype("float32")
CASES = {   # output_shape, scale, translation, antialias
    "upscale": ((2, 5, 5, 1), (1.25, 1.25), (0.0, 0.0), True),
    "downscale": ((2, 2, 3, 1), (0.5, 0.75), (0.0, 0.25), True),
    "downscale_aliased": ((2, 2, 3, 1), (0.5, 0.75), (0.0, 0.25), False),
    "translate": ((2, 4, 4, 1), (1.0, 1.0), (0.5, -1.25), True),
}
KERAS_ON_JAX = {   # keras 3.15.1 on JAX, float32: X[..., 0] through CASES, spatial_dims (1, 2)
    ("linear", "upscale"): [
        [[3, 0.8999999, 3.5, 6.1, 4], [1.6, 4.400001, 5.6, 4.7, 2.6], [5, 6.400001, 5.5, 3.1, 1],
         [8.4, 6.3, 3.9, 2.4, 2.4], [7, 4.9, 2.5, 3.1, 8]],
        [[5, 2.9, 5.5, 8.1, 6], [3.6, 1.5, 4.1, 6.7, 4.6], [2, 3.4, 5, 5.1, 3],
         [3.4, 6.2, 5.9, 3.5, 1.4], [9, 6.9, 4.5, 2.1, 0]],
    ],
    ("linear", "downscale"): [
        [[3.160715, 4.519481, 4.071428], [6.803573, 4.753247, 3.071429]],
        [[3.375, 3.662338, 6.071429], [4.875, 5.454546, 2.928571]],
    ],
    ("linear", "downscale_aliased"): [
        [[2, 4.333333, 4.499999], [8, 4.5, 3.000001]],
        [[4, 2.166666, 6.499999], [5, 6.5, 2.499999]],
    ],
    ("linear", "translate"): [
        [[1.75, 6.25, 4, 0], [4.5, 5.25, 3, 0], [6.25, 3.25, 1, 0], [4.25, 2.5, 4, 0]],
        [[3.75, 8.25, 6, 0], [2.75, 7.25, 5, 0], [4.5, 5.25, 3, 0], [6.25, 3.25, 1, 0]],
    ],
    ("cubic", "upscale"): [
        [[3.235069, 0.0876424, 3.343148, 6.77418, 3.956732],
         [0.7789972, 4.534116, 6.294656, 4.84807, 2.574021],
         [4.886417, 7.146571, 6.203125, 2.72431, 0.2181493],
         [9.169364, 6.551899, 3.576225, 2.028123, 2.094394],
         [7.04327, 4.969205, 1.761418, 2.785748, 8.667759]],
        [[5.216346, 2.429728, 5.586538, 8.743348, 5.956732],
         [3.864469, 0.4836766, 3.803018, 7.411411, 4.574021],
         [1.261418, 3.120759, 5.351562, 5.300533, 2.870192],
         [2.890484, 6.89636, 6.64657, 3.189654, 1.166364],
         [9.494684, 7.090644, 4.386418, 1.857718, -0.2163457]],
    ],
    ("cubic", "downscale"): [
        [[2.657492, 4.680865, 4.144368], [7.410157, 4.801899, 2.857453]],
        [[3.102575, 3.357155, 6.500161], [4.928422, 5.900667, 2.53784]],
    ],
    ("cubic", "downscale_aliased"): [
        [[1.437307, 4.32598, 4.723183], [8.647833, 4.228214, 2.861592]],
        [[4.412538, 1.328703, 7.034601], [4.966719, 7.147332, 2.024221]],
    ],
    ("cubic", "translate"): [
        [[0.4472656, 7.152672, 3.985295, 0], [4.579963, 5.66996, 2.911765, 0],
         [7.158203, 2.948473, 0.0551471, 0], [3.908089, 2.125281, 4.32007, 0]],
        [[3.53125, 9.066794, 5.985295, 0], [1.94761, 8.033678, 4.911766, 0],
         [4.661133, 5.473282, 2.735294, 0], [6.914522, 2.912888, 0.5588236, 0]],
    ],
    ("lanczos3", "upscale"): [
        [[3.62262, -0.1932093, 3.180193, 7.03417, 3.76433],
         [0.4569577, 4.00406, 6.794291, 4.79934, 2.909893],
         [4.719469, 7.683401, 7.336734, 2.048163, -0.6025067],
         [9.462554, 6.577559, 2.937273, 2.110419, 2.421823],
         [6.842883, 5.338278, 0.936769, 3.071989, 8.993901]],
        [[5.367848, 2.352, 5.6979, 8.92703, 5.778516],
         [4.469029, 0.1745284, 3.567738, 7.798433, 4.455418],
         [0.4102467, 2.62749, 5.918366, 5.165867, 2.789345],
         [3.004965, 7.056398, 7.370468, 2.716329, 1.123272],
         [9.66533, 7.123839, 4.219468, 1.795673, -0.1998255]],
    ],
    ("lanczos3", "downscale"): [
        [[2.481868, 4.876862, 4.096071], [7.610794, 4.957419, 2.628068]],
        [[2.606216, 3.417861, 6.780315], [4.870779, 6.05684, 2.302519]],
    ],
    ("lanczos3", "downscale_aliased"): [
        [[1.095214, 4.470336, 4.923105], [9.055374, 3.598516, 2.933496]],
        [[5.093804, 0.9612752, 7.501473], [4.900031, 7.631292, 1.636647]],
    ],
    ("lanczos3", "translate"): [
        [[-0.5137279, 7.641185, 3.603949, 0], [4.825787, 5.718659, 3.018186, 0],
         [8.282093, 2.340314, -0.8382777, 0], [3.175506, 2.231878, 4.677299, 0]],
        [[4.074503, 9.285836, 5.70758, 0], [1.569427, 8.38841, 4.559595, 0],
         [5.108519, 5.330627, 2.531778, 0], [7.459794, 2.516397, 0.503962, 0]],
    ],
    ("lanczos5", "upscale"): [
        [[3.81856, -0.219705, 3.134718, 7.075073, 3.521395],
         [0.5028403, 3.789364, 7.013998, 4.636872, 3.290529],
         [4.69902, 7.855755, 8.392536, 1.643164, -1.226021],
         [9.481132, 6.320385, 2.484921, 2.494257, 2.513303],
         [6.65, 5.696588, 0.3382807, 3.235848, 9.110352]],
        [[5.335913, 2.361309, 5.809861, 8.959166, 5.737072],
         [4.906732, 0.3379798, 3.406418, 7.750294, 4.236375],
         [-0.2383975, 2.311734, 6.446268, 4.936527, 2.818632],
         [3.171596, 6.854852, 7.844241, 2.677314, 1.269067],
         [9.817821, 6.95648, 4.082902, 1.927079, -0.3406509]],
    ],
    ("lanczos5", "downscale"): [
        [[2.318044, 4.99439, 4.081803], [7.662722, 5.034071, 2.487409]],
        [[2.376952, 3.430894, 6.934783], [4.716683, 6.158732, 2.178748]],
    ],
    ("lanczos5", "downscale_aliased"): [
        [[1.121178, 4.467593, 4.916308], [9.116675, 3.112833, 3.324987]],
        [[5.686137, 0.8073894, 7.505326], [4.993449, 7.829781, 1.733371]],
    ],
    ("lanczos5", "translate"): [
        [[-1.053938, 7.766459, 2.466553, 0], [4.864412, 5.56541, 3.433772, 0],
         [9.322202, 1.979587, -1.433039, 0], [2.627144, 2.621472, 4.640994, 0]],
        [[4.772874, 9.291737, 5.653537, 0], [1.360966, 8.286729, 4.0656, 0],
         [5.456603, 5.116571, 2.581163, 0], [7.745728, 2.60122, 0.6968213, 0]],
    ],
}


@pytest.mark.parametrize("method, case", sorted(KERAS_ON_JAX))
def test_matches_keras_on_jax(device, method, case):
    output_shape, scale, translation, antialias = CASES[case]
    y = scale_and_translate(X, output_shape, np.array(scale), np.array(translation), (1, 2),
                            method, antialias)
    expected = np.array(KERAS_ON_JAX[method, case])[..., None]
    assert_matches(y, expected, rtol=1e-5, atol=1e-5, dtype="float32")


def _triangle(x):
    return max(0.0, 1.0 - abs(x))


def _linear_reference(x, size_out, scale, translation, antialias):
    """x (N, H, W, C) float64 -> (N, *size_out, C), one output pixel at a time: its centre
    mapped back to the input, the triangle filter (stretched by 1 / scale when downscaling
    with antialias) over every input pixel, normalised by the weights' total; 0 where the
    centre leaves the input."""
    n, height, width, channels = x.shape
    y = np.zeros((n, *size_out, channels))
    stretch = [max(1.0 / s, 1.0) if antialias else 1.0 for s in scale]
    for i in range(size_out[0]):
        for j in range(size_out[1]):
            row = (i + 0.5 - translation[0]) / scale[0] - 0.5
            col = (j + 0.5 - translation[1]) / scale[1] - 0.5
            if not (-0.5 <= row <= height - 0.5 and -0.5 <= col <= width - 0.5):
                continue
            total, acc = 0.0, np.zeros((n, channels))
            for a in range(height):
                for b in range(width):
                    w = (_triangle((row - a) / stretch[0])
                         * _triangle((col - b) / stretch[1]))
                    total += w
                    acc += w * x[:, a, b, :]
            y[:, i, j, :] = acc / total
    return y


scales = st.sampled_from([0.35, 0.6, 1.0, 1.45, 2.3])
translations = st.integers(-6, 6).map(lambda k: k / 4 + 0.01)


@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 4), st.integers(1, 4),
                       st.integers(1, 2)),
       size_out=st.tuples(st.integers(1, 5), st.integers(1, 5)),
       scale=st.tuples(scales, scales), translation=st.tuples(translations, translations),
       antialias=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_linear_against_reference(device, shape, size_out, scale, translation, antialias,
                                  seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    output_shape = (shape[0], *size_out, shape[3])

    def fn(images):
        return scale_and_translate(images, output_shape, scale, translation, (1, 2), "linear",
                                   antialias)
    assert_matches(fn(x), _linear_reference(x, size_out, scale, translation, antialias))
    check_composed_grads(fn, [x])


@given(method=st.sampled_from(["cubic", "lanczos3", "lanczos5"]),
       size_out=st.tuples(st.integers(1, 5), st.integers(1, 5)),
       scale=st.tuples(scales, scales), translation=st.tuples(translations, translations),
       antialias=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_gradients_for_the_images(device, method, size_out, scale, translation, antialias,
                                  seed):
    x = np.random.default_rng(seed).standard_normal((1, 3, 4, 2))
    check_composed_grads(lambda images: scale_and_translate(
        images, (1, *size_out, 2), scale, translation, (1, 2), method, antialias), [x])


@pytest.mark.parametrize("alias, method", [("bilinear", "linear"), ("trilinear", "linear"),
                                           ("bicubic", "cubic"), ("tricubic", "cubic")])
def test_method_aliases(alias, method):
    output_shape, scale, translation, antialias = CASES["downscale"]
    expected = scale_and_translate(X, output_shape, scale, translation, (1, 2), method)
    y = scale_and_translate(X, output_shape, scale, translation, (1, 2), alias)
    np.testing.assert_array_equal(np.asarray(y), np.asarray(expected))


def test_axis_order_layouts_and_ranks(device):
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 3))
    scale, translation = (0.75, 1.5), (0.25, -0.5)
    expected = np.asarray(scale_and_translate(x, (2, 3, 5, 3), scale, translation, (1, 2),
                                              "cubic"))
    reversed_axes = scale_and_translate(x, (2, 3, 5, 3), scale[::-1], translation[::-1],
                                        (-2, 1), "cubic")
    assert_matches(reversed_axes, expected)
    channels_first = scale_and_translate(np.transpose(x, (0, 3, 1, 2)), (2, 3, 3, 5), scale,
                                         translation, (2, 3), "cubic")
    assert_matches(channels_first, np.transpose(expected, (0, 3, 1, 2)))
    single = scale_and_translate(x[1], (3, 5, 3), scale, translation, (0, 1), "cubic")
    assert_matches(single, expected[1])
    assert_matches(scale_and_translate(x, x.shape, [], [], (), "linear"), x)
    one_axis = scale_and_translate(x, (2, 3, 3, 3), [0.75], [0.25], [1], "cubic")
    both = scale_and_translate(one_axis, (2, 3, 5, 3), [1.5], [-0.5], [2], "cubic")
    assert_matches(both, expected)


def test_docstring_example():
    images = np.arange(9, dtype="float32").reshape((3, 3))
    scale = np.array([2.0, 2.0]).astype("float32")
    y = scale_and_translate(images, (5, 5), scale, -(scale / 2.0 - 0.5), (0, 1), "linear")
    expected = np.arange(5)[None, :] * 0.5 + np.arange(5)[:, None] * 1.5
    assert_matches(y, expected, dtype="float32")


@pytest.mark.parametrize("dtype, expected", [("float64", "float64"), ("float32", "float32"),
                                             ("float16", "float16"), ("int32", "float32"),
                                             ("uint8", "float32"), ("bool", "float32")])
def test_dtypes(dtype, expected):
    x = (np.arange(24).reshape(1, 3, 4, 2) % 2).astype(dtype)
    y = scale_and_translate(x, (1, 5, 2, 2), (1.5, 0.5), (0.0, 0.0), (1, 2), "linear")
    assert y.dtype == expected
    reference = scale_and_translate(x.astype("float64"), (1, 5, 2, 2), (1.5, 0.5), (0.0, 0.0),
                                    (1, 2), "linear")
    np.testing.assert_allclose(np.asarray(y, np.float64), np.asarray(reference), atol=2e-3)


def test_symbolic_shape_equals_eager():
    x = np.random.default_rng(1).standard_normal((2, 4, 3, 1)).astype("float32")
    eager = scale_and_translate(x, (2, 6, 2, 1), (1.5, 0.5), (0.0, 0.25), (1, 2), "lanczos3")
    symbolic = scale_and_translate(nk.KerasTensor((None, 4, 3, 1), "float32"),
                                   (None, 6, 2, 1), (1.5, 0.5), (0.0, 0.25), (1, 2), "lanczos3")
    assert isinstance(symbolic, nk.KerasTensor)
    assert symbolic.shape == (None, *eager.shape[1:]) and symbolic.dtype == eager.dtype
    integer = scale_and_translate(nk.KerasTensor((2, 4, 3, 1), "int32"), (2, 6, 2, 1),
                                  (1.5, 0.5), (0.0, 0.25), (1, 2), "linear")
    assert integer.shape == (2, 6, 2, 1) and integer.dtype == "float32"


@pytest.mark.parametrize("change, match", [
    ({"method": "nearest"}, "method must be one of"),
    ({"method": "triangle"}, "method must be one of"),   # in Keras's docstring, not its list
    ({"output_shape": (2, 5, 6)}, "one size per axis"),
    ({"output_shape": (3, 5, 6, 1)}, "may only change spatial_dims"),
    ({"spatial_dims": (1, 1)}, "distinct axes"),
    ({"spatial_dims": (1, 4)}, "distinct axes"),
    ({"scale": (1.5,)}, "scale needs 2 finite values"),
    ({"translation": (0.0, np.inf)}, "translation needs 2 finite values"),
    ({"scale": (0.0, 1.0)}, "scale must be nonzero"),
    ({"scale": nk.KerasTensor((2,), "float32")}, "needs values, not the symbolic"),
    ({"images": nk.KerasTensor((2, None, 4, 1), "float32")}, "known input sizes"),
])
def test_errors(change, match):
    arguments = dict(images=X, output_shape=(2, 5, 6, 1), scale=(1.5, 1.5),
                     translation=(0.0, 0.0), spatial_dims=(1, 2), method="linear")
    arguments.update(change)
    with pytest.raises(ValueError, match=f"scale_and_translate: .*{match}"):
        scale_and_translate(**arguments)
