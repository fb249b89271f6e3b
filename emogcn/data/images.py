"""Face images for training: the stage-1 crops (float32 (size, size * 3), 0-255 RGB) as tensors
(3, size, size), with the original Emotion-GCN's augmentation and ImageNet normalisation.

Augmentation (training sets only): a random horizontal flip and a random rotation of up to
`rotation` degrees, drawn from torch's global generator, which the trainer seeds per epoch (so a
resumed run sees the same images). The original's resize of the shorter side happened once, in
stage 1 (the crop is already square at the configured size).
"""

from __future__ import annotations

import torch
from torchvision.transforms.v2 import functional as F

from emogcn.data.cmvn import Cmvn
from emogcn.data.dataset import FeatureDataset

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def crop_to_image(flat, where: str = "face crop") -> torch.Tensor:
    """A stage-1 crop (size, size * 3) of 0-255 RGB values -> (3, size, size) float in [0, 1]."""
    flat = torch.as_tensor(flat)
    height = flat.shape[0]
    if flat.dim() != 2 or flat.shape[1] != 3 * height:
        raise ValueError(f"{where} is not a square RGB face crop ({tuple(flat.shape)}); "
                         "was stage 1 run with a face config?")
    return flat.view(height, height, 3).permute(2, 0, 1) / 255.0


def imagenet_normalise(img: torch.Tensor) -> torch.Tensor:
    """What the backbones saw in training (after augmentation): ImageNet mean and std per channel."""
    return (img - IMAGENET_MEAN) / IMAGENET_STD


class FaceDataset(FeatureDataset):
    def __init__(self, data_dir, classes: list[str], train: bool = False, hflip: bool = False,
                 rotation: float = 0.0, cache_mb: float = 0, validate: bool = True):
        super().__init__(data_dir, classes, Cmvn("none"), cache_mb=cache_mb, validate=validate)
        self.train = train
        self.hflip = hflip
        self.rotation = rotation

    def image(self, i: int) -> torch.Tensor:
        """(3, H, W) float in [0, 1], before augmentation and normalisation."""
        return crop_to_image(self.features(i), f"{self.data.path}: '{self.items[i].utt}'")

    def __getitem__(self, i: int) -> dict:
        img = self.image(i)
        if self.train:
            if self.hflip and bool(torch.rand(()) < 0.5):
                img = F.horizontal_flip(img)
            if self.rotation > 0:
                angle = float((torch.rand(()) * 2 - 1) * self.rotation)
                img = F.rotate(img, angle, interpolation=F.InterpolationMode.BILINEAR)
        img = imagenet_normalise(img)
        it = self.items[i]
        return {"index": i, "feats": img.contiguous(), "label": it.label, "dims": it.dims}
