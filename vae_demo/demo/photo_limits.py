"""How big a photo the Enhance and Denoise tabs restore, in one torch-free place (the page quotes it)."""

# Bigger photos are scaled down to this first: a 12-megapixel photo restored in full took about 100 s on 2 CPU
# cores (tiles, SSIM, PNGs); ``vae-demo restore`` restores every pixel.
PAGE_PIXELS = 2_000_000
PAGE_NOTE = (
    f"Photos over {PAGE_PIXELS / 1e6:g} megapixels are scaled down to {PAGE_PIXELS / 1e6:g} megapixels first "
    "(the table says so), so a phone photo takes seconds, not minutes; `vae-demo restore PHOTO --out DIR` "
    "restores every pixel."
)
