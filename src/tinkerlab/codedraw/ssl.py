"""Self-supervised learning on code-rendered images: MoCo-v2 and SimCLR on a small ResNet, and a linear probe.

The original trains MoCo-v2 (ResNet-50) on about 1.3M renders of LLM-written programs and probes ImageNet. Here the
same recipe runs at CPU size: a 4-stage ResNet of width 32 on 64 px images, MoCo-v2's augmentations (random
resized crop, flip, colour jitter, grayscale, blur) written in torch, a queue of negatives and a momentum encoder;
SimCLR with the NT-Xent loss. The probe fits a logistic regression on frozen, pooled features.

Pretraining sets with identical budgets (`pretraining_images`): renders of a `codedraw dataset` run, procedural
programs (random shapes and dead leaves, the family of procedural baselines), rasterised openclipart SVG code (human
code drawings, the upper reference) and, as the floor, a randomly initialised network that is not trained at all.
Probe sets available offline (`probe_set`): scikit-learn's handwritten digits, openclipart categories held out from
every pretraining set, or any folder of labelled images (one subfolder per class).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinkerlab.core.errors import InputError

METHODS = ("moco", "simclr")
SOURCES = ("renders", "procedural", "openclipart", "random-init")
PROBE_CONCEPTS = ("tree", "apple", "clock", "dog", "hat", "flower", "bus", "house")
"""openclipart categories kept out of every pretraining set and used by the `openclipart` probe."""


@dataclass
class SSLConfig:
    method: str = "moco"
    image_size: int = 64
    width: int = 32
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.06
    temperature: float = 0.2
    queue: int = 2048
    momentum: float = 0.99
    projection: int = 128
    bn_groups: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown SSL method {self.method!r}; expected one of: {', '.join(METHODS)}")
        if self.batch_size < 4 or self.queue % self.batch_size:
            raise InputError(
                f"batch size must be at least 4 and divide the queue size ({self.queue}); got {self.batch_size}"
            )


def _torch():
    import torch

    return torch


def build_encoder(width: int = 32) -> Any:
    """A small ResNet (4 stages of one basic block, strides 1-2-2-2) ending in global average pooling."""
    torch = _torch()
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.skip = (
                nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                if stride != 1 or cin != cout
                else nn.Identity()
            )

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(y)) + self.skip(x))

    widths = [width, width * 2, width * 4, width * 8]
    layers: list[Any] = [nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    cin = width
    for index, cout in enumerate(widths):
        layers.append(Block(cin, cout, 1 if index == 0 else 2))
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    encoder = nn.Sequential(*layers)
    encoder.out_dim = cin
    return encoder


def augment(batch: Any, generator: Any) -> Any:
    """MoCo-v2's augmentations on a batch (n, 3, h, w) in [0, 1]: random resized crop (scale 0.2-1), flip,
    colour jitter (p 0.8), grayscale (p 0.2) and Gaussian blur (p 0.5), each drawn per image."""
    torch = _torch()
    n, _, h, w = batch.shape
    device = batch.device

    def uniform(low: float, high: float, size: int = n) -> Any:
        return low + (high - low) * torch.rand(size, generator=generator, device="cpu").to(device)

    scale = uniform(0.2, 1.0).sqrt()
    ratio = torch.exp(uniform(math.log(3 / 4), math.log(4 / 3)))
    sx = (scale * ratio.sqrt()).clamp(max=1.0)
    sy = (scale / ratio.sqrt()).clamp(max=1.0)
    tx = (1 - sx) * uniform(-1.0, 1.0)
    ty = (1 - sy) * uniform(-1.0, 1.0)
    flip = torch.where(uniform(0, 1) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3, device=device)
    theta[:, 0, 0] = sx * flip
    theta[:, 0, 2] = tx
    theta[:, 1, 1] = sy
    theta[:, 1, 2] = ty
    grid = torch.nn.functional.affine_grid(theta, (n, 3, h, w), align_corners=False)
    out = torch.nn.functional.grid_sample(batch, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    jitter = (uniform(0, 1) < 0.8).view(n, 1, 1, 1)
    brightness = uniform(0.6, 1.4).view(n, 1, 1, 1)
    contrast = uniform(0.6, 1.4).view(n, 1, 1, 1)
    saturation = uniform(0.6, 1.4).view(n, 1, 1, 1)
    gray = (0.299 * out[:, :1] + 0.587 * out[:, 1:2] + 0.114 * out[:, 2:]).expand_as(out)
    mean = gray.mean(dim=(1, 2, 3), keepdim=True)
    jittered = ((out * brightness - mean) * contrast + mean).clamp(0, 1)
    jittered_gray = (0.299 * jittered[:, :1] + 0.587 * jittered[:, 1:2] + 0.114 * jittered[:, 2:]).expand_as(out)
    jittered = (jittered_gray + (jittered - jittered_gray) * saturation).clamp(0, 1)
    out = torch.where(jitter, jittered, out)
    to_gray = (uniform(0, 1) < 0.2).view(n, 1, 1, 1)
    gray = (0.299 * out[:, :1] + 0.587 * out[:, 1:2] + 0.114 * out[:, 2:]).expand_as(out)
    out = torch.where(to_gray, gray, out)
    blur = (uniform(0, 1) < 0.5).view(n, 1, 1, 1)
    kernel = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], device=device)
    kernel = (kernel[:, None] * kernel[None, :]) / 256.0
    blurred = torch.nn.functional.conv2d(
        torch.nn.functional.pad(out, (2, 2, 2, 2), mode="reflect"), kernel.expand(3, 1, 5, 5), groups=3
    )
    return torch.where(blur, blurred, out)


def _projector(dim_in: int, dim_out: int) -> Any:
    nn = _torch().nn
    return nn.Sequential(nn.Linear(dim_in, dim_in), nn.ReLU(), nn.Linear(dim_in, dim_out))


def _as_tensor(images: np.ndarray, size: int) -> Any:
    """(n, h, w, 3) floats in [0, 1] (or uint8) as a (n, 3, size, size) float tensor."""
    torch = _torch()
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[-1] != 3:
        raise InputError(f"expected images shaped (n, height, width, 3), got {array.shape}")
    tensor = torch.from_numpy(array.astype(np.float32) / (255.0 if array.dtype == np.uint8 else 1.0))
    tensor = tensor.permute(0, 3, 1, 2).contiguous()
    if tensor.shape[-1] != size or tensor.shape[-2] != size:
        tensor = torch.nn.functional.interpolate(tensor, size=(size, size), mode="bilinear", antialias=True)
    return tensor


def train_ssl(images: np.ndarray, config: SSLConfig, *, device: str = "cpu", progress: bool = True) -> tuple[Any, list]:
    """Pretrain an encoder on `images` with MoCo-v2 or SimCLR; returns the encoder and the loss of each epoch."""
    import copy

    from tinkerlab.core.progress import track

    torch = _torch()
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    data = _as_tensor(images, config.image_size)
    if len(data) < config.batch_size:
        raise InputError(f"{len(data)} images are fewer than one batch of {config.batch_size}; lower --batch-size")
    encoder = build_encoder(config.width).to(device)
    head = _projector(encoder.out_dim, config.projection).to(device)
    parameters = list(encoder.parameters()) + list(head.parameters())
    optimizer = torch.optim.SGD(parameters, lr=config.lr, momentum=0.9, weight_decay=1e-4)
    steps = config.epochs * (len(data) // config.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, steps))
    if config.method == "moco":
        key_encoder, key_head = copy.deepcopy(encoder), copy.deepcopy(head)
        for p in list(key_encoder.parameters()) + list(key_head.parameters()):
            p.requires_grad_(False)
        queue = torch.nn.functional.normalize(torch.randn(config.queue, config.projection, device=device), dim=1)
        pointer = 0
    losses = []
    epochs = range(config.epochs)
    for _ in track(epochs, f"{config.method} pretraining") if progress else epochs:
        order = torch.randperm(len(data), generator=generator)
        total, count = 0.0, 0
        for start in range(0, len(data) - config.batch_size + 1, config.batch_size):
            batch = data[order[start : start + config.batch_size]].to(device)
            view_a, view_b = augment(batch, generator), augment(batch, generator)
            if config.method == "moco":
                # Shuffling BN, as MoCo does across GPUs: batch statistics come from sub-batches, and a key's
                # sub-batch is not its query's, so the pretext cannot be solved through BatchNorm statistics.
                groups = config.bn_groups if len(batch) % config.bn_groups == 0 else 1
                q = torch.nn.functional.normalize(
                    torch.cat([head(encoder(part)) for part in view_a.chunk(groups)]), dim=1
                )
                with torch.no_grad():
                    for online, target in ((encoder, key_encoder), (head, key_head)):
                        for po, pt in zip(online.parameters(), target.parameters(), strict=True):
                            pt.mul_(config.momentum).add_(po.detach(), alpha=1 - config.momentum)
                    shuffle = torch.randperm(len(view_b), generator=generator).to(device)
                    keys = torch.cat([key_head(key_encoder(part)) for part in view_b[shuffle].chunk(groups)])
                    k = torch.nn.functional.normalize(keys[torch.argsort(shuffle)], dim=1)
                positive = (q * k).sum(dim=1, keepdim=True)
                negative = q @ queue.T
                logits = torch.cat([positive, negative], dim=1) / config.temperature
                labels = torch.zeros(len(q), dtype=torch.long, device=device)
                loss = torch.nn.functional.cross_entropy(logits, labels)
            else:
                q = torch.nn.functional.normalize(head(encoder(view_a)), dim=1)
                z = torch.nn.functional.normalize(head(encoder(view_b)), dim=1)
                both = torch.cat([q, z])
                similarity = both @ both.T / config.temperature
                similarity.fill_diagonal_(float("-inf"))
                n = len(q)
                targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(device)
                loss = torch.nn.functional.cross_entropy(similarity, targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            if config.method == "moco":  # enqueue this batch's keys, dropping the oldest
                queue[pointer : pointer + len(k)] = k
                pointer = (pointer + len(k)) % config.queue
            total += float(loss.detach()) * len(batch)
            count += len(batch)
        losses.append(total / max(count, 1))
    return encoder.eval(), losses


def random_encoder(config: SSLConfig) -> Any:
    """The floor: the same network, randomly initialised and never trained."""
    torch = _torch()
    torch.manual_seed(config.seed)
    return build_encoder(config.width).eval()


def encode(encoder: Any, images: np.ndarray, size: int = 64, device: str = "cpu", batch: int = 256) -> np.ndarray:
    """Pooled features of `images` (no augmentation)."""
    torch = _torch()
    data = _as_tensor(images, size)
    parts = []
    with torch.no_grad():
        for start in range(0, len(data), batch):
            parts.append(encoder.to(device)(data[start : start + batch].to(device)).cpu().numpy())
    return np.concatenate(parts)


def linear_probe(
    encoder: Any, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], size: int = 64
) -> float:
    """Top-1 accuracy of a logistic regression on frozen, standardised features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(encode(encoder, train[0], size))
    classifier = LogisticRegression(max_iter=2000, C=1.0)
    classifier.fit(scaler.transform(encode(encoder, train[0], size)), train[1])
    predicted = classifier.predict(scaler.transform(encode(encoder, test[0], size)))
    return float(np.mean(predicted == test[1]))


# --- data ----------------------------------------------------------------------------------------------------------


def procedural_images(count: int, size: int = 64, seed: int = 0) -> np.ndarray:
    """Procedural programs without an LLM: half random coloured shapes on a random background, half dead leaves
    (many overlapping discs), as uint8 (count, size, size, 3)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    images = np.empty((count, size, size, 3), dtype=np.uint8)
    for index in range(count):
        background = tuple(int(v) for v in rng.integers(0, 256, 3))
        image = Image.new("RGB", (size, size), background)
        canvas = ImageDraw.Draw(image)
        shapes = int(rng.integers(3, 9)) if index % 2 == 0 else int(rng.integers(40, 120))
        for _ in range(shapes):
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
            if index % 2 == 1:  # dead leaves: discs with a power-law radius
                radius = size * 0.02 / max(rng.random(), 0.05) ** 0.5
                x, y = rng.uniform(0, size, 2)
                canvas.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colour)
                continue
            kind = int(rng.integers(0, 3))
            x0, y0 = rng.uniform(0, size * 0.8, 2)
            w, h = rng.uniform(size * 0.1, size * 0.5, 2)
            if kind == 0:
                canvas.ellipse([x0, y0, x0 + w, y0 + h], fill=colour)
            elif kind == 1:
                canvas.rectangle([x0, y0, x0 + w, y0 + h], fill=colour)
            else:
                points = [tuple(float(v) for v in rng.uniform(0, size, 2)) for _ in range(int(rng.integers(3, 6)))]
                canvas.polygon(points, fill=colour)
        images[index] = np.asarray(image)
    return images


def clipart_images(
    count: int,
    size: int = 64,
    *,
    exclude: tuple[str, ...] = PROBE_CONCEPTS,
    include: tuple[str, ...] = (),
    per_class: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, list[str]]:
    """Rasterised openclipart SVG files (colour, on white) and their category, as uint8 arrays.

    `exclude`: categories never taken (the probe's); `include`: only these categories (the probe set itself);
    `per_class`: at most this many of each category (a balanced probe set).
    """
    import io

    import cairosvg
    from PIL import Image

    from tinkerlab.core.assets import openclipart_svgs
    from tinkerlab.vision.clipart import CLIPART_CONCEPTS, clipart_concept

    files = [p for p in openclipart_svgs() if p.stat().st_size < 200_000]
    rng = np.random.default_rng(seed)
    rng.shuffle(files)
    known = tuple(CLIPART_CONCEPTS) + tuple(c for c in include + exclude if c not in CLIPART_CONCEPTS)
    images, labels = [], []
    for path in files:
        concept = clipart_concept(path, known)
        if include and concept not in include:
            continue
        if concept in exclude:
            continue
        if per_class is not None and labels.count(concept or "other") >= per_class:
            continue
        try:
            png = cairosvg.svg2png(url=str(path), output_width=size, output_height=size, background_color="white")
        except Exception:  # noqa: BLE001 - a drawing cairosvg cannot read is skipped
            continue
        with Image.open(io.BytesIO(png)) as image:
            images.append(np.asarray(image.convert("RGB").resize((size, size))))
        labels.append(concept or "other")
        if len(images) >= count:
            break
    if not images:
        raise InputError("no openclipart drawings found; install Debian's openclipart-svg")
    return np.stack(images), labels


def folder_images(folder: str | Path, size: int = 64, limit: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Images of a labelled folder (one subfolder per class, e.g. ImageNet-100 or CIFAR-10 exported as PNG)."""
    from PIL import Image

    root = Path(folder)
    classes = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not classes:
        raise InputError(f"{folder} has no class subfolders; expected FOLDER/<class>/<image files>")
    images, labels = [], []
    for directory in classes:
        files = sorted(p for p in directory.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp"))
        for path in files[:limit]:
            with Image.open(path) as image:
                images.append(np.asarray(image.convert("RGB").resize((size, size))))
            labels.append(directory.name)
    return np.stack(images), labels


def probe_set(name: str, size: int = 64, per_class: int = 12, seed: int = 0) -> tuple[Any, Any, Any, Any]:
    """A labelled probe set split in halves: `digits` (scikit-learn's 8x8 handwritten digits, upscaled),
    `openclipart` (the held-out PROBE_CONCEPTS) or a folder path. Returns train images, labels, test images, labels.
    """
    if name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        gray = (digits.images / 16.0 * 255).astype(np.uint8)
        images = np.repeat(gray[..., None], 3, axis=-1)
        images = np.stack([np.kron(img, np.ones((8, 8, 1), dtype=np.uint8)) for img in images])
        labels = digits.target
    elif name == "openclipart":
        images, label_list = clipart_images(
            per_class * len(PROBE_CONCEPTS), size, exclude=(), include=PROBE_CONCEPTS, per_class=per_class
        )
        labels = np.array(label_list)
    else:
        images, label_list = folder_images(name, size, per_class)
        labels = np.array(label_list)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))
    half = len(order) // 2
    return images[order[:half]], labels[order[:half]], images[order[half:]], labels[order[half:]]
