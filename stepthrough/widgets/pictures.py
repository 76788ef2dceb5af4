"""Pictures inlined into the page (no request, and a canvas may read their pixels even from file://)."""

from __future__ import annotations

import base64
import io

from PIL import Image


def webp(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=85)
    return buffer.getvalue()


def data_url(image: Image.Image) -> str:
    """An inline WebP picture."""
    return "data:image/webp;base64," + base64.b64encode(webp(image)).decode()


def grid(tiles: list[Image.Image], columns: int) -> Image.Image:
    """Equal-sized pictures side by side, `columns` a row (fewer when there are fewer), on white."""
    width, height = tiles[0].size
    columns = min(columns, len(tiles))
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (columns * width, rows * height), (255, 255, 255))
    for i, tile in enumerate(tiles):
        sheet.paste(tile, ((i % columns) * width, (i // columns) * height))
    return sheet
