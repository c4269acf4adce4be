"""Metrics for single-image generative models that need no downloads: multi-scale patch sliced-Wasserstein distance,
the SinGAN diversity measure (Shaham et al., ICCV 2019), copy detection, and the hole-versus-visible patch distance
used to judge IDC completions (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280). SIFID runs only with a
feature extractor the user supplies (the Inception weights are a download).

Images are HxWxC float arrays in [0, 1]; masks HxW bool (True = hole).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tinkerlab.core.errors import InputError, MissingAssetError


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]


def patches(image: np.ndarray, size: int = 7) -> torch.Tensor:
    """All `size` x `size` patches of an image as rows: (number of patch centres, C * size * size), row-major."""
    return F.unfold(_to_tensor(image), size)[0].T.contiguous()


def centre_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """The mask cropped to the valid patch centres of `size` x `size` patches, flattened like `patches` rows."""
    half = size // 2
    return np.asarray(mask, dtype=bool)[half : mask.shape[0] - half, half : mask.shape[1] - half].reshape(-1)


def touches_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """For each patch (flattened like `patches` rows): does any of its pixels lie in the mask."""
    tensor = torch.from_numpy(np.asarray(mask, dtype=np.float32))[None, None]
    return (F.max_pool2d(tensor, size, stride=1)[0, 0].numpy() > 0.5).reshape(-1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, projections: int = 128, seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance between two point sets (N, D) and (M, D).

    Each random unit direction projects both sets; their sorted projections are compared at 256 shared
    quantiles (so N and M may differ) by the mean absolute difference, averaged over directions.

    Raises:
        InputError: an empty set or different dimensions.
    """
    if a.shape[0] == 0 or b.shape[0] == 0:
        raise InputError(f"sliced_wasserstein needs non-empty sets, got {a.shape[0]} and {b.shape[0]} points")
    if a.shape[1] != b.shape[1]:
        raise InputError(f"point dimensions differ: {a.shape[1]} and {b.shape[1]}")
    rng = torch.Generator().manual_seed(seed)
    directions = torch.randn((a.shape[1], projections), generator=rng)
    directions = directions / directions.norm(dim=0, keepdim=True)
    levels = torch.linspace(0.0, 1.0, 256)
    qa = torch.quantile(a @ directions, levels, dim=0)  # (256, projections)
    qb = torch.quantile(b @ directions, levels, dim=0)
    return float((qa - qb).abs().mean())


def _downscale(image: np.ndarray, factor: float) -> np.ndarray:
    tensor = _to_tensor(image)
    shape = (max(1, round(tensor.shape[2] * factor)), max(1, round(tensor.shape[3] * factor)))
    out = F.interpolate(tensor, size=shape, mode="bilinear", align_corners=False, antialias=True)
    return out[0].numpy().transpose(1, 2, 0)


def _downscale_mask(mask: np.ndarray, factor: float) -> np.ndarray:
    return _downscale(np.asarray(mask, dtype=np.float32)[:, :, None], factor)[:, :, 0] > 1e-6


def patch_swd(
    a: np.ndarray, b: np.ndarray, *, patch: int = 7, scales: int = 3, projections: int = 128, seed: int = 0
) -> float:
    """Multi-scale patch sliced-Wasserstein distance between two images (0 = same patch statistics).

    The mean over `scales` levels (each half the previous size, while both images keep at least 2 patches per
    side) of the sliced Wasserstein distance between the images' `patch` x `patch` patches.
    """
    values = []
    for level in range(scales):
        factor = 0.5**level
        sa, sb = _downscale(a, factor), _downscale(b, factor)
        if min(sa.shape[:2] + sb.shape[:2]) < patch + 1:
            break
        values.append(sliced_wasserstein(patches(sa, patch), patches(sb, patch), projections, seed + level))
    if not values:
        raise InputError(f"images too small for {patch}x{patch} patches: {a.shape[:2]} and {b.shape[:2]}")
    return float(np.mean(values))


def _draw_rows(rows: torch.Tensor, count: int, rng: torch.Generator) -> torch.Tensor:
    """At most `count` of the rows, drawn without replacement."""
    if rows.shape[0] <= count:
        return rows
    return rows[torch.randperm(rows.shape[0], generator=rng)[:count]]


def hole_patch_distance(
    filled: np.ndarray,
    hole: np.ndarray,
    *,
    patch: int = 7,
    scales: int = 2,
    projections: int = 128,
    seed: int = 0,
    max_patches: int | None = None,
) -> float:
    """How far the patches of a filled hole are from the image's visible patches (lower = more plausible fill).

    At each of `scales` levels: the sliced Wasserstein distance between the patches centred in the hole and the
    patches lying entirely in the visible region, both taken from `filled`; the mean over levels.

    `max_patches` (None: all) draws at most that many patches of each set, without replacement and the same for
    every fill of one image (seeded by `seed` and the level), which makes the distance affordable on large photos
    (the quantiles compared are 256 per direction, so a sample of a few thousand patches estimates them well).

    Raises:
        InputError: the hole or the visible region has no patch at the finest level.
    """
    values = []
    for level in range(scales):
        factor = 0.5**level
        image = _downscale(filled, factor) if level else np.asarray(filled, dtype=np.float32)
        mask = _downscale_mask(hole, factor) if level else np.asarray(hole, dtype=bool)
        if min(image.shape[:2]) < patch + 1:
            break
        rows = patches(image, patch)
        inside = centre_mask(mask, patch)
        visible = ~touches_mask(mask, patch)
        if inside.sum() < 4 or visible.sum() < 4:
            if level == 0:
                raise InputError(
                    "need patches in the hole and in the visible region, "
                    f"got {int(inside.sum())} and {int(visible.sum())}"
                )
            break
        hole_rows, visible_rows = rows[torch.from_numpy(inside)], rows[torch.from_numpy(visible)]
        if max_patches is not None:
            rng = torch.Generator().manual_seed(seed + 1000 * (level + 1))
            hole_rows, visible_rows = (_draw_rows(part, max_patches, rng) for part in (hole_rows, visible_rows))
        values.append(sliced_wasserstein(hole_rows, visible_rows, projections, seed + level))
    return float(np.mean(values))


def singan_diversity(samples: Sequence[np.ndarray], reference: np.ndarray, region: np.ndarray | None = None) -> float:
    """SinGAN's diversity: the per-pixel std over samples (mean over channels) averaged over pixels, divided by
    the std of the reference image. With `region` (HxW bool; e.g. the IDC hole), the average runs over the region
    and the reference std over the pixels outside it.

    Raises:
        InputError: fewer than 2 samples or shapes that differ.
    """
    if len(samples) < 2:
        raise InputError(f"diversity needs at least 2 samples, got {len(samples)}")
    stack = np.stack([np.asarray(s, dtype=np.float32) for s in samples])
    if stack.shape[1:] != np.asarray(reference).shape:
        raise InputError(f"sample shape {stack.shape[1:]} differs from the reference {np.asarray(reference).shape}")
    per_pixel = stack.std(axis=0).mean(axis=-1)  # (H, W)
    reference = np.asarray(reference, dtype=np.float32)
    if region is None:
        return float(per_pixel.mean() / max(reference.std(), 1e-8))
    region = np.asarray(region, dtype=bool)
    return float(per_pixel[region].mean() / max(reference[~region].std(), 1e-8))


def copy_fraction(generated: np.ndarray, training: np.ndarray, *, patch: int = 7, tolerance: int = 1) -> float:
    """The fraction of generated patches whose nearest training patch sits at the same place (within `tolerance`
    pixels). Near 1 means the model copies the training image; a good sample generator scores low.

    Needs images of the same size.
    """
    if np.asarray(generated).shape != np.asarray(training).shape:
        raise InputError(f"copy_fraction compares same-size images, got {generated.shape} and {training.shape}")
    gen, ref = patches(generated, patch), patches(training, patch)
    nearest = torch.cdist(gen, ref, compute_mode="donot_use_mm_for_euclid_dist").argmin(dim=1).numpy()  # (N,)
    width = generated.shape[1] - patch + 1
    own = np.arange(gen.shape[0])
    dy = np.abs(nearest // width - own // width)
    dx = np.abs(nearest % width - own % width)
    return float(np.mean((dy <= tolerance) & (dx <= tolerance)))


def nearest_patch_distance(generated: np.ndarray, training: np.ndarray, *, patch: int = 7) -> float:
    """The mean L2 distance from each generated patch to its nearest training patch (fidelity)."""
    distances = torch.cdist(
        patches(generated, patch), patches(training, patch), compute_mode="donot_use_mm_for_euclid_dist"
    )
    return float(distances.min(dim=1).values.mean())


def sifid(
    real: np.ndarray,
    fake: np.ndarray,
    features: Callable[[torch.Tensor], torch.Tensor] | str | Path | None = None,
) -> float:
    """Single-image FID: the Frechet distance between the per-position feature statistics of two images.

    SinGAN uses the 192-channel map of InceptionV3's second max-pool block; those weights are a download, so
    pass them yourself: `features` is a callable or the path of a TorchScript module mapping (1, 3, H, W) in [0, 1]
    to a (1, C, h, w) feature map.

    Raises:
        MissingAssetError: no feature extractor was supplied.
    """
    if features is None:
        raise MissingAssetError(
            "SIFID's Inception feature extractor",
            "export InceptionV3's 192-channel block as TorchScript and pass its path (features=PATH)",
        )
    if isinstance(features, (str, Path)):
        path = Path(features)
        if not path.exists():
            raise InputError(f"feature extractor {str(path)!r} does not exist")
        features = torch.jit.load(str(path)).eval()
    from scipy import linalg

    with torch.no_grad():
        stats = []
        for image in (real, fake):
            fmap = features(_to_tensor(image))[0]  # (C, h, w)
            rows = fmap.reshape(fmap.shape[0], -1).T.double().numpy()
            stats.append((rows.mean(axis=0), np.cov(rows, rowvar=False)))
    (mu1, s1), (mu2, s2) = stats
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    covmean = np.real(covmean)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
