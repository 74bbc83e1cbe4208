"""nk.visualization as keras.visualization: boxes and masks drawn into numpy images (against
numpy references of the drawn pixels and Keras's outputs) and the matplotlib galleries (the
arrays each axis shows, titles, legends, files)."""
import numpy as np
import pytest

import nbkeras as nk
from nbkeras import visualization

cv2 = pytest.importorskip("cv2")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def outline_reference(image, box, color):
    """A 1-pixel rectangle outline through the corners (x1, y1), (x2, y2) (truncated to
    integers), clipped to the image: what cv2.rectangle(thickness=1) draws."""
    out = image.copy()
    height, width = out.shape[:2]
    x1, y1, x2, y2 = (int(v) for v in np.asarray(box, np.float32).astype(np.int32))
    xs, ys = range(min(x1, x2), max(x1, x2) + 1), range(min(y1, y2), max(y1, y2) + 1)
    points = ([(x, y) for x in xs for y in (y1, y2)] + [(x, y) for y in ys for x in (x1, x2)])
    for x, y in points:
        if 0 <= x < width and 0 <= y < height:
            out[y, x] = np.asarray(color)[:out.shape[2]]
    return out


def from_xyxy(boxes, fmt, height, width):
    """Boxes given as pixel corners, written in `fmt` (the inverse of Keras's conversion)."""
    x1, y1, x2, y2 = np.moveaxis(boxes, -1, 0)
    w, h, cx, cy = x2 - x1, y2 - y1, (x1 + x2) / 2, (y1 + y2) / 2
    rel = fmt.startswith("rel_")
    if rel:
        x1, x2, cx, w = x1 / width, x2 / width, cx / width, w / width
        y1, y2, cy, h = y1 / height, y2 / height, cy / height, h / height
    columns = {"xyxy": (x1, y1, x2, y2), "yxyx": (y1, x1, y2, x2), "xywh": (x1, y1, w, h),
               "center_xywh": (cx, cy, w, h), "center_yxhw": (cy, cx, h, w)}
    return np.stack(columns[fmt.removeprefix("rel_")], axis=-1)


@pytest.mark.parametrize("fmt", ["xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw",
                                 "rel_xyxy", "rel_yxyx", "rel_xywh", "rel_center_xywh"])
def test_box_outlines_match_the_reference_in_every_format(fmt):
    rng = np.random.default_rng(len(fmt))
    images = rng.integers(0, 256, size=(2, 20, 24, 3)).astype(np.uint8)
    corners = np.sort(rng.integers(-3, 27, size=(2, 3, 2, 2)), axis=2).astype(np.float64)
    corners = corners.transpose(0, 1, 3, 2).reshape(2, 3, 4)[..., [0, 2, 1, 3]] + 0.25
    labels = np.array([[0, -1, 2], [1, 1, -1]])
    drawn = visualization.draw_bounding_boxes(
        images, {"boxes": from_xyxy(corners, fmt, 20, 24), "labels": labels}, fmt,
        color=(255, 0, 40), line_thickness=1)
    assert drawn.dtype == np.uint8 and drawn.shape == images.shape
    for i in range(2):
        expected = images[i]
        for j in range(3):
            if labels[i, j] != -1:
                expected = outline_reference(expected, corners[i, j], (255, 0, 40))
        np.testing.assert_array_equal(drawn[i], expected)


def test_float_images_are_converted_as_keras_and_inputs_untouched():
    rng = np.random.default_rng(1)
    unit = rng.uniform(-0.2, 1.0, size=(1, 6, 6, 1))
    wide = rng.uniform(-20, 300, size=(1, 6, 6, 1))
    no_boxes = {"boxes": np.zeros((1, 0, 4)), "labels": np.zeros((1, 0))}
    np.testing.assert_array_equal(
        visualization.draw_bounding_boxes(unit, no_boxes, "xyxy"),
        (np.clip(unit, 0, 1) * 255).astype(np.uint8))
    np.testing.assert_array_equal(
        visualization.draw_bounding_boxes(wide, no_boxes, "xyxy"),
        np.clip(wide, 0, 255).astype(np.uint8))
    gray = np.zeros((1, 6, 6, 1), np.uint8)
    drawn = visualization.draw_bounding_boxes(
        gray, {"boxes": [[[1, 1, 4, 4]]], "labels": [[3]]}, "xyxy", color=(200, 9, 9),
        line_thickness=1)
    np.testing.assert_array_equal(drawn[0], outline_reference(gray[0], [1, 1, 4, 4], (200,)))
    assert gray.max() == 0


def test_channels_first_images_keep_their_layout():
    images = np.zeros((1, 3, 8, 10), np.uint8)
    drawn = visualization.draw_bounding_boxes(
        images, {"boxes": [[[0.1, 0.25, 0.5, 0.75]]], "labels": [[0]]}, "rel_xyxy",
        color=(10, 20, 30), line_thickness=1, data_format="channels_first")
    assert drawn.shape == (1, 3, 8, 10)
    expected = outline_reference(np.zeros((8, 10, 3), np.uint8), [1, 2, 5, 6], (10, 20, 30))
    np.testing.assert_array_equal(drawn[0].transpose(1, 2, 0), expected)


def test_bounding_box_errors():
    boxes = {"boxes": np.zeros((1, 1, 4)), "labels": np.zeros((1, 1))}
    with pytest.raises(ValueError, match="batched 4D.*images.shape=\\(6, 6, 3\\)"):
        visualization.draw_bounding_boxes(np.zeros((6, 6, 3)), boxes, "xyxy")
    with pytest.raises(TypeError, match="should be a dict"):
        visualization.draw_bounding_boxes(np.zeros((1, 6, 6, 3)), [np.zeros(4)], "xyxy")
    with pytest.raises(ValueError, match="'boxes' and 'labels'"):
        visualization.draw_bounding_boxes(np.zeros((1, 6, 6, 3)), {"boxes": []}, "xyxy")
    with pytest.raises(ValueError, match="Invalid bounding_box_format 'xxyy'"):
        visualization.draw_bounding_boxes(np.zeros((1, 6, 6, 3)), boxes, "xxyy")
    with pytest.raises(ValueError, match="last dimension of 4"):
        visualization.draw_bounding_boxes(np.zeros((1, 6, 6, 3)),
                                          {"boxes": np.zeros((1, 1, 3)), "labels": [[0]]},
                                          "xyxy")


def segmentation_reference(images, masks, colors, alpha, blend, ignore_index):
    """Pixel by pixel: class k < len(colors) painted colors[k], blended with alpha where the
    mask is not ignore_index, truncated to uint8."""
    images = images.astype(np.float32)
    out = images.copy()
    for index in np.ndindex(masks.shape):
        k = masks[index]
        painted = (np.asarray(colors[k], np.float32) if 0 <= k < len(colors)
                   else images[index])
        if not blend:
            out[index] = painted
        elif k != ignore_index:
            out[index] = images[index] * np.float32(1 - alpha) + painted * np.float32(alpha)
    return out if not blend else out.astype(np.uint8)


@pytest.mark.parametrize("blend", [True, False])
def test_segmentation_masks_match_the_reference(blend):
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(2, 5, 7, 3)).astype(np.uint8)
    masks = rng.integers(-1, 5, size=(2, 5, 7))
    palette = [((k * np.array([2 ** 25 - 1, 2 ** 15 - 1, 2 ** 21 - 1])) % 255).tolist()
               for k in range(4)]
    drawn = visualization.draw_segmentation_masks(images, masks[..., None], num_classes=4,
                                                  alpha=0.6, blend=blend)
    expected = segmentation_reference(images, masks, palette, 0.6, blend, -1)
    np.testing.assert_allclose(drawn, expected, atol=1 if blend else 1e-6)
    assert drawn.dtype == (np.uint8 if blend else np.float32)
    colors = {0: (1, 2, 3), 1: (250, 0, 0), 2: (0, 250, 0)}
    drawn = visualization.draw_segmentation_masks(images, masks, color_mapping=colors,
                                                  num_classes=3, ignore_index=1, blend=blend)
    expected = segmentation_reference(images, masks, colors, 0.8, blend, 1)
    np.testing.assert_allclose(drawn, expected, atol=1 if blend else 1e-6)


def test_segmentation_num_classes_defaults_to_the_largest_id_and_errors():
    images = np.full((1, 2, 2, 3), 100, np.uint8)
    masks = np.array([[[1, 2], [0, 2]]])
    drawn = visualization.draw_segmentation_masks(images, masks, blend=False)
    np.testing.assert_array_equal(drawn[0, 0, 1], [100, 100, 100])    # id 2 = num_classes
    np.testing.assert_array_equal(drawn[0, 1, 0], [0, 0, 0])          # the palette's class 0
    with pytest.raises(TypeError, match="integer dtype.*float64"):
        visualization.draw_segmentation_masks(images, masks.astype(float))
    with pytest.raises(ValueError, match="segmentation_masks.shape=\\(1, 3, 2\\)"):
        visualization.draw_segmentation_masks(images, np.zeros((1, 3, 2), int))
    with pytest.raises(ValueError, match="batched 4D"):
        visualization.draw_segmentation_masks(images[0], masks)


@pytest.fixture
def figures(monkeypatch):
    """The figures the galleries make, kept open (they close them after saving/showing)."""
    close = plt.close
    close("all")
    monkeypatch.setattr(plt, "close", lambda *args: None)
    monkeypatch.setattr(plt, "show", lambda *args: None)
    yield lambda: [plt.figure(n) for n in plt.get_fignums()]
    close("all")


def shown(figure):
    """The arrays and titles the figure's axes show, in grid order."""
    axes = [ax for ax in figure.axes if ax.images]
    return [np.asarray(ax.images[0].get_array()) for ax in axes], [ax.get_title() for ax in axes]


def test_image_gallery_grid_values_and_titles(figures):
    rng = np.random.default_rng(3)
    images = rng.uniform(0, 1, size=(5, 4, 4, 3)).astype(np.float32)
    visualization.plot_image_gallery(images, y_true=[0, 1, 2, 0, 1], y_pred=[1, 1, 0, 2, 1],
                                     label_map={0: "cat", 1: "dog"}, value_range=(0, 1))
    (figure,) = figures()
    arrays, titles = shown(figure)
    assert len(arrays) == 3            # Keras: rows = ceil(sqrt(5)) = 3, cols = 5 // 3 = 1
    for i, array in enumerate(arrays):
        np.testing.assert_array_equal(array, (images[i] * np.float32(255)).astype(np.uint8))
    assert titles == ["Label: cat  Pred: dog", "Label: dog  Pred: dog",
                      "Label: Unknown  Pred: cat"]


def test_image_gallery_saves_to_a_path_and_checks_arguments(tmp_path):
    path = tmp_path / "gallery.png"
    visualization.plot_image_gallery(np.zeros((4, 3, 3, 3), np.uint8), rows=2, cols=2,
                                     path=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="either `path` to be set, or `show`"):
        visualization.plot_image_gallery(np.zeros((1, 3, 3, 3)), path=str(path), show=True)
    with pytest.raises(ValueError, match="a `label_map` must also be provided"):
        visualization.plot_image_gallery(np.zeros((1, 3, 3, 3)), y_true=[0])


def test_bounding_box_gallery_draws_truth_then_predictions(figures):
    images = np.zeros((2, 12, 12, 3), np.uint8)
    truth = {"boxes": np.array([[[1, 1, 6, 6]], [[2, 2, 9, 9]]], float), "labels": [[0], [0]]}
    predicted = {"boxes": np.array([[[3, 3, 10, 10]], [[0, 0, 4, 4]]], float),
                 "labels": [[1], [1]]}
    visualization.plot_bounding_box_gallery(images, "xyxy", y_true=truth, y_pred=predicted,
                                            line_thickness=1, legend=True, rows=1, cols=2)
    (figure,) = figures()
    arrays, _ = shown(figure)
    for i in range(2):
        expected = outline_reference(images[i], truth["boxes"][i, 0], (0, 188, 212))
        expected = outline_reference(expected, predicted["boxes"][i, 0], (255, 235, 59))
        np.testing.assert_array_equal(arrays[i], expected)
    assert [t.get_text() for t in figure.legends[0].get_texts()] == ["Ground Truth",
                                                                     "Prediction"]
    with pytest.raises(ValueError, match="Only pass `legend` OR `legend_handles`"):
        visualization.plot_bounding_box_gallery(images, "xyxy", legend=True,
                                                legend_handles=[object()])


def test_segmentation_mask_gallery_rows_of_image_truth_prediction(figures):
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, size=(2, 3, 3, 3)).astype(np.uint8)
    truth, predicted = rng.integers(0, 3, size=(2, 3, 3, 1)), rng.integers(0, 3, size=(2, 3, 3))
    visualization.plot_segmentation_mask_gallery(images, 3, y_true=truth, y_pred=predicted)
    (figure,) = figures()
    arrays, _ = shown(figure)
    drawn_truth = visualization.draw_segmentation_masks(images, truth, 3)
    drawn_pred = visualization.draw_segmentation_masks(images, predicted, 3)
    expected = [images[0], drawn_truth[0], drawn_pred[0], images[1], drawn_truth[1],
                drawn_pred[1]]
    assert len(arrays) == 6
    for array, want in zip(arrays, expected):
        np.testing.assert_array_equal(array, want)


# ---- against keras.visualization -----------------------------------------------------------
def test_draw_bounding_boxes_matches_keras_with_labels_and_thick_lines():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(5)
    images = rng.uniform(0, 255, size=(2, 64, 80, 3)).astype(np.float32)
    boxes = {"boxes": rng.uniform(0, 1, size=(2, 4, 4)).astype(np.float32),
             "labels": np.array([[0, 1, -1, 2], [2, 2, 1, 0]]),
             "confidences": rng.uniform(size=(2, 4)).astype(np.float32)}
    kwargs = dict(class_mapping={0: "cat", 2: "dog"}, color=(255, 10, 0), line_thickness=3,
                  text_thickness=2, font_scale=0.5)
    for fmt in ("rel_xywh", "rel_center_xywh"):
        ours = visualization.draw_bounding_boxes(images, dict(boxes), fmt, **kwargs)
        theirs = keras.visualization.draw_bounding_boxes(images, dict(boxes), fmt, **kwargs)
        np.testing.assert_array_equal(ours, theirs)


def test_draw_segmentation_masks_matches_keras():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(6)
    images = rng.uniform(0, 255, size=(2, 6, 5, 3)).astype(np.float32)
    masks = rng.integers(-1, 6, size=(2, 6, 5, 1)).astype(np.int32)
    for kwargs in (dict(), dict(num_classes=4, alpha=0.3, ignore_index=2),
                   dict(num_classes=3, color_mapping={0: (9, 9, 9), 1: (0, 99, 0),
                                                      2: (7, 0, 70)}, blend=False)):
        ours = visualization.draw_segmentation_masks(images, masks, **kwargs)
        theirs = np.asarray(keras.visualization.draw_segmentation_masks(images, masks,
                                                                        **kwargs))
        np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_galleries_show_what_keras_shows(figures):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(7)
    images = rng.uniform(0, 1, size=(4, 5, 5, 3)).astype(np.float32)
    masks = rng.integers(0, 3, size=(4, 5, 5, 1))
    boxes = {"boxes": np.array([[[0, 0, 3, 3]]] * 4, np.float32), "labels": [[1]] * 4}
    calls = [("plot_image_gallery", (images,), dict(value_range=(0, 1), y_true=[0, 1, 0, 1],
                                                    label_map={0: "a", 1: "b"})),
             ("plot_segmentation_mask_gallery", (images * 255, 3), dict(y_true=masks)),
             ("plot_bounding_box_gallery", (images * 255, "xyxy"), dict(y_pred=boxes))]
    for name, args, kwargs in calls:
        getattr(visualization, name)(*args, **kwargs)
        getattr(keras.visualization, name)(*args, **kwargs)
        ours, theirs = figures()[-2:]
        (our_arrays, our_titles), (their_arrays, their_titles) = shown(ours), shown(theirs)
        assert our_titles == their_titles and len(our_arrays) == len(their_arrays)
        for a, b in zip(our_arrays, their_arrays):
            np.testing.assert_array_equal(a, b)
        assert ours.get_size_inches().tolist() == theirs.get_size_inches().tolist()
