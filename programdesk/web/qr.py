"""QR codes for the check-in cards, as inline SVG (segno: pure Python, no image library)."""

from __future__ import annotations

import segno
from django.utils.safestring import SafeString, mark_safe


def qr_svg(text: str, *, scale: int = 6, title: str = "") -> SafeString:
    """``text`` as a QR code: an inline ``<svg>`` element (no XML declaration, no fixed
    colours beyond black on white, so it prints as drawn). Error correction "M" (15 %): a
    card in a wallet gets scuffed. The text is our own card code, never user HTML; segno
    escapes the title."""
    code = segno.make(text, error="m", micro=False)
    # omitsize: a viewBox and no fixed size, so the stylesheet sizes it (30 mm on the card).
    svg = code.svg_inline(scale=scale, border=2, dark="#000", light="#fff", omitsize=True,
                          title=title or None, svgclass="qr", lineclass=None)
    return mark_safe(svg)  # noqa: S308 - segno's own SVG of our own code
