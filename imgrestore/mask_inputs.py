"""Where a task's mask comes from: a folder matched by file name, one file for every image, or
the image's own alpha channel. White (or transparent, with --mask-from-alpha) means "fill":
a pixel brighter than half the range, after a mask's own alpha (transparent = keep) is applied.

The core reads masks for any task that lists "mask" in TaskSpec.inputs, so a task plugin never
sees file names: it finds the mask on the Picture (`picture.mask`, H×W bool) in its prepare hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imgrestore.images import IMAGE_SUFFIXES, Picture, read_image, to_color_mode


class MaskError(ValueError):
    """A mask is missing, unreadable, or its size differs from its image. Fails that file only."""


@dataclass(frozen=True)
class MaskSource:
    folder: Path | None = None
    """Masks named like the inputs (same relative path and stem, any image suffix, or the stem
    with "_mask" appended)."""
    file: Path | None = None
    """One mask for every image."""
    from_alpha: bool = False
    """Fill where the image is transparent (alpha below half its range)."""

    def __post_init__(self) -> None:
        given = sum([self.folder is not None, self.file is not None, self.from_alpha])
        if given != 1:
            raise ValueError("give exactly one of --masks DIR, --mask FILE, --mask-from-alpha")

    def load(self, name: Path, picture: Picture, source: Path | None = None) -> np.ndarray:
        """The H×W bool mask (True = fill) of the image at relative path `name`, read from
        `source` (never its own mask, when the masks folder is the images' folder)."""
        if self.from_alpha:
            transparent = picture.transparent
            if transparent is None:
                raise MaskError("--mask-from-alpha: the image has no alpha channel")
            if transparent.all():
                raise MaskError("--mask-from-alpha: the image is transparent everywhere: there is nothing to fill from")
            return transparent
        path = self.file if self.file is not None else self._find(name, source)
        mask = read_mask(path)
        if mask.shape != picture.size:
            rotated = (" (images are compared upright, after their EXIF orientation: was the mask drawn on the "
                       "stored, unturned pixels?)" if mask.shape == picture.size[::-1] else "")
            raise MaskError(f"mask {path} is {mask.shape[1]}×{mask.shape[0]}, "
                            f"the image is {picture.size[1]}×{picture.size[0]}{rotated}")
        if mask.all():
            raise MaskError(f"mask {path} covers the whole image: there is nothing to fill from")
        return mask

    def _find(self, name: Path, source: Path | None = None) -> Path:
        """NAME's mask: the same relative path and stem with any image suffix, or the stem with
        "_mask" appended (how LaMa's and many datasets' evaluation sets name them)."""
        assert self.folder is not None
        stem = (self.folder / name).parent / Path(name.name).stem  # a stem may hold dots: "scan.v2"
        beside = source is not None and stem.parent.resolve() == source.parent.resolve()
        # masks kept beside their images can only be NAME_mask.*: b.jpg beside b.png is another photo
        for tail in ("_mask",) if beside else ("", "_mask"):
            for suffix in (name.suffix, *sorted(IMAGE_SUFFIXES)):
                candidate = stem.parent / f"{stem.name}{tail}{suffix}"
                if candidate.is_file() and not (source is not None and candidate.resolve() == source.resolve()):
                    return candidate
        raise MaskError(f"no mask for {name} in {self.folder} (looked for {stem.name}.png, "
                        f"{stem.name}_mask.png, .jpg, ...)")


def read_mask(path: Path) -> np.ndarray:
    """A mask file as H×W bool: pixels brighter than half the range are True. Gray or colour
    (luma), 8- or 16-bit; EXIF orientation applied as for images. A mask's own alpha counts as
    black where transparent (white strokes drawn on a transparent layer mark the strokes only,
    whatever colour the hidden pixels hold). A mask whose brightest pixel is dark but not black
    (0/1 labels, 8-bit values in a 16-bit file) is refused: read as white = fill it would be empty."""
    try:
        picture = read_image(path)
    except Exception as error:
        raise MaskError(f"cannot read mask {path}: {error}") from None
    gray = to_color_mode(picture.color, "gray")[:, :, 0].astype(np.float64)
    if picture.alpha is not None:
        gray *= picture.alpha / picture.max_value
    half = picture.max_value // 2
    brightest = gray.max(initial=0)
    if 0 < brightest <= half:
        raise MaskError(f"mask {path} has no pixel brighter than half its range (its brightest is "
                        f"{brightest:.0f} of {picture.max_value}): white means fill, so scale a 0/1 mask to "
                        f"0/{picture.max_value}")
    return gray > half
