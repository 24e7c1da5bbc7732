"""Face pictures are framed and toned like the Olivetti training faces, and every face endpoint uses it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import skip_without_bundled
from PIL import Image

from vae_demo.core import faces
from vae_demo.core.images import to_face_input, to_model_input
from vae_demo.demo.examples import face_image, photo_example

# Where the astronaut's face is in scikit-image's 512x512 photo: the eyes at about rows 99-103, columns
# 196-248 (read by eye), so the face box spans roughly rows 60-170 and columns 165-280.
ASTRONAUT_EYES_ROW, ASTRONAUT_EYES_COL = 101, 222


def test_the_astronauts_face_is_found_and_framed_like_the_training_faces():
    frame = faces.frame_face(photo_example("astronaut"))
    assert frame.found and frame.image.shape == (64, 64)
    top, left, side = frame.box
    assert 80 <= side <= 125 and top < ASTRONAUT_EYES_ROW < top + side // 2 and left < ASTRONAUT_EYES_COL < left + side
    y0, x0, s = faces.face_square(frame.box, 512, 512)
    eye_row = (ASTRONAUT_EYES_ROW - y0) / s
    eye_col = (ASTRONAUT_EYES_COL - x0) / s
    assert 0.18 <= eye_row <= 0.32 and 0.4 <= eye_col <= 0.6, "the eyes land where the Olivetti faces have them"
    assert frame.image.mean() == pytest.approx(faces.OLIVETTI_MEAN, abs=0.02)
    assert frame.image.std() == pytest.approx(faces.OLIVETTI_STD, abs=0.02)


def test_the_apps_face_example_and_its_mirror_are_found_at_the_same_scale():
    """The example is a head-and-shoulders crop, so the face is framed, not the whole picture."""
    a, b = (faces.frame_face(img) for img in (face_image(), face_image().transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    assert a.found and b.found
    assert abs(a.box[2] - b.box[2]) <= 0.15 * a.box[2]


@pytest.mark.parametrize("name", ["coffee", "chelsea"])
def test_a_picture_without_a_face_falls_back_to_the_centre_square(name):
    """A cup and a cat (the cascade's default of 4 neighbours takes the cat for a face) keep the old preparation."""
    photo = photo_example(name)
    x, found = to_face_input(photo, 64)
    assert not found
    assert torch.equal(x, to_model_input(photo, 64, 1))


def test_flat_and_tiny_pictures_fall_back_without_an_error():
    shapes = [Image.new("L", (300, 200), 128), Image.new("RGB", (5, 3), (10, 200, 30)), Image.new("L", (1, 1))]
    shapes += [Image.new("L", (6000, 2), 50), Image.new("L", (3, 4000), 50)]  # thin strips are not blown up
    for img in shapes:
        x, found = to_face_input(img, 64)
        assert not found and x.shape == (1, 1, 64, 64) and torch.isfinite(x).all()


def test_a_frame_is_moved_inside_the_picture_or_padded_when_larger(monkeypatch):
    assert faces.face_square((-30, -30, 100), 300, 300) == (0, 0, 90), "moved down and right, scale kept"
    assert faces.face_square((250, 250, 100), 300, 300) == (210, 210, 90)
    # a face box about as large as the picture: the frame keeps its place and the edge pixels are repeated
    picture = Image.fromarray(np.tile(np.arange(150, dtype=np.uint8), (150, 1)))
    monkeypatch.setattr(faces, "find_face", lambda grey: (-40, -40, 200))
    y0, x0, side = faces.face_square((-40, -40, 200), 150, 150)
    assert side == 180 > 150 and y0 < 0 and x0 < 0
    frame = faces.frame_face(picture)
    assert frame.found and frame.image.shape == (64, 64) and np.isfinite(frame.image).all()
    assert np.ptp(frame.image[:, :4]) < 1e-6, "the left columns repeat the picture's first column"


def test_tone_matches_the_training_faces_and_leaves_flat_pictures_flat():
    ramp = np.tile(np.linspace(0.6, 0.9, 64), (64, 1))
    toned = faces.tone(ramp)
    assert toned.mean() == pytest.approx(faces.OLIVETTI_MEAN, abs=1e-6)
    assert toned.std() == pytest.approx(faces.OLIVETTI_STD, abs=1e-6)
    assert np.all(faces.tone(np.full((8, 8), 0.9)) == faces.OLIVETTI_MEAN)


@skip_without_bundled("faces-vae")
def test_face_endpoints_frame_the_face_and_say_so():
    from vae_demo.demo import generative, lab

    model = generative.get_model("faces-vae")
    x, note = generative.load_input_noted(model, photo_example("astronaut"))
    assert torch.equal(x, to_face_input(photo_example("astronaut"), 64)[0]) and "face was found" in note
    assert "No face was found" in generative.load_input_noted(model, photo_example("coffee"))[1]
    assert generative.load_input_noted(generative.get_model("mnist-vae"), photo_example("coffee"))[1] == ""
    _, text = lab.elbo_of_image("faces-vae", photo_example("coffee"), k=10)
    assert "No face was found" in text


@skip_without_bundled("faces-vae")
def test_the_masked_square_fit_keeps_the_observed_pixels_and_beats_the_corrupted_face():
    from vae_demo.demo import generative

    rows = {r[0]: r[1:] for r in generative.denoise("faces-vae", None, "mask", 0.3).rows}
    fitted = rows["VAE + latent fit (observed pixels kept)"]
    assert fitted[1] > rows["corrupted"][1], "the filled square is closer to the face than a black one"
