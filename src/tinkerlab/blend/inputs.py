"""The K training images of a BlendGAN model: read, brought to one aspect ratio, resized to one pyramid.

Every image must give the same pyramid of shapes, so images whose aspect ratio differs from the first one's are
centre-cropped to it (and one line says which and how), or refused when cropping is turned off. Then each is
resized to the first image's finest shape and rounded to 8 bits, so a run trains on exactly what its saved
`input_K.png` files hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinkerlab.core.errors import InputError
from tinkerlab.pyramid.config import SinGANConfig
from tinkerlab.pyramid.scales import image_to_tensor, resize, tensor_to_image
from tinkerlab.pyramid.singan import prepare_image, quantise

MIN_IMAGES = 2


def check_image_count(count: int) -> None:
    """Refuse fewer than two images (a model of one image is SinGAN: `tinkerlab pyramid train`).

    Example:
        >>> check_image_count(1)
        Traceback (most recent call last):
        ...
        tinkerlab.core.errors.InputError: BlendGAN learns several images at once: expected at least 2 images, \
got 1 (for one image use `tinkerlab pyramid train`)
    """
    if count < MIN_IMAGES:
        raise InputError(
            f"BlendGAN learns several images at once: expected at least {MIN_IMAGES} images, got {count} "
            "(for one image use `tinkerlab pyramid train`)"
        )


def check_identity(index: int, num_images: int, name: str = "identity") -> int:
    """Check an image index against the number of training images.

    Example:
        >>> check_identity(2, 2, "--image")
        Traceback (most recent call last):
        ...
        tinkerlab.core.errors.InputError: --image: expected an image index in 0..1 (the model has 2 images), got 2
    """
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < num_images:
        raise InputError(
            f"{name}: expected an image index in 0..{num_images - 1} (the model has {num_images} images), got {index!r}"
        )
    return int(index)


def centre_crop_box(height: int, width: int, aspect: float) -> tuple[int, int, int, int]:
    """The largest centred (top, bottom, left, right) box of an HxW image with width / height = `aspect`.

    Example:
        >>> centre_crop_box(512, 512, 0.75)
        (0, 512, 64, 448)
    """
    if width / height > aspect:  # too wide: crop the width
        new_width = max(1, round(height * aspect))
        left = (width - new_width) // 2
        return 0, height, left, left + new_width
    new_height = max(1, round(width / aspect))
    top = (height - new_height) // 2
    return top, top + new_height, 0, width


def match_aspect(
    images: Sequence[np.ndarray], *, crop: bool = True, names: Sequence[str] | None = None
) -> tuple[list[np.ndarray], str | None]:
    """Bring every image to the first one's aspect ratio.

    Args:
        images: HxWxC arrays.
        crop: centre-crop images of another aspect ratio; False refuses them.
        names: how to name the images in messages (default "image 1", "image 2", ...).

    Returns:
        The images (cropped where needed) and one line saying what was cropped (None when nothing was).

    Raises:
        InputError: with `crop=False`, an image whose aspect ratio differs from the first one's by more than a
            pixel.
    """
    names = list(names) if names is not None else [f"image {i + 1}" for i in range(len(images))]
    first_h, first_w = np.asarray(images[0]).shape[:2]
    aspect = first_w / first_h
    out, crops = [np.asarray(images[0])], []
    for image, name in zip(images[1:], names[1:], strict=True):
        image = np.asarray(image)
        height, width = image.shape[:2]
        top, bottom, left, right = centre_crop_box(height, width, aspect)
        if bottom - top >= height - 1 and right - left >= width - 1:  # the same aspect ratio to within a pixel
            out.append(image)
            continue
        if not crop:
            raise InputError(
                f"all images need {names[0]}'s aspect ratio: expected width/height {aspect:.3f} "
                f"({first_h}x{first_w}), got {width / height:.3f} for {name} ({height}x{width}); "
                "crop it yourself or drop --no-crop to centre-crop it"
            )
        out.append(image[top:bottom, left:right])
        crops.append(f"{name} {height}x{width} -> {bottom - top}x{right - left}")
    if not crops:
        return out, None
    return out, f"centre-cropped to {names[0]}'s aspect ratio ({first_h}x{first_w}): " + ", ".join(crops)


def prepare_images(
    images: Sequence[np.ndarray],
    config: SinGANConfig,
    *,
    crop: bool = True,
    names: Sequence[str] | None = None,
) -> tuple[list[np.ndarray], list[tuple[int, int]], str | None]:
    """The K images at the finest scale (8-bit values, HxWx3) and the shapes of all scales.

    Returns:
        (images, shapes, note): `note` is the one line saying what was cropped, or None.

    Raises:
        InputError: fewer than two images, an image that is not HxWx3 (or HxW), another aspect ratio with
            `crop=False`, or images too small for the pyramid.
    """
    check_image_count(len(images))
    for index, image in enumerate(images):
        shape = np.asarray(image).shape
        if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (1, 3, 4)):
            label = names[index] if names is not None else f"image {index + 1}"
            raise InputError(f"{label}: expected an HxWx3 (or HxW) image, got an array of shape {shape}")
    rgb = [np.asarray(image)[:, :, :3] if np.asarray(image).ndim == 3 else np.asarray(image) for image in images]
    matched, note = match_aspect(rgb, crop=crop, names=names)
    first, shapes = prepare_image(matched[0], config)
    fine = shapes[-1]
    out = [first]
    for image in matched[1:]:
        array = quantise(image)
        if tuple(array.shape[:2]) != tuple(fine):
            array = quantise(tensor_to_image(resize(image_to_tensor(array), fine)))
        out.append(array)
    return out, shapes, note


def read_images(sources: Sequence[str], *, max_side: int | None = None) -> list[np.ndarray]:
    """Image files or `sample:NAME` packaged photos and textures, as HxWx3 float32 arrays.

    Raises:
        InputError: fewer than two sources, or a file that cannot be read.
    """
    from tinkerlab.core.assets import image_source

    check_image_count(len(sources))
    return [image_source(source, max_side=max_side) for source in sources]
