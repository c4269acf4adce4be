"""Training and inference of ASAPNet and its baselines on paired label maps (the SPADE training framework that
ASAPNet's code uses, written for this project).

- `MultiscaleDiscriminator`: `num_discriminators` PatchGANs on the (label one-hot, image) pair at 1x, 1/2x, ...,
  spectral norm and instance norm, features of every layer returned for feature matching;
- losses: hinge GAN, discriminator feature matching, L1 to the real image, and a VGG19 perceptual loss only when a
  weights file is given (`vgg_weights`);
- `train(data, config, out=RUN)`: Adam with two time-scale learning rates, a resumable run directory (config,
  checkpoints of both networks and optimisers, log, state), `--device`; `load(RUN)` and `translate(...)`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from tinkerlab.asapnet.baselines import build_generator
from tinkerlab.asapnet.config import RunConfig, TrainConfig, run_config_from_dict
from tinkerlab.asapnet.data import PairedData
from tinkerlab.asapnet.generator import one_hot_labels
from tinkerlab.core.errors import InputError

SYSTEM = "asapnet"


class PatchDiscriminator(nn.Module):
    """A PatchGAN (pix2pixHD / SPADE's NLayerDiscriminator): 4x4 convolutions, stride 2 then 1, spectral instance
    norm, LeakyReLU 0.2; returns the features of every layer, the last being the score map."""

    def __init__(self, in_channels: int, ndf: int, layers: int) -> None:
        super().__init__()
        blocks = [nn.Sequential(nn.Conv2d(in_channels, ndf, 4, stride=2, padding=2), nn.LeakyReLU(0.2, True))]
        width = ndf
        for index in range(1, layers):
            out = min(2 * width, 512)
            stride = 1 if index == layers - 1 else 2
            blocks.append(
                nn.Sequential(
                    spectral_norm(nn.Conv2d(width, out, 4, stride=stride, padding=2, bias=False)),
                    nn.InstanceNorm2d(out, affine=False),
                    nn.LeakyReLU(0.2, True),
                )
            )
            width = out
        blocks.append(nn.Sequential(nn.Conv2d(width, 1, 4, padding=2)))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return features


class MultiscaleDiscriminator(nn.Module):
    """`count` PatchGANs, the k-th on the input average-pooled k times (3x3, stride 2)."""

    def __init__(self, in_channels: int, ndf: int, layers: int, count: int) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(PatchDiscriminator(in_channels, ndf, layers) for _ in range(count))

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        outputs = []
        for discriminator in self.discriminators:
            outputs.append(discriminator(x))
            x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        return outputs


def hinge_discriminator_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """mean(relu(1 - D(real))) + mean(relu(1 + D(fake))), averaged over the scales."""
    terms = [F.relu(1 - r[-1]).mean() + F.relu(1 + f[-1]).mean() for r, f in zip(real, fake, strict=True)]
    return sum(terms) / len(terms)


def hinge_generator_loss(fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """-mean(D(fake)), averaged over the scales."""
    return -sum(f[-1].mean() for f in fake) / len(fake)


def feature_matching_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """L1 between the discriminator features of real and fake (all layers but the score), averaged over scales."""
    total = 0.0
    for r, f in zip(real, fake, strict=True):
        for rf, ff in zip(r[:-1], f[:-1], strict=True):
            total = total + F.l1_loss(ff, rf.detach()) / (len(r) - 1)
    return total / len(real)


class VGGLoss(nn.Module):
    """The VGG19 perceptual loss of pix2pixHD / SPADE (layers relu1_1 .. relu5_1, weights 1/32 .. 1), from a
    torchvision-format VGG19 state dict that the user supplies (nothing is downloaded)."""

    SLICES = (2, 7, 12, 21, 30)
    WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)

    def __init__(self, weights_path: str) -> None:
        super().__init__()
        cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
        layers: list[nn.Module] = []
        channels = 3
        for item in cfg:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=False)]
                channels = item
        self.features = nn.Sequential(*layers)
        path = Path(weights_path)
        if not path.is_file():
            raise InputError(f"expected a VGG19 state dict file for --vgg-weights, got {path} (no such file)")
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
        try:
            self.features.load_state_dict(state)
        except RuntimeError as exc:
            raise InputError(f"expected torchvision VGG19 weights (features.N.weight ...), got {path}: {exc}") from exc
        self.requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        x = ((fake + 1) / 2 - self.mean) / self.std
        y = ((real + 1) / 2 - self.mean) / self.std
        loss, start = 0.0, 0
        for end, weight in zip(self.SLICES, self.WEIGHTS, strict=True):
            x, y = self.features[start:end](x), self.features[start:end](y)
            loss = loss + weight * F.l1_loss(x, y.detach())
            start = end
        return loss


@dataclass
class TrainedModel:
    """A trained generator with its run config; `translate` maps label maps to images."""

    generator: nn.Module
    config: RunConfig
    run_path: Path | None = None
    history: list[dict] | None = None

    @property
    def num_labels(self) -> int:
        return self.config.generator.num_labels

    @torch.no_grad()
    def translate(self, labels: np.ndarray, *, fast: bool = False, onnx: bool = False) -> np.ndarray:
        """(H, W) or (N, H, W) integer label maps -> (H, W, 3) or (N, H, W, 3) images in [0, 1].

        `fast` takes ASAPNet's optimised path on a CPU (`fast_path_helps`); `onnx` also runs its low-resolution
        stream in ONNX Runtime there (exported on the first call: worth it for many label maps or large widths).

        Raises:
            InputError: labels that are not integers, outside the model's classes, or of a size the model refuses.
        """
        array = np.asarray(labels)
        if not np.issubdtype(array.dtype, np.integer):
            raise InputError(f"expected an integer label map (class indices), got pixel type {array.dtype}")
        single = array.ndim == 2
        if array.ndim not in (2, 3):
            raise InputError(f"expected a label map of shape (H, W) or (N, H, W), got {array.shape}")
        device = next(self.generator.parameters()).device
        tensor = torch.as_tensor(array[None] if single else array, dtype=torch.long, device=device)
        if tensor.numel() and int(tensor.max()) >= self.num_labels:
            raise InputError(
                f"expected labels in 0..{self.num_labels - 1} (the model was trained with {self.num_labels} classes), "
                f"got a label map with values up to {int(tensor.max())}"
            )
        self.generator.eval()
        if fast and self.config.kind == "asapnet" and fast_path_helps(device):
            from tinkerlab.asapnet.fast import fast_forward

            backend = "onnxruntime" if onnx and self.generator.lr_stream.head.weight.dtype == torch.float32 else "torch"
            out = fast_forward(self.generator, tensor, channels_last=False, lr_backend=backend)
        else:
            out = self.generator(tensor)
        images = ((out.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy().astype(np.float32)
        return images[0] if single else images


def fast_path_helps(device: torch.device | str) -> bool:
    """Whether `translate(fast=True)` takes the optimised path on `device`: on a CPU only. Its chunked tile loop is
    tuned for CPU caches; on an H200 the plain path was faster at every size (plain 3.4 / 3.7 / 6.2 / 16.5 ms against
    fast 6.2 / 14.4 / 44.3 / 44.1 ms at 256 / 512 / 1024 / 2048 px, published widths, batch 1).

    Example:
        >>> fast_path_helps("cpu"), fast_path_helps("cuda:0")
        (True, False)
    """
    return torch.device(device).type == "cpu"


def data_provenance(data: PairedData) -> dict:
    """The hash of the paired data a run trains on (a changed dataset is refused on resume)."""
    digest = hashlib.sha1(np.ascontiguousarray(data.labels).tobytes())
    digest.update(np.ascontiguousarray((data.images * 255).astype(np.uint8)).tobytes())
    return {"kind": SYSTEM, "data": data.name, "pairs": len(data), "data_sha1": digest.hexdigest()[:16]}


def _batch(data: PairedData, index: np.ndarray, size: int, rng: np.random.Generator, device: str):
    labels, images = [], []
    for i in index:
        lab, img = data.labels[i], data.images[i]
        h, w = lab.shape
        if h < size or w < size:
            raise InputError(f"expected training pairs of at least {size}x{size}, got {h}x{w}; lower --size")
        top, left = rng.integers(0, h - size + 1), rng.integers(0, w - size + 1)
        lab, img = lab[top : top + size, left : left + size], img[top : top + size, left : left + size]
        if rng.random() < 0.5:
            lab, img = lab[:, ::-1], img[:, ::-1]
        labels.append(np.ascontiguousarray(lab))
        images.append(np.ascontiguousarray(img))
    label_tensor = torch.as_tensor(np.stack(labels), dtype=torch.long, device=device)
    image_tensor = torch.as_tensor(np.stack(images), device=device).permute(0, 3, 1, 2) * 2 - 1
    return label_tensor, image_tensor


def train_step(generator, discriminator, opt_g, opt_d, labels, real, config: TrainConfig, vgg=None) -> dict:
    """One generator and one discriminator update; returns the loss values."""
    num_labels = generator.config.num_labels
    one_hot = one_hot_labels(labels, num_labels)
    fake = generator(labels)
    # generator
    discriminator.requires_grad_(False)
    pred_fake = discriminator(torch.cat([one_hot, fake], 1))
    with torch.no_grad():
        pred_real = discriminator(torch.cat([one_hot, real], 1))
    loss_gan = hinge_generator_loss(pred_fake)
    loss_fm = feature_matching_loss(pred_real, pred_fake)
    loss_l1 = F.l1_loss(fake, real)
    loss_g = loss_gan + config.feature_matching_weight * loss_fm + config.l1_weight * loss_l1
    if vgg is not None:
        loss_g = loss_g + config.vgg_weight * vgg(fake, real)
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    # discriminator
    discriminator.requires_grad_(True)
    pred_fake = discriminator(torch.cat([one_hot, fake.detach()], 1))
    pred_real = discriminator(torch.cat([one_hot, real], 1))
    loss_d = hinge_discriminator_loss(pred_real, pred_fake)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    return {
        "g_gan": loss_gan.item(),
        "g_fm": float(loss_fm.detach()) if torch.is_tensor(loss_fm) else float(loss_fm),
        "g_l1": loss_l1.item(),
        "d": loss_d.item(),
    }


def _checkpoint_path(run) -> Path:
    return run.checkpoints / "last.pt"


def train(
    data: PairedData,
    config: RunConfig,
    *,
    out: str | Path,
    overwrite: bool = False,
    progress: bool = True,
) -> TrainedModel:
    """Train the generator of `config` on `data` into the run directory `out` (resumes a matching run).

    Args:
        data: the training pairs.
        config: which generator and how to train it.
        out: the run directory.
        overwrite: start afresh where `out` holds a run.
        progress: show a progress bar.

    Returns:
        The trained model (also saved in `out/checkpoints/last.pt` with its config).

    Raises:
        InputError: the data's classes do not match the generator, or bad sizes.
        ResumeError: `out` holds a run with another config or data.
    """
    from tinkerlab.core.progress import track
    from tinkerlab.core.runs import RunDir
    from tinkerlab.core.seeding import choose_device

    gen_config, tcfg = config.generator, config.train
    if data.num_labels != gen_config.num_labels:
        raise InputError(
            f"expected data with {gen_config.num_labels} label classes (the generator's num_labels), got "
            f"{data.num_labels} ({data.name})"
        )
    device = choose_device(tcfg.device)
    run = RunDir.open(out, system=SYSTEM, config=config, provenance=data_provenance(data), overwrite=overwrite)
    torch.manual_seed(tcfg.seed)
    generator = build_generator(gen_config).to(device)
    discriminator = MultiscaleDiscriminator(
        gen_config.num_labels + 3, tcfg.ndf, tcfg.discriminator_layers, tcfg.num_discriminators
    ).to(device)
    betas = (tcfg.beta1, tcfg.beta2)
    opt_g = torch.optim.Adam(generator.parameters(), lr=tcfg.lr_generator, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=tcfg.lr_discriminator, betas=betas)
    vgg = VGGLoss(tcfg.vgg_weights).to(device) if tcfg.vgg_weights else None
    state = run.state()
    start, history = 0, list(state.get("history", []))
    checkpoint = _checkpoint_path(run)
    if run.resumed and checkpoint.exists():
        try:
            saved = torch.load(checkpoint, map_location=device, weights_only=True)
            generator.load_state_dict(saved["generator"])
            discriminator.load_state_dict(saved["discriminator"])
            opt_g.load_state_dict(saved["opt_g"])
            opt_d.load_state_dict(saved["opt_d"])
            start = int(saved["step"])
        except (RuntimeError, KeyError, OSError, EOFError) as exc:
            raise InputError(f"damaged checkpoint {checkpoint}: {exc}; pass --overwrite to start again") from exc
    rng = np.random.default_rng([tcfg.seed, start])
    steps = range(start, tcfg.steps)
    iterator = track(steps, f"training {config.kind}", total=len(steps)) if progress else steps
    generator.train()
    discriminator.train()
    for step in iterator:
        index = rng.integers(0, len(data), tcfg.batch_size)
        labels, real = _batch(data, index, tcfg.size, rng, device)
        losses = train_step(generator, discriminator, opt_g, opt_d, labels, real, tcfg, vgg)
        if (step + 1) % max(1, tcfg.steps // 20) == 0 or step + 1 == tcfg.steps:
            history.append({"step": step + 1, **{k: round(v, 5) for k, v in losses.items()}})
        if (step + 1) % tcfg.checkpoint_every == 0 or step + 1 == tcfg.steps:
            _save_checkpoint(checkpoint, generator, discriminator, opt_g, opt_d, step + 1, config)
            run.save_state({"step": step + 1, "done": step + 1 == tcfg.steps, "history": history})
            run.log(f"step {step + 1}: " + ", ".join(f"{k} {v:.4f}" for k, v in losses.items()))
    if start >= tcfg.steps and not state.get("done"):
        run.save_state({"step": tcfg.steps, "done": True, "history": history})
    generator.eval()
    return TrainedModel(generator, config, run.path, history)


def _save_checkpoint(path: Path, generator, discriminator, opt_g, opt_d, step: int, config: RunConfig) -> None:
    from tinkerlab.core.config import config_to_dict

    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "generator": generator.state_dict(),
            "discriminator": discriminator.state_dict(),
            "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict(),
            "step": step,
            "config": config_to_dict(config),
        },
        tmp,
    )
    tmp.replace(path)


def load(run_path: str | Path, *, device: str = "cpu") -> TrainedModel:
    """Reopen a trained run: its generator (eval mode) and config.

    Raises:
        InputError: no run there, a run of another system, or no checkpoint yet.
    """
    from tinkerlab.core.runs import RunDir
    from tinkerlab.core.seeding import choose_device

    run, raw = RunDir.load(run_path, system=SYSTEM, hint="train one with `tinkerlab asapnet train`")
    config = run_config_from_dict(raw)
    checkpoint = _checkpoint_path(run)
    if not checkpoint.exists():
        raise InputError(f"expected a checkpoint in {checkpoint}, found none; finish training with the same command")
    device = choose_device(device)
    try:
        saved = torch.load(checkpoint, map_location=device, weights_only=True)
        generator = build_generator(config.generator).to(device)
        generator.load_state_dict(saved["generator"])
    except (RuntimeError, KeyError, OSError, EOFError) as exc:
        raise InputError(f"damaged checkpoint {checkpoint}: {exc}; train again with --overwrite") from exc
    generator.eval()
    return TrainedModel(generator, config, run.path, run.state().get("history"))
