"""A small convolutional image classifier: three conv layers then one linear layer.

Each layer is its own named attribute (``conv1``, ``relu1``, ...) so layer explorers, Grad-CAM
and activation captures can address it by name; ReLUs are not in-place so hooks see real values.

>>> import torch
>>> net = SmallCNN(in_channels=3, n_classes=6, width=8, image_size=32)
>>> net(torch.zeros(2, 3, 32, 32)).shape
torch.Size([2, 6])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepscope.errors import InvalidArgumentError

__all__ = ["SmallCNN"]


class SmallCNN(nn.Module):
    """conv1 -> relu1 -> conv2 -> relu2 -> pool2 -> conv3 -> relu3 -> pool3 -> flatten -> fc.

    - ``normalize``: each image's channels are standardised (instance norm, no parameters) before
      ``conv1``, so the network is blind to absolute colours, which helps on ``shapes`` where
      every image has its own palette. It is a step of ``forward``, not a layer, so ``conv1``
      stays the first layer.
    - ``stride`` of ``conv1`` (2 on 32x32 shapes, 1 on 8x8 digits) and the 2x2 max-pool ``pool2``
      leave ``conv3`` a spatial map (8x8 for shapes, 4x4 for digits) for Grad-CAM.
    - ``head="max"``: ``pool3`` takes each channel's maximum over positions (a detector that
      fires anywhere); ``head="flatten"`` keeps the layout (digits are always centred), with
      ``pool3`` an adaptive average pool to the map's size, so other image sizes still run.
    """

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        width: int = 16,
        *,
        image_size: int,
        stride: int = 2,
        head: str = "max",
        normalize: bool = False,
        dropout: float = 0.0,
    ):
        super().__init__()
        if head not in ("max", "flatten"):
            raise InvalidArgumentError("head", "'max' or 'flatten'", head)
        self.normalize = bool(normalize)
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=stride, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(2 * width, 2 * width, 3, padding=1)
        self.relu3 = nn.ReLU()
        side = 1 if head == "max" else max(1, -(-image_size // stride) // 2)
        self.pool3 = nn.AdaptiveMaxPool2d(1) if head == "max" else nn.AdaptiveAvgPool2d(side)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * width * side * side, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalize:
            x = F.instance_norm(x)
        x = self.relu1(self.conv1(x))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.relu3(self.conv3(x))
        return self.fc(self.dropout(self.flatten(self.pool3(x))))
