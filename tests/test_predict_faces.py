"""emogcn-predict on face images: files, folders and arrays, as stage 1 and stage 5 see them."""

from __future__ import annotations

import numpy as np
from PIL import Image

from conftest import make_random_experiment, run_sh
from emogcn.inference.package import write_package
from test_predict import PREDICT, read_tsv


def test_face_model_predicts_images_as_the_recipe_does(recipe_dir, tmp_path):
    cfg = {"input": "image", "model": {"variant": "multi_task", "backbone": "bregnext",
                                       "backbone_options": {"width": 0.125, "depth": [1, 1, 1, 1, 1]}}}
    exp = make_random_experiment(tmp_path / "exp", cfg, input_dim=3, labels=("anger", "happiness", "neutral"))
    (tmp_path / "face.yaml").write_text("type: face\nsize: 40\n")
    pkg = write_package(exp, tmp_path / "model", feat_config=tmp_path / "face.yaml")
    images = tmp_path / "images"
    (images / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    paths = [images / "a.png", images / "sub" / "b.jpg", images / "c_gray.bmp"]
    Image.fromarray(rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)).save(paths[0])
    Image.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)).save(paths[1], quality=95)
    Image.fromarray(rng.integers(0, 256, (48, 48), dtype=np.uint8)).save(paths[2])  # grayscale, FER-style
    (images / "readme.txt").write_text("not an image\n")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")

    p = run_sh(f"{PREDICT} --model {pkg} --no-progress {images} {tmp_path}/broken.png", recipe_dir, check=False)
    assert p.returncode == 2
    rows = read_tsv(p.stdout)
    # a folder's own files first (sorted), then its subfolders'; readme.txt skipped
    assert [r["input"] for r in rows] == [str(paths[0]), str(paths[2]), str(paths[1]), str(tmp_path / "broken.png")]
    assert "cannot read image" in rows[-1]["error"] and all(r["error"] == "-" for r in rows[:3])
    assert rows[0]["duration"] == "-" and all(r["valence"] != "-" for r in rows[:3])  # multi_task: dimensions
    ours = {r["input"]: r for r in rows[:3]}

    # the recipe: img.scp -> stage 1 face crops -> stage 5
    data = tmp_path / "data"
    data.mkdir()
    utts = [f"s-u{i}" for i in range(3)]
    (data / "img.scp").write_text("".join(f"{u} {p}\n" for u, p in zip(utts, paths)))
    (data / "utt2spk").write_text("".join(f"{u} s\n" for u in utts))
    (data / "spk2utt").write_text("s " + " ".join(utts) + "\n")
    (data / "utt2emo").write_text("".join(f"{u} anger\n" for u in utts))
    run_sh(f"steps/make_feats.sh --nj 1 --config {tmp_path}/face.yaml {data} {tmp_path}/log {tmp_path}/feats && "
           f"python -m emogcn.bin.infer {exp} {data} {tmp_path}/infer", recipe_dir)
    theirs = read_tsv((tmp_path / "infer" / "predictions.tsv").read_text())
    classes = (exp / "classes.txt").read_text().split()
    for u, path in zip(utts, paths):
        row = next(r for r in theirs if r["utt"] == u)
        for c in classes:
            assert abs(float(ours[str(path)][f"p_{c}"]) - float(row[f"p_{c}"])) < 1e-5

    from emogcn import EmotionRecognizer

    r = EmotionRecognizer.from_dir(pkg, device="cpu")
    assert r.normalisation == "none"
    array = np.asarray(Image.open(paths[0]).convert("RGB"))
    assert r.predict(array).probabilities == r.predict(str(paths[0])).probabilities
    p = run_sh(f"{PREDICT} --model {pkg} --segment {paths[0]}", recipe_dir, check=False)
    assert p.returncode == 1 and "--segment is for speech models" in p.stderr
