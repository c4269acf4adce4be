"""The checks of a BlendGAN model, none of which needs a download: identity fidelity by patch distance, per-image
reconstruction error, morph monotonicity, meld locality and seam energy, structure-texture fusion, parameter count.

Images are HxWxC float arrays in [0, 1]. Patch distances are the multi-scale patch sliced-Wasserstein distance of
the pyramid engine (`tinkerlab.pyramid.metrics.patch_swd`): 0 means the same patch statistics.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from tinkerlab.core.errors import InputError
from tinkerlab.pyramid.metrics import patch_swd


def grey(image: np.ndarray) -> np.ndarray:
    """HxW: the mean over channels."""
    array = np.asarray(image, dtype=np.float32)
    return array.mean(axis=2) if array.ndim == 3 else array


# --- identity fidelity ------------------------------------------------------------------------------------------


def patch_distances(sample: np.ndarray, images: Sequence[np.ndarray], *, scales: int = 2, seed: int = 0) -> list[float]:
    """The patch distance (multi-scale patch SWD, 7x7 patches) from `sample` to each training image."""
    return [patch_swd(sample, image, scales=scales, seed=seed) for image in images]


@dataclass(frozen=True)
class IdentityReport:
    """Nearest-image test: for samples drawn with identity k, how often training image k is the nearest one.

    Attributes:
        accuracy: per identity k, the share of its samples whose nearest image (by patch distance) is k.
        mean_distances: [k][j], the mean patch distance from identity k's samples to image j.
        counts: samples per identity.
    """

    accuracy: tuple[float, ...]
    mean_distances: tuple[tuple[float, ...], ...]
    counts: tuple[int, ...]

    @property
    def overall(self) -> float:
        """The share of all samples classified to their own identity."""
        return float(np.sum(np.multiply(self.accuracy, self.counts)) / max(1, sum(self.counts)))


def identity_accuracy(samples: Sequence[Sequence[np.ndarray]], images: Sequence[np.ndarray]) -> IdentityReport:
    """The nearest-image test over `samples[k]` (samples drawn with identity k) against the training `images`.

    Raises:
        InputError: a number of sample groups other than the number of images, or an empty group.
    """
    if len(samples) != len(images):
        raise InputError(f"expected one group of samples per image ({len(images)}), got {len(samples)}")
    accuracy, means, counts = [], [], []
    for k, group in enumerate(samples):
        if not group:
            raise InputError(f"expected some samples of identity {k}, got none")
        distances = np.array([patch_distances(s, images) for s in group])  # (n, K)
        accuracy.append(float(np.mean(distances.argmin(axis=1) == k)))
        means.append(tuple(float(v) for v in distances.mean(axis=0)))
        counts.append(len(group))
    return IdentityReport(tuple(accuracy), tuple(means), tuple(counts))


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    """Root mean squared difference of two same-size images (in [0, 1] units).

    Raises:
        InputError: different shapes.
    """
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if a.shape != b.shape:
        raise InputError(f"rmse compares same-size images, got {a.shape} and {b.shape}")
    return float(np.sqrt(np.mean((a - b) ** 2)))


# --- morphing ---------------------------------------------------------------------------------------------------


def rank_correlation(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (ties get their mean rank).

    Example:
        >>> round(rank_correlation([0, 1, 2, 3], [1.0, 1.5, 3.0, 2.9]), 3)
        0.8
    """
    from scipy.stats import rankdata

    rx, ry = rankdata(x), rankdata(y)
    if np.std(rx) == 0 or np.std(ry) == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


@dataclass(frozen=True)
class MorphTrend:
    """How a morph moves from A to B as t goes 0 -> 1 (distances averaged over noise seeds).

    Attributes:
        t: the mixture weights.
        to_a, to_b: mean patch distance of the morph at each t to image A and to image B.
        rho_a, rho_b: rank correlation of t with the distance to A (+1: rises monotonically) and to B (-1: falls).
        noise: the mean (over t) standard error of the distances over seeds: the size of a step that is noise.
        reversals: steps where the distance to A falls, or to B rises, by more than twice `noise`.
    """

    t: tuple[float, ...]
    to_a: tuple[float, ...]
    to_b: tuple[float, ...]
    rho_a: float
    rho_b: float
    noise: float
    reversals: int

    @property
    def monotone(self) -> bool:
        """No reversal beyond noise, and the distance to A ends above where it starts (and to B below)."""
        return self.reversals == 0 and self.to_a[-1] > self.to_a[0] and self.to_b[-1] < self.to_b[0]


def morph_trend(t: Sequence[float], to_a: np.ndarray, to_b: np.ndarray) -> MorphTrend:
    """Summarise a morph from the distances of its frames.

    Args:
        t: the T mixture weights.
        to_a, to_b: (S, T) patch distances to A and to B of the frames made with S noise seeds.

    Raises:
        InputError: shapes that do not match.
    """
    to_a, to_b = np.atleast_2d(np.asarray(to_a, float)), np.atleast_2d(np.asarray(to_b, float))
    if to_a.shape != to_b.shape or to_a.shape[1] != len(t):
        raise InputError(f"expected (seeds, {len(t)}) distances to A and B, got {to_a.shape} and {to_b.shape}")
    mean_a, mean_b = to_a.mean(axis=0), to_b.mean(axis=0)
    seeds = to_a.shape[0]
    if seeds > 1:
        noise = float(np.mean(np.concatenate([to_a.std(axis=0, ddof=1), to_b.std(axis=0, ddof=1)])) / np.sqrt(seeds))
    else:
        noise = 0.0
    reversals = int(np.sum(np.diff(mean_a) < -2 * noise) + np.sum(np.diff(mean_b) > 2 * noise))
    return MorphTrend(
        tuple(float(v) for v in t),
        tuple(float(v) for v in mean_a),
        tuple(float(v) for v in mean_b),
        rank_correlation(t, mean_a),
        rank_correlation(t, mean_b),
        noise,
        reversals,
    )


# --- melding ----------------------------------------------------------------------------------------------------


def column_energy(image: np.ndarray) -> np.ndarray:
    """Gradient energy per column: the mean over rows of |grad I|^2 of the grey image, (W,) (forward differences,
    the last row and column repeated)."""
    g = grey(image)
    gx = np.diff(g, axis=1, append=g[:, -1:])
    gy = np.diff(g, axis=0, append=g[-1:, :])
    return (gx**2 + gy**2).mean(axis=0)


def seam_energy_ratio(image: np.ndarray, centre: float = 0.5, band: int = 4) -> float:
    """Gradient energy in a `band`-column strip around the seam over the mean energy of the other columns.

    About 1 means the seam is no busier than the rest of the image; a visible stitch (a hard edge along the seam)
    gives a value well above 1.
    """
    energy = column_energy(image)
    width = energy.shape[0]
    middle = centre * width
    columns = np.arange(width) + 0.5
    inside = np.abs(columns - middle) <= band / 2
    if inside.all() or not inside.any():
        raise InputError(f"expected a seam band narrower than the image ({width} columns), got {band}")
    return float(energy[inside].mean() / max(energy[~inside].mean(), 1e-12))


@dataclass(frozen=True)
class MeldReport:
    """Locality of a left-right meld of A (left) and B (right).

    Attributes:
        left_to_a, left_to_b: patch distance of the part left of the seam to image A and to image B.
        right_to_a, right_to_b: the same for the part right of the seam.
        seam_ratio: `seam_energy_ratio` of the meld (about 1: no visible stitch).
    """

    left_to_a: float
    left_to_b: float
    right_to_a: float
    right_to_b: float
    seam_ratio: float

    @property
    def local(self) -> bool:
        """Left of the seam closer to A and right of it closer to B."""
        return self.left_to_a < self.left_to_b and self.right_to_b < self.right_to_a


def meld_locality(
    meld: np.ndarray,
    image_a: np.ndarray,
    image_b: np.ndarray,
    *,
    centre: float = 0.5,
    seam: float = 0.25,
    band: int = 4,
) -> MeldReport:
    """Measure a left-right meld: the parts left and right of the seam region (centre +- seam / 2 of the width)
    against the two training images, and the gradient energy at the seam.

    Raises:
        InputError: sides too narrow for 7x7 patches.
    """
    width = np.asarray(meld).shape[1]
    left_end = int(np.floor((centre - seam / 2) * width))
    right_start = int(np.ceil((centre + seam / 2) * width))
    left, right = meld[:, : max(0, left_end)], meld[:, min(width, right_start) :]
    if min(left.shape[1], right.shape[1]) < 8:
        raise InputError(
            f"expected at least 8 columns on each side of the seam, got {left.shape[1]} and {right.shape[1]}"
        )
    return MeldReport(
        patch_swd(left, image_a, scales=1),
        patch_swd(left, image_b, scales=1),
        patch_swd(right, image_a, scales=1),
        patch_swd(right, image_b, scales=1),
        seam_energy_ratio(meld, centre, band),
    )


def hard_stitch(left_image: np.ndarray, right_image: np.ndarray, centre: float = 0.5) -> np.ndarray:
    """The naive baseline of a meld: the left part of one image pasted beside the right part of another."""
    width = np.asarray(left_image).shape[1]
    cut = round(centre * width)
    return np.concatenate([left_image[:, :cut], right_image[:, cut:]], axis=1)


# --- structure-texture fusion -----------------------------------------------------------------------------------


def low_pass(image: np.ndarray, sigma: float) -> np.ndarray:
    """The grey image blurred by a Gaussian of std `sigma` pixels (reflecting borders)."""
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(grey(image), sigma, mode="reflect")


def high_pass(image: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """The image minus its blur (std `sigma`), per channel, shifted to be centred on 0.5 (HxWxC)."""
    from scipy.ndimage import gaussian_filter

    array = np.asarray(image, dtype=np.float32)
    blurred = gaussian_filter(array, (sigma, sigma, 0), mode="reflect")
    return array - blurred + 0.5


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two same-size arrays (0 when one is constant)."""
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


@dataclass(frozen=True)
class FusionReport:
    """What a structure-texture fusion of A (structure) and B (texture) keeps.

    Attributes:
        low_corr_structure, low_corr_texture: correlation of the low-passed fusion with low-passed A and B.
        fine_to_structure, fine_to_texture: patch distance (finest level) between the high-passed fusion and the
            high-passed A and B (or the mean over reference samples of A and of B, see `fusion_report`).
    """

    low_corr_structure: float
    low_corr_texture: float
    fine_to_structure: float
    fine_to_texture: float

    @property
    def keeps_structure(self) -> bool:
        return self.low_corr_structure > self.low_corr_texture

    @property
    def takes_texture(self) -> bool:
        return self.fine_to_texture < self.fine_to_structure


def fusion_report(
    fused: np.ndarray,
    structure: np.ndarray,
    texture: np.ndarray,
    *,
    sigma: float | None = None,
    fine_sigma: float = 1.5,
    references: tuple[Sequence[np.ndarray], Sequence[np.ndarray]] | None = None,
) -> FusionReport:
    """Measure a fusion: low frequencies against A (`structure`), fine patch statistics against B (`texture`).

    Args:
        sigma: the low-pass std in pixels (default: the shorter side / 12).
        fine_sigma: the std of the blur whose residual is the high-pass image.
        references: (samples of A, samples of B) drawn from the same model: the fine patch distances are then the
            mean distances to these samples' high-passed images instead of to the training images'. A model's
            outputs are smoother than its training images, so against the real images a smooth output can look
            closer to the low-contrast image whatever its texture (plain samples of coffee read as chelsea on
            the photo pair); against the model's own samples, plain samples of A and of B are classified right.

    Raises:
        InputError: the fusion and the structure image differ in size.
    """
    if np.asarray(fused).shape[:2] != np.asarray(structure).shape[:2]:
        raise InputError(f"expected the fusion at the structure image's size, got {fused.shape} and {structure.shape}")
    sigma = sigma if sigma is not None else min(fused.shape[:2]) / 12
    low = low_pass(fused, sigma)
    texture_low = low_pass(texture, sigma)
    if texture_low.shape != low.shape:
        texture_low = low_pass(_resize_like(texture, fused), sigma)
    fine = high_pass(fused, fine_sigma)
    to_a, to_b = ([structure], [texture]) if references is None else references
    if not len(to_a) or not len(to_b):
        raise InputError("expected at least one reference sample of A and of B, got an empty list")

    def fine_distance(targets: Sequence[np.ndarray]) -> float:
        return float(np.mean([patch_swd(fine, high_pass(t, fine_sigma), scales=1) for t in targets]))

    return FusionReport(
        correlation(low, low_pass(structure, sigma)),
        correlation(low, texture_low),
        fine_distance(to_a),
        fine_distance(to_b),
    )


def _resize_like(image: np.ndarray, like: np.ndarray) -> np.ndarray:
    from tinkerlab.pyramid.scales import image_to_tensor, resize, tensor_to_image

    return tensor_to_image(resize(image_to_tensor(image), np.asarray(like).shape[:2]))


# --- size -------------------------------------------------------------------------------------------------------


def parameter_count(modules: Iterable) -> int:
    """Parameters of some `torch.nn.Module`s, in all."""
    return int(sum(p.numel() for module in modules for p in module.parameters()))
