"""Screenshots of a built site at phone and laptop widths, for README and review.

    python docs/screenshots.py [build/site] [docs/shots]

Writes <section>-390.png and <section>-1280.png per section, plus full-page shots, and
docs/site.png (the step-through section on a laptop and a phone) when the output folder is docs/shots.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser import launch, open_page

WIDTHS = {"phone": (390, 844), "laptop": (1280, 800)}


def main(site: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with launch() as browser:
        for name, (width, height) in WIDTHS.items():
            page, watch = open_page(browser, site, width=width, height=height, device_scale_factor=1)
            page.screenshot(path=out / f"top-{width}.png")
            page.screenshot(path=out / f"page-{width}.png", full_page=True)
            for section in page.locator("section.section").all():
                section.scroll_into_view_if_needed()
                section.screenshot(path=out / f"{section.get_attribute('id')}-{width}.png")
            if watch.errors or watch.outside_requests:
                print(f"{name}: errors {watch.errors} outside requests {watch.outside_requests}")
            page.context.close()
    # README's picture: the step-through viewer on a laptop and on a phone, side by side.
    shown = "step-through" if (out / "step-through-390.png").exists() else "top"
    phone, laptop = Image.open(out / f"{shown}-390.png"), Image.open(out / f"{shown}-1280.png")
    phone = phone.crop(
        (0, max(0, phone.height - laptop.height), phone.width, phone.height)
    )  # the widget, below the text
    combined = Image.new("RGB", (laptop.width + phone.width + 40, max(laptop.height, phone.height)), "white")
    combined.paste(laptop, (0, 0))
    combined.paste(phone, (laptop.width + 40, 0))
    combined.save(out.parent / "site.png" if out.name == "shots" else out / "site.png", optimize=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    main(Path(args[0] if args else "build/site"), Path(args[1] if len(args) > 1 else "docs/shots"))
