"""A face picture framed and toned the way the Olivetti training faces are.

The Olivetti faces (``vae_demo/generative/data.py``) are 64x64 grey crops from the eyebrows to the chin:
the eyes about a quarter of the way down (row 15-16 of 64 in the mean face), 0.44 of the width apart,
the mouth at about 0.73 of the height. ``frame_face`` finds the largest frontal face with scikit-image's
LBP cascade (``skimage.feature.Cascade``), crops a square around it so that its eyes land there (scale
and position only: the cascade gives no eye positions to level a tilted head), turns it grey and matches
its mean and contrast to the training faces. Where no face is found it falls back to the centre square,
untouched (as a picture of another kind was always prepared), and says so (``FaceFrame.found``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

# The frame relative to the cascade's box (top, left, side w): a square of side FRAME_SCALE * w whose
# top lies so that the eyes, at EYE_ROW_IN_BOX * w below the box's top, sit at OLIVETTI_EYE_ROW of the frame.
# Measured by hand on the astronaut photo: in the box the eyes are at 0.33 of the height and 0.44 of the
# width apart (Olivetti: 0.44, so FRAME_SCALE 1.0), eyes to mouth 0.42 (Olivetti: 0.48, so 0.875); 0.9 lies
# between the two and also reconstructs the astronaut best of 0.9 / 1.0 / 1.1 (benchmarks/faces.py).
EYE_ROW_IN_BOX = 0.33
OLIVETTI_EYE_ROW = 0.25
FRAME_SCALE = 0.9
# Per-image mean and standard deviation of the grey levels in [0, 1], averaged over the 350 training faces
# (subjects 0-34; load_olivetti + split_by_subject, then x.flatten(1).mean(1).mean(), .std(1).mean()).
OLIVETTI_MEAN, OLIVETTI_STD = 0.523, 0.149
DETECT_SIDE = 256  # pictures are searched for a face at this many pixels on their shorter side
MIN_NEIGHBOURS = 8  # overlapping detections a face needs (scikit-image's default 4 takes the cat `chelsea` for one)


@dataclass
class FaceFrame:
    """A framed face: ``image`` (size, size) floats in [0, 1]; ``found`` False for the centre-square fallback;
    ``box`` the cascade's (top, left, side) in the picture's pixels, or None."""

    image: np.ndarray
    found: bool
    box: tuple[int, int, int] | None = None


@lru_cache(maxsize=1)
def _cascade():
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    return Cascade(lbp_frontal_face_cascade_filename())


def find_face(grey: np.ndarray) -> tuple[int, int, int] | None:
    """The largest frontal face in an (H, W) grey picture as (top, left, side) in its pixels, or None.

    The picture is searched at one size (shorter side ``DETECT_SIDE``, up or down): the cascade's boxes
    for one face then agree to about 5% whatever the upload's resolution."""
    h, w = grey.shape
    scale = min(DETECT_SIDE / min(h, w), 8 * DETECT_SIDE / max(h, w))  # a long thin strip stays small
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if min(size) < DETECT_SIDE // 2:  # no room for a face of a tenth of the search size
        return None
    small = np.asarray(Image.fromarray(grey).resize(size, Image.LANCZOS), dtype=np.float32) / 255.0
    found = _cascade().detect_multi_scale(
        img=small,
        scale_factor=1.1,
        step_ratio=1,
        min_size=(DETECT_SIDE // 10,) * 2,
        max_size=(DETECT_SIDE,) * 2,
        min_neighbor_number=MIN_NEIGHBOURS,
    )
    if not found:
        return None
    best = max(found, key=lambda d: d["width"])
    return tuple(round(best[k] / scale) for k in ("r", "c", "width"))


def face_square(box: tuple[int, int, int], height: int, width: int) -> tuple[int, int, int]:
    """The Olivetti-like square (top, left, side) for a cascade box, moved inside the picture where it can be;
    a square larger than the picture keeps its place and is padded by ``frame_face``."""
    top, left, w = box
    side = max(1, round(FRAME_SCALE * w))
    y0 = round(top + EYE_ROW_IN_BOX * w - OLIVETTI_EYE_ROW * side)
    x0 = round(left + (w - side) / 2)
    if side <= height:
        y0 = min(max(y0, 0), height - side)
    if side <= width:
        x0 = min(max(x0, 0), width - side)
    return y0, x0, side


def tone(a: np.ndarray) -> np.ndarray:
    """Match the mean and standard deviation of a grey picture in [0, 1] to the training faces'."""
    std = a.std()
    if std < 1e-6:  # a flat picture: only the mean can be matched
        return np.full_like(a, OLIVETTI_MEAN)
    return np.clip((a - a.mean()) / std * OLIVETTI_STD + OLIVETTI_MEAN, 0.0, 1.0)


def frame_face(img: Image.Image, size: int = 64) -> FaceFrame:
    """Find, crop, scale and tone the face of a picture (any mode) as the Olivetti faces are; see the module."""
    grey = np.asarray(img.convert("L"))
    h, w = grey.shape
    box = find_face(grey)
    if box is None:  # the centre square, resized: what every picture got before faces were framed
        side = min(h, w)
        crop = grey[(h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side]
        small = Image.fromarray(crop).resize((size, size), Image.LANCZOS, reducing_gap=3.0)
        return FaceFrame(np.asarray(small, dtype=np.float64) / 255.0, False)
    y0, x0, side = face_square(box, h, w)
    pad = max(0, -y0, -x0, y0 + side - h, x0 + side - w)  # a face near the edge: repeat the edge pixels
    padded = np.pad(grey, pad, mode="edge") if pad else grey
    crop = padded[y0 + pad : y0 + pad + side, x0 + pad : x0 + pad + side]
    small = Image.fromarray(crop).resize((size, size), Image.LANCZOS, reducing_gap=3.0)
    return FaceFrame(tone(np.asarray(small, dtype=np.float64) / 255.0), True, box)
