"""Stage 1 for images: decode, align and crop each face once, as the original prepares AffectNet.

A face is aligned by rotating the image about the midpoint of the two eye centres (the means of
68-point landmarks 36-41 and 42-47) until the eyes are level, then cropped to the face box and
resized to `size` x `size`. Without landmarks the crop is the box alone; without a box, the whole
image. The result is stored as a float32 matrix (size, size * 3) of 0-255 RGB values, so faces go
through the same ark/scp path as speech features; the ark is written with Kaldi's one-byte
unsigned-integer compression, which holds 0-255 integers exactly (one byte a value).

utt2face lines (docs/DESIGN.md, "The data directory"):
`<utt> <x> <y> <w> <h> [<x0> <y0> ... <x67> <y67>]`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emogcn.config import ConfigError

LEFT_EYE = slice(36, 42)  # 68-point landmarks of the (image-)left eye
RIGHT_EYE = slice(42, 48)


@dataclass
class FaceConfig:
    type: str = "face"
    size: int = 227  # output side in pixels (the original: 227 for AffectNet, 112 for Aff-Wild2)
    align: bool = True  # rotate about the eye midpoint when landmarks are given

    def check(self) -> None:
        if self.type != "face":
            raise ConfigError(f"face config: type must be 'face', got '{self.type}'")
        if not 8 <= self.size <= 1024:
            raise ConfigError(f"face config: size must be in [8, 1024], got {self.size}")

    @property
    def dim(self) -> int:
        return self.size * 3


class FaceError(ValueError):
    """An image that cannot be used (unreadable, empty box); one line naming it."""


def parse_face(value: str, where: str) -> tuple[tuple[float, float, float, float], np.ndarray | None]:
    """A utt2face value -> (box (x, y, w, h), landmarks (68, 2) or None)."""
    try:
        numbers = [float(v) for v in value.split()]
    except ValueError:
        raise FaceError(f"{where}: utt2face values must be numbers, got '{value[:60]}'") from None
    if len(numbers) not in (4, 4 + 136):
        raise FaceError(f"{where}: utt2face needs a box (4 numbers) and optionally 68 landmarks (136), "
                        f"got {len(numbers)} numbers")
    x, y, w, h = numbers[:4]
    if w <= 0 or h <= 0:
        raise FaceError(f"{where}: face box has no area ({w} x {h})")
    landmarks = np.asarray(numbers[4:], dtype=np.float64).reshape(68, 2) if len(numbers) > 4 else None
    return (x, y, w, h), landmarks


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return landmarks[LEFT_EYE].mean(axis=0), landmarks[RIGHT_EYE].mean(axis=0)


def align_and_crop(image, box, landmarks, size: int, align: bool = True):
    """PIL image -> PIL image of size x size: rotated so that the eyes are level, cropped to box."""
    from PIL import Image

    if landmarks is not None and align:
        left, right = eye_centres(landmarks)
        angle = math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))
        centre = tuple(float(v) for v in (left + right) / 2)
        # PIL turns counter-clockwise on screen for a positive angle: that levels a right eye lower
        # than the left (a positive atan2 in image coordinates, where y grows downwards).
        image = image.rotate(angle, resample=Image.BILINEAR, center=centre)
    if box is not None:
        x, y, w, h = box
        image = image.crop((int(round(x)), int(round(y)), int(round(x + w)), int(round(y + h))))
    return image.resize((size, size), resample=Image.BILINEAR)


class FaceExtractor:
    """Reads an image file and returns its aligned face crop as a float32 (size, size * 3) matrix."""

    def __init__(self, cfg: FaceConfig):
        cfg.check()
        self.cfg = cfg
        self.dim = cfg.dim

    def __call__(self, path: str, face: str | None = None, where: str = "") -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as img:
                img.load()
                image = img.convert("RGB")  # grayscale (FER2013) and palette images become RGB
        except FileNotFoundError:
            raise FaceError(f"{path}: file not found") from None
        except (UnidentifiedImageError, OSError, ValueError) as e:
            raise FaceError(f"{path}: cannot read image: {' '.join(str(e).split())}") from None
        return self.crop(image, face, where or path, name=path)

    def crop(self, image, face: str | None = None, where: str = "", name: str = "image") -> np.ndarray:
        """The aligned crop of a decoded RGB PIL image (emogcn.inference hands images in directly)."""
        box, landmarks = parse_face(face, where or name) if face is not None else (None, None)
        if box is not None:
            x, y, w, h = box
            if x >= image.width or y >= image.height or x + w <= 0 or y + h <= 0:
                raise FaceError(f"{name}: face box {box} lies outside the {image.width}x{image.height} image")
        crop = align_and_crop(image, box, landmarks, self.cfg.size, self.cfg.align)
        array = np.asarray(crop, dtype=np.float32)  # (size, size, 3), 0-255
        return array.reshape(self.cfg.size, self.cfg.size * 3)
