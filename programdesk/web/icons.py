"""The front desk app's icons (the web app manifest: docs/front-desk.md, Installing the app):
the favicon's "P" (web/static/web/favicon.svg) drawn as PNGs at the sizes installable apps want
— 192 and 512 px, and a maskable 512 px whose glyph keeps inside the safe zone a launcher may
crop to a circle. Made once and committed; run again only when the logo changes:

    .venv/bin/python -m programdesk.web.icons

Plain Python (zlib and struct): no imaging library is a dependency for this.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static" / "web"
BACKGROUND = (0x16, 0x32, 0x4F)
GLYPH = (0xFF, 0xFF, 0xFF)
SAMPLES = 4  # per side of a pixel: 16 samples smooth the edges

# name, size, maskable
ICONS = [("icon-192.png", 192, False), ("icon-512.png", 512, False),
         ("icon-maskable-512.png", 512, True)]


def _in_glyph(x: float, y: float) -> bool:
    """The "P" of favicon.svg, in its 32 × 32 box: a stem and a bowl, the bowl's hole cut."""
    outer = ((9 <= x <= 17.5 and 7 <= y <= 20) or (9 <= x <= 13 and 20 <= y <= 25)
             or (x >= 17.5 and math.hypot(x - 17.5, y - 13.5) <= 6.5))
    hole = ((13 <= x <= 17.3 and 11 <= y <= 16)
            or (x >= 17.3 and math.hypot(x - 17.3, y - 13.5) <= 2.5))
    return outer and not hole


def _in_background(x: float, y: float, maskable: bool) -> bool:
    """The rounded square (rx 6); a maskable icon's background fills the whole square."""
    if maskable:
        return True
    cx, cy = min(max(x, 6), 26), min(max(y, 6), 26)
    return math.hypot(x - cx, y - cy) <= 6


def pixels(size: int, maskable: bool) -> list[bytes]:
    """Rows of RGBA pixels. A maskable icon's glyph is drawn at 60 %, centred: inside the
    central circle (80 % of the width) every launcher keeps."""
    scale = 32 / size
    zoom, centre = (0.6, (16.5, 16.0)) if maskable else (1.0, (16.0, 16.0))
    rows = []
    step = 1 / SAMPLES
    for py in range(size):
        row = bytearray()
        for px in range(size):
            glyph = back = 0
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    x = (px + (sx + .5) * step) * scale
                    y = (py + (sy + .5) * step) * scale
                    if _in_background(x, y, maskable):
                        back += 1
                        gx = centre[0] + (x - 16) / zoom
                        gy = centre[1] + (y - 16) / zoom
                        glyph += _in_glyph(gx, gy)
            total = SAMPLES * SAMPLES
            alpha = round(255 * back / total)
            share = glyph / back if back else 0
            row += bytes(round(b + (g - b) * share) for b, g in zip(BACKGROUND, GLYPH,
                                                                     strict=True))
            row.append(alpha)
        rows.append(bytes(row))
    return rows


def png(rows: list[bytes]) -> bytes:
    """A PNG file of RGBA rows (8 bits a channel, no filter)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    width, height = len(rows[0]) // 4, len(rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    raw = b"".join(b"\0" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main() -> None:
    for name, size, maskable in ICONS:
        (STATIC / name).write_bytes(png(pixels(size, maskable)))
        print(f"wrote {STATIC / name}")


if __name__ == "__main__":
    main()
