"""Face stage 1 and AffectNet preparation: eye-level alignment, crops, and the CSV format."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from conftest import REPO, run_sh
from emogcn.data import datadir as dd
from emogcn.features.faces import FaceConfig, FaceError, FaceExtractor, eye_centres


def _landmarks(left, right):
    marks = np.tile([[100.0, 150.0]], (68, 1))  # the other 56 points do not matter to alignment
    ring = np.array([[-6, 0], [-3, -3], [3, -3], [6, 0], [3, 3], [-3, 3]], dtype=float)
    marks[36:42] = np.asarray(left) + ring
    marks[42:48] = np.asarray(right) + ring
    return marks


def _face_image(path, left, right, size=200):
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), (40, 40, 40))
    draw = ImageDraw.Draw(img)
    for x, y in (left, right):
        draw.ellipse((x - 5, y - 5, x + 5, y + 5), fill=(255, 255, 255))
    img.save(path)
    return path


def _blob_rows(crop):
    gray = crop.reshape(crop.shape[0], crop.shape[0], 3).mean(axis=2)
    ys, xs = np.nonzero(gray > 150)
    left = xs < np.median(xs)
    return ys[left].mean(), ys[~left].mean()


def test_alignment_puts_both_eye_centres_on_one_horizontal_line(tmp_path):
    left, right = (70.0, 80.0), (130.0, 104.0)  # tilted by about 22 degrees
    path = _face_image(tmp_path / "face.png", left, right)
    marks = _landmarks(left, right)
    np.testing.assert_allclose(eye_centres(marks)[0], left)
    face = "40 30 120 120 " + " ".join(f"{v:g}" for v in marks.ravel())
    aligned = FaceExtractor(FaceConfig(size=120))(str(path), face)
    assert aligned.shape == (120, 360) and aligned.dtype == np.float32
    y_left, y_right = _blob_rows(aligned)
    assert abs(y_left - y_right) <= 1.0, (y_left, y_right)
    tilted = FaceExtractor(FaceConfig(size=120, align=False))(str(path), face)
    y_left, y_right = _blob_rows(tilted)
    assert abs(y_left - y_right) > 15  # without alignment the tilt stays


def test_unusable_images_are_named(tmp_path):
    extract = FaceExtractor(FaceConfig(size=32))
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(FaceError, match="bad.jpg: cannot read image"):
        extract(str(tmp_path / "bad.jpg"))
    with pytest.raises(FaceError, match="file not found"):
        extract(str(tmp_path / "missing.jpg"))
    path = _face_image(tmp_path / "f.png", (70, 80), (130, 80))
    with pytest.raises(FaceError, match="lies outside the 200x200 image"):
        extract(str(path), "500 500 20 20")
    with pytest.raises(FaceError, match="needs a box"):
        extract(str(path), "1 2 3")


def write_affectnet_tree(root, per_class=(3, 1)):
    """AffectNet's layout: file lists with boxes, landmarks, expression 0-8, valence, arousal;
    plus one row whose image is missing."""
    images = root / "Manually_Annotated" / "Manually_Annotated_Images"
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True)
    header = ["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks",
              "expression", "valence", "arousal"]
    rows = {"training.csv": [], "validation.csv": []}
    for split, n in (("training.csv", per_class[0]), ("validation.csv", per_class[1])):
        for expr in range(9):  # 0-6 kept; 7 contempt and 8 none dropped
            for i in range(n):
                rel = f"{100 + expr}/{split[:3]}_{i}.jpg"
                (images / rel).parent.mkdir(parents=True, exist_ok=True)
                _face_image(images / rel, (70, 80), (130, 90))
                marks = ";".join(f"{v:g}" for v in _landmarks((70, 80), (130, 90)).ravel())
                rows[split].append([rel, 40, 30, 120, 120, marks, expr, round(0.1 * expr - 0.3, 2), 0.2])
    rows["training.csv"].append(["999/gone.jpg", 1, 1, 10, 10, marks, 1, 0.1, 0.1])  # image missing
    for name, table in rows.items():
        with open(lists / name, "w", newline="") as f:
            csv.writer(f).writerows([header] + table)


def test_affectnet_csv_preparation_and_face_crops(tmp_path):
    root = tmp_path / "AffectNet"
    write_affectnet_tree(root)
    p = run_sh(f"python local/prepare_affectnet.py --folds-dir {tmp_path}/folds --dev-every 3 {root} {tmp_path}/all",
               REPO)
    all_dir = tmp_path / "all"
    assert dd.validate_data_dir(all_dir) == 7 * 4
    assert sorted(set(dd.read_map(all_dir / "utt2emo").values())) == sorted(
        ["neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger"])
    assert "expression codes outside 0-6 dropped: 7=4 8=4" in p.stderr
    assert "gone.jpg" in p.stderr and "image listed in the CSV is missing" in p.stderr
    assert len(dd.read_map(all_dir / "utt2face")["affectnet-train-100_tra_0"].split()) == 4 + 136
    assert dd.read_map(all_dir / "utt2va")["affectnet-train-102_tra_0"] == "-0.1000 0.2000"
    assert len(dd.read_map(tmp_path / "folds/fold1/test/utt2spk")) == 7
    assert len(dd.read_map(tmp_path / "folds/fold1/dev/utt2spk")) == 7  # every 3rd of 21
    # stage 1 with the face config: aligned 227-px crops in an ark
    run_sh(f"steps/make_feats.sh --nj 2 --config conf/face227.yaml {all_dir} {tmp_path}/log {tmp_path}/feats", REPO)
    import kaldiio

    feats = dd.read_map(all_dir / "feats.scp")
    mat = kaldiio.load_mat(next(iter(feats.values())))
    assert mat.shape == (227, 681) and 0 <= mat.min() and mat.max() <= 255
    assert not (all_dir / "utt2dur").exists()
