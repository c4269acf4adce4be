"""Files into and out of a sandbox's scratch folder, safely: the code may have planted symlinks there.

Every path is opened one component at a time relative to a directory descriptor with `O_NOFOLLOW`, so a write from
the parent never lands outside the folder, and reading back what the code wrote never follows a link out of it.
Pictures are counted and their size is read from the header before any is decoded, within a total pixel budget.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from tinkerlab.core.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")
MAX_RETURNED_FILE_BYTES = 1_000_000  # per non-image file in Outcome.files
MAX_RETURNED_FILES_TOTAL = 8_000_000
MAX_IMAGES = 32
MAX_IMAGE_BYTES = 16_000_000  # an encoded picture larger than this is not decoded
MAX_IMAGE_PIXELS = 4096 * 4096  # per picture
MAX_TOTAL_PIXELS = 48 * 2**20  # all pictures of one call together (about 200 MB as RGBA)
MAX_SCANNED_FILES = 5_000

FileSpec = Mapping[str, "str | bytes | Path"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _parts(name: object) -> tuple[str, ...]:
    relative = PurePosixPath(str(name))
    if relative.is_absolute() or ".." in relative.parts or not relative.parts or "." in relative.parts:
        raise InputError(f"file names must be relative paths inside the working directory, got {name!r}")
    return relative.parts


def _open_parent(root: Path, parts: tuple[str, ...], *, create: bool) -> int:
    """A descriptor of the folder holding `parts[-1]`, reached without following any symlink."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts[:-1]:
            if create:
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
            next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_files(scratch_dir: Path, files: FileSpec | None) -> None:
    """Write `files` (relative path -> text, bytes, or a Path to copy) into the scratch directory.

    A path through a symlink (one the code planted in an earlier call, say) is refused instead of followed.

    Raises:
        InputError: A path is absolute, leaves the directory or passes through a symlink, a value has the wrong
            type, or a Path is missing.
    """
    if not files:
        return
    root = Path(scratch_dir)
    for name, content in files.items():
        parts = _parts(name)
        if isinstance(content, Path):
            if not content.is_file():
                raise InputError(f"file {name!r}: expected an existing file to copy, got {str(content)!r}")
        elif not isinstance(content, (bytes, str)):
            raise InputError(f"file {name!r}: expected str (text), bytes or pathlib.Path, got {type(content).__name__}")
        try:
            parent = _open_parent(root, parts, create=True)
            try:
                fd = os.open(
                    parts[-1],
                    os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                    0o644,
                    dir_fd=parent,
                )
            finally:
                os.close(parent)
        except OSError as exc:
            raise InputError(
                f"file {name!r}: cannot write it inside the working directory without following a symlink or "
                f"leaving it ({exc.strerror})"
            ) from None
        with open(fd, "wb") as handle:
            if isinstance(content, Path):
                with open(content, "rb") as source:
                    shutil.copyfileobj(source, handle)
            elif isinstance(content, bytes):
                handle.write(content)
            else:
                handle.write(content.encode("utf-8"))


def read_file(scratch_dir: Path, relative: str, limit: int) -> bytes | None:
    """The bytes of a regular file in the scratch folder (no symlink followed), or None if it is not one or is
    larger than `limit`."""
    try:
        parts = _parts(relative)
        parent = _open_parent(Path(scratch_dir), parts, create=False)
        try:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=parent)
        finally:
            os.close(parent)
    except (OSError, InputError):
        return None
    with open(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        data = handle.read(limit + 1)
    return data if len(data) <= limit else None


def snapshot(scratch_dir: Path) -> dict[str, tuple[int, int]]:
    """relative path -> (size, mtime_ns) of the regular files the code can see (hidden top-level folders skipped)."""
    found: dict[str, tuple[int, int]] = {}
    root = str(scratch_dir)
    for folder, subfolders, names in os.walk(root):
        if folder == root:
            subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        subfolders[:] = [d for d in subfolders if d != "__pycache__"]
        for name in names:
            path = os.path.join(folder, name)
            try:
                info = os.stat(path, follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            found[os.path.relpath(path, root).replace(os.sep, "/")] = (info.st_size, info.st_mtime_ns)
            if len(found) >= MAX_SCANNED_FILES:
                return found
    return found


def disk_usage(scratch_dir: Path, stop_at: int) -> int:
    """Bytes the scratch folder takes on disk (allocated blocks, hidden folders included), counted up to `stop_at`."""
    total = 0
    for folder, _, names in os.walk(str(scratch_dir)):
        total += 4096
        for name in names:
            try:
                total += os.stat(os.path.join(folder, name), follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
        if total > stop_at:
            break
    return total


class ImageBudget:
    """Decodes pictures only while the count and the total pixel budget allow; says what it skipped."""

    def __init__(self, max_images: int = MAX_IMAGES, max_total_pixels: int = MAX_TOTAL_PIXELS) -> None:
        self.max_images = max_images
        self.pixels_left = max_total_pixels
        self.images: list = []
        self.skipped: list[str] = []

    def add(self, data: bytes, label: str, filename: str | None = None) -> bool:
        """Decode `data` if it fits; True when it was a picture (kept or skipped), False when it is not one."""
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as opened:
                width, height = opened.size
                pixels = width * height
                if len(self.images) >= self.max_images:
                    self.skipped.append(f"{label}: more than {self.max_images} pictures")
                    return True
                if pixels > MAX_IMAGE_PIXELS or pixels > self.pixels_left:
                    self.skipped.append(f"{label}: {width}x{height} is over the pixel budget")
                    return True
                opened.load()
                image = opened.copy()
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            return False
        self.pixels_left -= pixels
        if filename is not None:
            image.info["filename"] = filename
        self.images.append(image)
        return True

    def note(self) -> str:
        if not self.skipped:
            return ""
        shown = "; ".join(self.skipped[:5]) + (f"; ... {len(self.skipped) - 5} more" if len(self.skipped) > 5 else "")
        return f"[sandbox] {len(self.skipped)} picture(s) not returned ({shown})\n"


def collect_written(scratch_dir: Path, before: dict[str, tuple[int, int]], budget: ImageBudget) -> dict[str, bytes]:
    """Images (into `budget`) and small files that are new or changed since `before`; no symlink is followed."""
    files: dict[str, bytes] = {}
    total = 0
    for relative, stamp in sorted(snapshot(scratch_dir).items()):
        if before.get(relative) == stamp:
            continue
        if relative.lower().endswith(IMAGE_SUFFIXES):
            if len(budget.images) >= budget.max_images:
                budget.skipped.append(f"{relative}: more than {budget.max_images} pictures")
                continue
            data = read_file(scratch_dir, relative, MAX_IMAGE_BYTES)
            if data is None:
                if stamp[0] > MAX_IMAGE_BYTES:
                    budget.skipped.append(f"{relative}: larger than {MAX_IMAGE_BYTES} bytes")
                continue
            if budget.add(data, relative, filename=relative):
                continue
            if len(data) > MAX_RETURNED_FILE_BYTES:  # not a readable picture after all: return it as a file
                continue
        elif stamp[0] > MAX_RETURNED_FILE_BYTES:
            continue
        else:
            data = read_file(scratch_dir, relative, MAX_RETURNED_FILE_BYTES)
            if data is None:
                continue
        if total + len(data) <= MAX_RETURNED_FILES_TOTAL:
            files[relative] = data
            total += len(data)
    return files
