"""Synthetic image folders written with Pillow, the way users lay out image data sets: one
subfolder per class (names chosen so alphanumeric order differs from creation order), PNG,
JPEG and BMP files of several sizes, grey ("L") and RGBA images among RGB ones, a stray
non-image file, and a hidden folder that is not a class."""
from __future__ import annotations

import pathlib

import numpy as np

CLASSES = ("b_dog", "a_cat", "c10", "c9")          # sorted: a_cat, b_dog, c10, c9


def write_image_folder(root: pathlib.Path, per_class: int = 5, seed: int = 0) -> dict:
    """Write the folder; return {relative path: the image array as written (H, W, C)}."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    written = {}
    formats = ("png", "jpg", "bmp")
    for c, name in enumerate(CLASSES):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            ext = formats[(i + c) % len(formats)]
            size = (int(rng.integers(6, 14)), int(rng.integers(6, 14)))    # (height, width)
            mode = ("L", "RGBA", "RGB")[i % 3] if ext == "png" else "RGB"
            channels = {"L": 1, "RGBA": 4, "RGB": 3}[mode]
            pixels = rng.integers(0, 256, (*size, channels), dtype=np.uint8)
            image = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels, mode)
            image.save(folder / f"img_{i:02d}.{ext}")
            written[f"{name}/img_{i:02d}.{ext}"] = pixels
        (folder / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    Image.new("RGB", (8, 8)).save(root / ".hidden" / "skip.png")
    return written
