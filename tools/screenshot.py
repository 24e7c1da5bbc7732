"""Screenshot a running vae-demo page with Debian's Chromium (used for README's picture).

python tools/screenshot.py --url http://127.0.0.1:7860 --out docs/screenshot.png [--tab NAME]
"""

from __future__ import annotations

import argparse

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--out", default="docs/screenshot.png")
    parser.add_argument("--tab", help="click this tab before the screenshot")
    parser.add_argument("--min-images", type=int, default=4, help="wait until this many output images show")
    parser.add_argument("--wait-text", help="also wait until this text shows on the page (e.g. an output label)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1400)
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(args.url)
        page.wait_for_selector("img", timeout=120_000)
        # the first outputs arrive through load events: wait for the served output images
        page.wait_for_function(
            f"document.querySelectorAll('img[src*=\"file\"]').length >= {args.min_images}", timeout=180_000
        )
        if args.wait_text:
            page.wait_for_function(f"document.body.innerText.includes({args.wait_text!r})", timeout=180_000)
        page.wait_for_timeout(1000)
        if args.tab:
            page.get_by_role("tab", name=args.tab).click()
            page.wait_for_timeout(1500)
        page.screenshot(path=args.out, full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
