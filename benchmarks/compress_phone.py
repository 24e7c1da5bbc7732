"""A phone-sized photo through Compress and back: seconds for ``/compress`` and ``/decompress``, pixel-exact.

    python benchmarks/compress_phone.py --json benchmarks/results/codec/compress_phone.json [--photo FILE]
        [--url http://127.0.0.1:7860] [--quality 3] [--threads 2]

Without ``--photo`` the photo is made here: scikit-image's astronaut, coffee, chelsea and rocket, each
resized to 2000 x 1500 and tiled into 4000 x 3000 (12 megapixels) with a little Gaussian grain (sigma 2),
so it is not a smooth upscale. With ``--url`` both calls go through a running app's HTTP API
(``gradio_client``), else through the same action functions in this process. The decoded picture is
compared with the one ``/compress`` showed, pixel for pixel.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vae_demo.core.provenance import PROVENANCE_KEY, provenance

GOAL_S = 60.0


def phone_photo(path: Path) -> Path:
    """The 4000 x 3000 test photo described above, written as PNG."""
    from skimage import data

    parts = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    big = Image.new("RGB", (4000, 3000))
    for i, a in enumerate(parts):
        part = Image.fromarray(a).convert("RGB").resize((2000, 1500), Image.BICUBIC)
        big.paste(part, ((i % 2) * 2000, i // 2 * 1500))
    grain = np.random.default_rng(0).normal(0, 2, (3000, 4000, 3))
    Image.fromarray((np.asarray(big) + grain).clip(0, 255).round().astype(np.uint8)).save(path)
    return path


def pixels(x) -> np.ndarray:
    return np.asarray(Image.open(x)) if isinstance(x, (str, Path)) else np.asarray(x)


def round_trip(photo: Path, quality: float, url: str | None) -> dict:
    """Seconds of each call, the file's bytes and whether the decoded picture equals the shown one."""
    if url:
        from gradio_client import Client, handle_file

        client = Client(url, verbose=False)
        t = time.perf_counter()
        shown, *_, vaez, _summary = client.predict(handle_file(str(photo)), quality, api_name="/compress")
        t_compress = time.perf_counter() - t
        t = time.perf_counter()
        decoded, _info = client.predict(handle_file(vaez), api_name="/decompress")
    else:
        from vae_demo.demo import compress

        compress.get_codec()  # loaded before the clock starts, as in a running app
        t = time.perf_counter()
        result = compress.compress(str(photo), quality)
        t_compress = time.perf_counter() - t
        shown, vaez = result.vae, result.path
        t = time.perf_counter()
        decoded = compress.decompress(vaez)
    t_decompress = time.perf_counter() - t
    return {
        "compress_s": t_compress,
        "decompress_s": t_decompress,
        "bytes": Path(vaez).stat().st_size,
        "pixel_exact": bool(np.array_equal(pixels(shown), pixels(decoded))),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photo", help="the photo (default: the 4000 x 3000 one made here)")
    ap.add_argument("--url", help="a running app's address (default: the actions in this process)")
    ap.add_argument("--quality", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", required=True)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(args.photo) if args.photo else phone_photo(Path(tmp) / "phone.png")
        size = Image.open(photo).size
        result = {"photo": args.photo or "generated 4000x3000", "size": size, "quality": args.quality}
        result.update(round_trip(photo, args.quality, args.url), via=args.url or "in-process", goal_s=GOAL_S)
    result[PROVENANCE_KEY] = provenance(args.threads)
    print(
        f"{size[0]}x{size[1]}: /compress {result['compress_s']:.1f} s, /decompress {result['decompress_s']:.1f} s "
        f"(goal {GOAL_S:.0f} s each), {result['bytes']:,} bytes, pixel-exact: {result['pixel_exact']}"
    )
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
