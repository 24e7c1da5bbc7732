"""Rate-distortion benchmark: the VAE codec beside JPEG and WebP (Pillow) on the same photos.

    PYTHONPATH=. python benchmarks/codec.py --data ../shared/data/val/Kodak24 [--limit N] \
        [--codecs vae,jpeg,webp] [--seed S] --json OUT.json [--plot OUT.png] [--checkpoint DIR]

Protocol: every image of DATA (sorted by name, converted to 8-bit RGB) is coded by every codec at
every setting of its sweep. bpp = the real file's bytes (headers included) * 8 / pixels; PSNR on the
8-bit RGB decoded image against the original (MSE over all three channels); SSIM is scikit-image's
(7 x 7 window, data range 255, mean over channels). A point is one setting: mean bpp, mean PSNR and
mean SSIM over the images, median seconds to encode and to decode one image. BD-rate is
Bjøntegaard's (VCEG-M33): a cubic fit of log(bpp) against PSNR per codec, integrated over the PSNR
range both curves cover; negative means fewer bits than JPEG for the same PSNR. ``--seed`` seeds
torch (the codecs themselves are deterministic). The latency row times encode + decode of a 768 x 512
picture (the first image resized) with ``--threads`` torch threads, median of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vae_demo.catalog import CODEC_MODEL
from vae_demo.codec.anchors import ANCHORS
from vae_demo.core.provenance import PROVENANCE_KEY, provenance

SWEEPS = {
    "vae": [],  # the model's trained levels and the midpoints between them (``vae_settings``)
    "jpeg": [2, 4, 6, 8, 10, 15, 20, 30, 40, 50, 60, 70, 80],
    "webp": [0, 2, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90],
    "avif": [5, 10, 20, 30, 40, 50, 60, 70, 80, 90],
}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 (H, W, 3) images."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * math.log10(255**2 / max(mse, 1e-10))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


def pillow_codec(name: str) -> tuple[Callable, Callable]:
    """(encode(image, quality) -> bytes, decode(bytes) -> uint8 (H, W, 3)) for an anchor of ``anchors.ANCHORS``."""
    anchor = ANCHORS[name]
    return anchor.encode, anchor.decode


def vae_codec(model) -> tuple[Callable, Callable]:
    from vae_demo.codec.bitstream import decode_image, encode_image

    def encode(image: Image.Image, quality: float) -> bytes:
        return encode_image(model, image, quality)

    def decode(data: bytes) -> np.ndarray:
        return decode_image(model, data).permute(1, 2, 0).numpy()

    return encode, decode


def make_codecs(names: list[str], checkpoint: str | None) -> tuple[dict[str, tuple[Callable, Callable]], object]:
    """The codecs by name, and the VAE codec's model (None without "vae")."""
    codecs, model = {}, None
    for name in names:
        if name in ANCHORS:
            if not ANCHORS[name].available:
                raise SystemExit(f"this Pillow cannot write {ANCHORS[name].name}; leave {name} out of --codecs")
            codecs[name] = pillow_codec(name)
        elif name == "vae":
            from vae_demo.core.hub import load_checkpoint, resolve_checkpoint

            model = load_checkpoint(resolve_checkpoint(CODEC_MODEL, checkpoint), "cpu")
            codecs[name] = vae_codec(model)
        else:
            raise SystemExit(f"unknown codec {name!r}; choose from {', '.join(SWEEPS)}")
    return codecs, model


def vae_settings(levels: int) -> list[float]:
    """The VAE codec's sweep: its trained levels 0 .. levels - 1 and the midpoints between them."""
    return [q / 2 for q in range(2 * levels - 1)]


def sweep(codec: tuple[Callable, Callable], images: list[Image.Image], settings: list[float]) -> list[dict]:
    """One point per setting of the codec's sweep, averaged over the images."""
    encode, decode = codec
    points = []
    for setting in settings:
        rows = []
        for image in images:
            ref = np.asarray(image)
            t0 = time.perf_counter()
            data = encode(image, setting)
            t1 = time.perf_counter()
            out = decode(data)
            t2 = time.perf_counter()
            bpp = len(data) * 8 / (image.width * image.height)
            rows.append((bpp, psnr(ref, out), ssim(ref, out), t1 - t0, t2 - t1))
        cols = list(zip(*rows, strict=True))
        points.append(
            {
                "setting": setting,
                "bpp": statistics.fmean(cols[0]),
                "psnr": statistics.fmean(cols[1]),
                "ssim": statistics.fmean(cols[2]),
                "encode_s": statistics.median(cols[3]),
                "decode_s": statistics.median(cols[4]),
            }
        )
    return points


def bd_rate(anchor: list[dict], test: list[dict]) -> float:
    """Bjøntegaard delta rate (percent) of ``test`` against ``anchor``: cubic fits of log rate on PSNR."""

    def fit(points):
        p = np.array([pt["psnr"] for pt in points])
        r = np.log(np.array([pt["bpp"] for pt in points]))
        return np.polyfit(p, r, 3), p.min(), p.max()

    (fa, lo_a, hi_a), (ft, lo_t, hi_t) = fit(anchor), fit(test)
    lo, hi = max(lo_a, lo_t), min(hi_a, hi_t)
    if lo >= hi:
        return float("nan")
    ia, it = np.polyint(fa), np.polyint(ft)
    avg = ((np.polyval(it, hi) - np.polyval(it, lo)) - (np.polyval(ia, hi) - np.polyval(ia, lo))) / (hi - lo)
    return float((math.exp(avg) - 1) * 100)


def psnr_at(points: list[dict], bpp: float) -> float:
    """A curve's PSNR at ``bpp`` (linear in log bpp between neighbours); NaN outside its range."""
    pts = sorted(points, key=lambda p: p["bpp"])
    xs, ys = [math.log(p["bpp"]) for p in pts], [p["psnr"] for p in pts]
    x = math.log(bpp)
    if not xs[0] <= x <= xs[-1]:
        return float("nan")
    return float(np.interp(x, xs, ys))


def latency(model, image: Image.Image, repeats: int) -> float:
    """Median seconds to encode and decode ``image`` resized to 768 x 512 at a middle quality."""
    from vae_demo.codec.bitstream import decode_image, encode_image

    photo = image.resize((768, 512), Image.BICUBIC)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        decode_image(model, encode_image(model, photo, model.levels // 2))
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def plot(result: dict, path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for name, codec in result["codecs"].items():
        pts = sorted(codec["points"], key=lambda p: p["bpp"])
        bd = result["bd_rate_vs_jpeg"].get(name)
        label = name if bd is None or name == "jpeg" else f"{name} (BD-rate vs JPEG {bd:+.1f}%)"
        ax.plot([p["bpp"] for p in pts], [p["psnr"] for p in pts], "o-", ms=3, label=label)
    ax.set(
        xlabel="bits per pixel (file bytes x 8 / pixels)",
        ylabel="PSNR (dB, RGB)",
        xlim=(0, 1.6),
        title=f"{Path(result['data']).name}: {result['n_images']} images",
    )
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def load_images(folder: str | Path, limit: int | None, split: str = "all") -> list[Image.Image]:
    """The photos of ``folder`` (its ``split``: ``core.splits``), sorted by name, the first ``limit``."""
    from vae_demo.core.splits import split_paths

    paths = split_paths(folder, split)
    if not paths:
        raise SystemExit(f"no images in {folder} ({split})")
    return [Image.open(p).convert("RGB") for p in paths[:limit]]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="a folder of photos (e.g. ../shared/data/val/Kodak24)")
    ap.add_argument("--limit", type=int, help="only the first N images")
    ap.add_argument("--split", default="all", help="all, or the train / val part of a training folder (core.splits)")
    ap.add_argument("--codecs", default="vae,jpeg,webp,avif", help="avif is left out where Pillow cannot write it")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", required=True, help="write the results here")
    ap.add_argument("--plot", help="rate-distortion PNG (default: the JSON path with .png)")
    ap.add_argument("--checkpoint", help="the VAE codec's folder (default: the bundled codec-vae)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--repeats", type=int, default=5, help="runs of the 768 x 512 latency test")
    ap.add_argument(
        "--card", help="a codec checkpoint folder whose README.md gets these rows (needs its training_summary.json)"
    )
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    images = load_images(args.data, args.limit, args.split)
    names = [c.strip() for c in args.codecs.split(",") if c.strip()]
    if args.codecs == ap.get_default("codecs") and not ANCHORS["avif"].available:
        names.remove("avif")
    codecs, model = make_codecs(names, args.checkpoint)
    result: dict = {"data": str(args.data), "split": args.split, "n_images": len(images), "codecs": {}}
    result["bd_rate_vs_jpeg"] = {}
    result["anchors"] = {n: {"options": ANCHORS[n].options, "subsampling": "4:2:0"} for n in codecs if n in ANCHORS}
    for name, codec in codecs.items():
        settings = vae_settings(model.levels) if name == "vae" else SWEEPS[name]
        result["codecs"][name] = {"points": sweep(codec, images, settings)}
    for anchor in ("webp", "avif"):
        if anchor in result["codecs"]:
            pts = result["codecs"][anchor]["points"]
            result[f"bd_rate_vs_{anchor}"] = {n: bd_rate(pts, c["points"]) for n, c in result["codecs"].items()}
    for codec in result["codecs"].values():
        codec["psnr_at_1bpp"] = psnr_at(codec["points"], 1.0)
    if "jpeg" in result["codecs"]:
        jpeg = result["codecs"]["jpeg"]["points"]
        for name, codec in result["codecs"].items():
            result["bd_rate_vs_jpeg"][name] = 0.0 if name == "jpeg" else bd_rate(jpeg, codec["points"])
            if name != "jpeg":  # PSNR margin over JPEG at each of this codec's points from 0.1 to 1.0 bpp
                codec["psnr_minus_jpeg"] = [
                    {"bpp": p["bpp"], "db": p["psnr"] - psnr_at(jpeg, p["bpp"])}
                    for p in codec["points"]
                    if 0.1 <= p["bpp"] <= 1.0
                ]
    if model is not None:
        result["latency_768x512"] = {"median_s": latency(model, images[0], args.repeats), "threads": args.threads}
    print_table(result)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    result[PROVENANCE_KEY] = provenance()
    Path(args.json).write_text(json.dumps(finite(result), indent=2) + "\n")
    plot(result, args.plot or Path(args.json).with_suffix(".png"))
    if args.card:
        from vae_demo.codec.card import write_codec_card

        summary = json.loads(Path(args.card, "training_summary.json").read_text())
        write_codec_card(args.card, summary, finite(result))
    return result


def finite(obj):
    """NaN (no overlap, out of range) as null, so the JSON is standard."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [finite(v) for v in obj]
    return obj


def print_table(result: dict) -> None:
    print(f"{'codec':6} {'setting':>7} {'bpp':>7} {'PSNR':>7} {'SSIM':>7} {'enc s':>7} {'dec s':>7}")
    for name, codec in result["codecs"].items():
        for p in codec["points"]:
            print(
                f"{name:6} {p['setting']:>7} {p['bpp']:7.3f} {p['psnr']:7.2f} {p['ssim']:7.4f} "
                f"{p['encode_s']:7.3f} {p['decode_s']:7.3f}"
            )
    for anchor in ("jpeg", "webp", "avif"):
        for name, bd in result.get(f"bd_rate_vs_{anchor}", {}).items():
            if name != anchor:
                print(f"BD-rate of {name} vs {ANCHORS[anchor].name}: {bd:+.1f}%")
    for name, codec in result["codecs"].items():
        print(f"{name} PSNR at 1.0 bpp: {codec['psnr_at_1bpp']:.2f} dB")
    for name, codec in result["codecs"].items():
        if "psnr_minus_jpeg" in codec:
            margins = [m["db"] for m in codec["psnr_minus_jpeg"] if not math.isnan(m["db"])]
            if margins:
                print(
                    f"{name} minus JPEG PSNR from 0.1 to 1.0 bpp: "
                    f"min {min(margins):+.2f} dB, max {max(margins):+.2f} dB"
                )
    if "latency_768x512" in result:
        lat = result["latency_768x512"]
        print(f"VAE encode + decode of 768x512: {lat['median_s']:.3f} s median ({lat['threads']} threads)")
