"""Images every mail client shows: JPEG or PNG renditions of WebP, AVIF, SVG and huge images.

Outlook for Windows shows no WebP, AVIF or SVG, and a 4000-pixel photo costs a phone reader
megabytes for a 600-pixel column. An image of the site (its ``static/`` or ``assets/`` folder,
or the post's page bundle) in one of those formats, or wider than :data:`MAX_WIDTH`, is
converted with Pillow (SVG drawn by resvg first) into a JPEG, or a PNG where it has
transparency, at most :data:`MAX_WIDTH` wide (600 px at 2x). The file is named by a hash of its
bytes and written into the list's archive folder (``<archive_dir>/<list>/images/``), which the
site publishes under ``site.archive_url``, so the same rendition is written once and any issue
may link it.

An image that needs a rendition but cannot get one (no ``archive_url``, the source file is not
in the site, a file Pillow cannot read) is left out with a warning rather than linked broken.
Images on other hosts, and site images that are already fine, are linked as they are.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

MAX_WIDTH = 1200
"""Widest rendition: the 600 px column at twice the pixel density."""
NEEDS_RENDITION = frozenset({".webp", ".avif", ".svg", ".svgz"})
RASTER = frozenset({".jpg", ".jpeg", ".png", ".gif"})
JPEG_QUALITY = 85


@dataclass(frozen=True, slots=True)
class Rendition:
    """What the email links for one image, and its size when known."""

    url: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class ImageSite:
    """Where a site's images live and where their renditions go."""

    base_url: str
    """The site's URL: an image under it is a file of the site."""
    folders: tuple[Path, ...]
    """Where the site's files are, in Hugo's order: ``static/``, then ``assets/``."""
    out_dir: Path
    """``<archive_dir>/<list>/images``."""
    out_url: str
    """Where ``out_dir`` is published; empty when the site has no archive URL."""


@dataclass
class Renditions:
    """Turns the image URLs of one issue into email-safe ones, collecting warnings."""

    site: ImageSite
    warnings: list[str] = field(default_factory=list)
    _done: dict[Path, Rendition] = field(default_factory=dict)

    def email_safe(self, url: str, *, bundle: Path | None = None) -> Rendition | None:
        """The image to link for absolute ``url``; None when it is better left out.

        ``bundle`` is the folder of a page bundle, where its images live next to index.md.
        """
        path = self._site_path(url)
        if path is None:
            return Rendition(url)  # another host: nothing of it is ours to check
        suffix = Path(path).suffix.lower()
        if suffix not in NEEDS_RENDITION and suffix not in RASTER:
            return Rendition(url)
        source = self._find(path, bundle)
        if source is None:
            if suffix in NEEDS_RENDITION:
                self.warnings.append(
                    f"image {url}: {suffix[1:].upper()} that mail clients may not show, and its "
                    f"file is not in the site ({self._looked_in(bundle)}); left out"
                )
                return None
            return Rendition(url)  # served by the site, as far as we can tell
        return self._render(url, source, suffix)

    def _site_path(self, url: str) -> str | None:
        """``url``'s path inside the site, or None for an image of another host."""
        base, found = urlsplit(self.site.base_url), urlsplit(url)
        if (found.scheme, found.netloc) != (base.scheme, base.netloc):
            return None
        if not found.path.startswith(base.path):
            return None
        return unquote(found.path[len(base.path) :]).lstrip("/")

    def _find(self, path: str, bundle: Path | None) -> Path | None:
        folders = (*((bundle,) if bundle is not None else ()), *self.site.folders)
        for folder in folders:
            candidate: Path = folder / path
            if candidate.is_file():
                return candidate
            if bundle is not None and folder == bundle:
                # A bundle image is linked under the post's URL: only its own name counts.
                named = bundle / Path(path).name
                if named.is_file():
                    return named
        return None

    def _looked_in(self, bundle: Path | None) -> str:
        folders = [*((bundle,) if bundle is not None else ()), *self.site.folders]
        return "looked in " + ", ".join(str(f) for f in folders)

    def _render(self, url: str, source: Path, suffix: str) -> Rendition | None:
        if source in self._done:
            return self._done[source]
        try:
            made = _rendition(source, suffix)
        except (OSError, ValueError) as exc:  # Pillow: UnidentifiedImageError is an OSError
            self.warnings.append(f"image {source}: cannot be read ({exc}); left out")
            return None
        data, ext, width, height = made
        if not data:
            return Rendition(url, width, height)  # a JPEG, PNG or GIF of a sensible size
        if not self.site.out_url:
            self.warnings.append(
                f"image {source}: needs an email-safe copy, but site.archive_url is not set "
                "(where the copies are published); left out"
            )
            return None
        name = hashlib.sha256(data).hexdigest()[:20] + ext
        target = self.site.out_dir / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(ext + ".part")
            partial.write_bytes(data)
            partial.replace(target)  # a reader never sees half an image
        result = Rendition(self.site.out_url + name, width, height)
        self._done[source] = result
        return result


def _rendition(source: Path, suffix: str) -> tuple[bytes, str, int, int]:
    """(bytes, ``.jpg``/``.png``, width, height); no bytes when the file can be linked as is."""
    from PIL import Image  # Pillow is needed only when an issue has images to convert

    image: Image.Image
    if suffix in (".svg", ".svgz"):
        import resvg_py

        raw = resvg_py.svg_to_bytes(svg_path=str(source), width=MAX_WIDTH)
        image = Image.open(io.BytesIO(bytes(raw)))
    else:
        image = Image.open(source)
        if suffix in RASTER and image.width <= MAX_WIDTH:
            return b"", suffix, image.width, image.height
    image.load()
    if image.width > MAX_WIDTH:
        height = max(1, round(image.height * MAX_WIDTH / image.width))
        image = image.resize((MAX_WIDTH, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if image.mode in ("RGBA", "LA", "P") and _has_transparency(image):
        image.convert("RGBA").save(out, "PNG", optimize=True)
        ext = ".png"
    else:
        image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        ext = ".jpg"
    return out.getvalue(), ext, image.width, image.height


def _has_transparency(image: object) -> bool:
    from PIL import Image

    assert isinstance(image, Image.Image)
    if image.mode == "P":
        return "transparency" in image.info
    low, _ = image.getchannel("A").getextrema()
    return isinstance(low, int | float) and low < 255
