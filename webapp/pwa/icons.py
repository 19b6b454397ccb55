"""The app icons: a walker on the accent green, drawn from a few shapes into PNG, ICO and SVG.

Pure Python (zlib + struct), so regenerating them needs no imaging library:
`flask --app webapp pwa icons` writes them into static/img/.
"""

import math
import struct
import zlib
from pathlib import Path

BACKGROUND = (11, 110, 79)  # --accent, #0b6e4f
FOREGROUND = (255, 255, 255)

# The walker in a 100x100 box: a head and limbs drawn as round-capped strokes.
HEAD = ((56.0, 20.0), 8.5)
STROKE = 8.0
LIMBS = [
    ((53.0, 33.0), (48.0, 57.0)),  # torso
    ((52.5, 37.0), (41.0, 50.0)),  # back arm
    ((52.5, 37.0), (64.0, 47.0)),  # front arm
    ((48.0, 57.0), (38.0, 80.0)),  # back leg
    ((48.0, 57.0), (59.0, 70.0)),  # front thigh
    ((59.0, 70.0), (62.0, 82.0)),  # front shin
]

# Name in static/img/ -> (pixel size, kind). "maskable" is full-bleed with the walker in the safe zone.
PNG_ICONS = {
    "icon-192.png": (192, "any"),
    "icon-512.png": (512, "any"),
    "icon-maskable-512.png": (512, "maskable"),
    "apple-touch-icon.png": (180, "apple"),
    "icon-32.png": (32, "any"),
}
MASKABLE_SAFE_RADIUS = 40.0  # the safe zone: a circle of 80% of the icon's width
MASKABLE_SCALE = 0.72


def _segment_distance(px, py, a, b) -> float:
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _walker_distance(x: float, y: float) -> float:
    """Signed distance (in box units) from a point to the walker's outline; negative inside."""
    (hx, hy), r = HEAD
    d = math.hypot(x - hx, y - hy) - r
    for a, b in LIMBS:
        d = min(d, _segment_distance(x, y, a, b) - STROKE / 2)
    return d


def _rounded_square_distance(x: float, y: float, radius: float) -> float:
    qx, qy = abs(x - 50) - (50 - radius), abs(y - 50) - (50 - radius)
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return outside + min(max(qx, qy), 0.0) - radius


def walker_extent_radius() -> float:
    """Return how far the walker reaches from the centre of the box (for the safe-zone check)."""
    (hx, hy), r = HEAD
    far = math.hypot(hx - 50, hy - 50) + r
    for a, b in LIMBS:
        for px, py in (a, b):
            far = max(far, math.hypot(px - 50, py - 50) + STROKE / 2)
    return far


def render_rgba(size: int, kind: str) -> bytes:
    """Rasterise the icon to RGBA rows, anti-aliased from the shapes' distance fields."""
    scale = 100.0 / size
    walker_scale = MASKABLE_SCALE if kind == "maskable" else 0.8
    rows = bytearray()
    for j in range(size):
        rows.append(0)  # PNG filter type 0 for this row
        for i in range(size):
            x, y = (i + 0.5) * scale, (j + 0.5) * scale
            # maskable and apple icons are full-bleed: the platform applies its own mask
            edge = _rounded_square_distance(x, y, 22.0) / scale if kind == "any" else -1.0
            bg = min(1.0, max(0.0, 0.5 - edge))
            wx, wy = 50 + (x - 50) / walker_scale, 50 + (y - 50) / walker_scale
            fg = min(1.0, max(0.0, 0.5 - _walker_distance(wx, wy) * walker_scale / scale))
            rgb = [round(b * (1 - fg) + f * fg) for b, f in zip(BACKGROUND, FOREGROUND, strict=True)]
            alpha = round(255 * max(bg, fg if bg > 0 else 0.0))
            rows += bytes((*rgb, alpha))
    return bytes(rows)


def png_bytes(size: int, kind: str) -> bytes:
    """Return a PNG file of the icon at `size` pixels."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(render_rgba(size, kind), 9))
        + chunk(b"IEND", b"")
    )


def ico_bytes(png: bytes, size: int) -> bytes:
    """Wrap one PNG in an ICO container (Vista+ ICO files may hold PNG data)."""
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png), 6 + 16)
    return header + entry + png


def svg_text() -> str:
    """Return the icon as SVG, drawn from the same shapes."""
    (hx, hy), r = HEAD
    lines = "".join(f'<line x1="{a[0]}" y1="{a[1]}" x2="{b[0]}" y2="{b[1]}"/>' for a, b in LIMBS)
    s = 0.8
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
        '<rect width="100" height="100" rx="22" fill="#0b6e4f"/>'
        f'<g transform="translate({50 * (1 - s):g} {50 * (1 - s):g}) scale({s})" fill="#fff" stroke="#fff" '
        f'stroke-width="{STROKE}" stroke-linecap="round">'
        f'<circle cx="{hx}" cy="{hy}" r="{r}" stroke="none"/>{lines}</g></svg>\n'
    )


def write_icons(folder: Path) -> list[Path]:
    """Write every icon into `folder`; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (size, kind) in PNG_ICONS.items():
        path = folder / name
        path.write_bytes(png_bytes(size, kind))
        written.append(path)
    favicon = folder / "favicon.ico"
    favicon.write_bytes(ico_bytes((folder / "icon-32.png").read_bytes(), 32))
    svg = folder / "icon.svg"
    svg.write_text(svg_text(), encoding="utf-8")
    return [*written, favicon, svg]
