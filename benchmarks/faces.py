"""How recognisably a face VAE reconstructs: SSIM of the decoded posterior mode against its input.

    python benchmarks/faces.py --checkpoint checkpoints/faces-vae --data ../shared/data/olivetti-faces \
        --threads 1 --json benchmarks/results/faces_faces-vae.json [--card checkpoints/faces-vae]

Two sets: the Olivetti people the model never saw (the config's ``test_subjects``, 10 images each; the
training people beside them for the gap), and the app's face examples as the app prepares them. Each
example is measured twice: framed and toned like the training faces (``vae_demo.core.faces``, what the
app does now) and centre-cropped square (what it did before). SSIM and PSNR are taken against the
64x64 input the model was given (both rounded to 8 bits; ``vae_demo.core.metrics``), for the encoder's
posterior (amortised) and for that posterior refined by ``--refine-steps`` steps on each image's ELBO
(``inference.refine_posterior``, what the app's interpolation does with faces). ``--card DIR`` puts the
table in the model card ``DIR/README.md`` (replacing the one a previous run put there).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vae_demo.core.hub import load_checkpoint
from vae_demo.core.images import to_face_input, to_model_input
from vae_demo.core.metrics import psnr_ssim
from vae_demo.core.model_card import replace_card_section
from vae_demo.core.provenance import PROVENANCE_KEY, provenance
from vae_demo.demo.examples import face_image, generated_face, photo_example
from vae_demo.generative import inference
from vae_demo.generative.data import load_olivetti, split_by_subject

ROOT = Path(__file__).resolve().parents[1]
GOAL_SSIM = 0.6  # issue 14: examples reconstruct recognisably


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "faces-vae")
    p.add_argument("--data", type=Path, required=True, help="the Olivetti folder (olivetti_faces_uint8.npy)")
    p.add_argument("--config", type=Path, default=ROOT / "configs" / "faces-vae.json", help="gives test_subjects")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--json", type=Path, default=None, help="default: benchmarks/results/faces_NAME.json")
    p.add_argument("--panel", type=Path, default=None, help="also save inputs over reconstructions as a PNG")
    p.add_argument("--card", type=Path, default=None, help="checkpoint folder whose README.md gets the table")
    p.add_argument("--refine-steps", type=int, default=50, help="semi-amortised inference steps (the app's 50)")
    return p.parse_args(argv)


def table(rows: list[tuple], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def scores(model, x: torch.Tensor, refine_steps: int = 0) -> tuple[torch.Tensor, list[tuple[float, float]]]:
    """Reconstructions (N, 1, 64, 64) of x (N, 1, 64, 64) from the posterior mode, and (PSNR, SSIM) per image."""
    recon = torch.cat([inference.reconstruct(model, x[i : i + 50], refine_steps) for i in range(0, len(x), 50)])
    return recon, [psnr_ssim(x[i : i + 1], recon[i : i + 1]) for i in range(len(x))]


def examples(model) -> dict[str, Image.Image]:
    """The app's face inputs: its example (and mirror), the whole astronaut photo as an upload, the old tight
    crop a person may upload, and the two faces the model generates as interpolation defaults."""
    face = face_image()
    return {
        "astronaut-face (app example)": face,
        "astronaut-face-mirrored (app example)": face.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "astronaut photo 512x512 (upload)": photo_example("astronaut"),
        "astronaut tight crop (the old example)": photo_example("astronaut").convert("L").crop((192, 70, 297, 175)),
        "generated face, seed 1 (interpolation start)": generated_face(model, seed=1),
        "generated face, seed 4 (interpolation end)": generated_face(model, seed=4),
    }


def olivetti_sets(model, args, subjects) -> tuple[dict, list]:
    """SSIM / PSNR on the held-out and the training people, and the held-out panel (every 10th face)."""
    images, targets = load_olivetti(args.data)
    train_idx, test_idx = split_by_subject(targets, subjects)
    sets, panels = {}, []
    for name, idx in ((f"held-out people {list(subjects)}", test_idx), ("training people", train_idx)):
        recon, s = scores(model, images[idx])
        _, refined = scores(model, images[idx], args.refine_steps)
        ssim = np.array([b for _, b in s])
        sets[name] = {
            "n_images": len(idx),
            "ssim_mean": float(ssim.mean()),
            "ssim_min": float(ssim.min()),
            "ssim_p10": float(np.percentile(ssim, 10)),
            "psnr_mean": float(np.mean([a for a, _ in s])),
            "refined_ssim_mean": float(np.mean([b for _, b in refined])),
            "refined_psnr_mean": float(np.mean([a for a, _ in refined])),
        }
        if idx is test_idx:
            panels.append((images[idx][::10], recon[::10]))
    rows = [
        (n, v["n_images"], f"{v['ssim_mean']:.3f}", f"{v['ssim_min']:.3f}", f"{v['psnr_mean']:.2f}")
        + (f"{v['refined_ssim_mean']:.3f}",)
        for n, v in sets.items()
    ]
    print(table(rows, ("Olivetti set", "images", "SSIM mean", "SSIM min", "PSNR mean (dB)", "SSIM refined")))
    return sets, panels


def example_scores(model, refine_steps: int) -> tuple[list, list]:
    """Each app example, framed as the app frames it and centre-cropped: SSIM / PSNR, and the framed panels."""
    size, results, panels = model.config.image_size, [], []
    for name, img in examples(model).items():
        for prep in ("framed", "centre"):
            if prep == "framed":
                x, found = to_face_input(img, size)
            else:
                x, found = to_model_input(img, size, 1), None
            recon, [(psnr, ssim)] = scores(model, x)
            _, [(refined_psnr, refined_ssim)] = scores(model, x, refine_steps)
            results.append(
                {
                    "input": name,
                    "preparation": prep,
                    "face_found": found,
                    "ssim": ssim,
                    "psnr": psnr,
                    "refined_ssim": refined_ssim,
                    "refined_psnr": refined_psnr,
                }
            )
            if prep == "framed":
                panels.append((x, recon))
    rows = [
        (
            r["input"],
            r["preparation"],
            {True: "yes", False: "no", None: ""}[r["face_found"]],
            f"{r['ssim']:.3f}",
            f"{r['psnr']:.2f}",
            f"{r['refined_ssim']:.3f}",
            ("met" if r["refined_ssim"] >= GOAL_SSIM else "not met") if r["preparation"] == "framed" else "",
        )
        for r in results
    ]
    header = ("example", "preparation", "face found", "SSIM", "PSNR (dB)", "SSIM refined", f"goal >= {GOAL_SSIM}")
    print("\n" + table(rows, header))
    return results, panels


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    model = load_checkpoint(args.checkpoint, "cpu")
    subjects = tuple(json.loads(args.config.read_text())["test_subjects"])
    sets, panels = olivetti_sets(model, args, subjects)
    results, example_panels = example_scores(model, args.refine_steps)
    panels += example_panels
    seconds = time.perf_counter() - start
    print(f"\n{args.checkpoint}, {torch.get_num_threads()} thread(s), {seconds:.1f} s")
    if args.panel:  # top: inputs as the model saw them; bottom: reconstructions
        from torchvision.utils import save_image

        xs, rs = torch.cat([p[0] for p in panels]), torch.cat([p[1] for p in panels])
        save_image(torch.cat([xs, rs]), args.panel, nrow=len(xs), padding=1)
    out = args.json or ROOT / "benchmarks" / "results" / f"faces_{args.checkpoint.resolve().name}.json"
    result = {
        "checkpoint": str(args.checkpoint),
        "protocol": (
            "SSIM / PSNR (8-bit, scikit-image SSIM) of decode(mode of q(z|x)) against the 64x64 model input x; "
            f"refined_*: q(z|x) refined by {args.refine_steps} Adam steps on the ELBO of x (seed 0); "
            "framed = vae_demo.core.images.to_face_input (face found, cropped, scaled, toned), "
            "centre = to_model_input (centre square, resized)"
        ),
        "olivetti": sets,
        "examples": results,
        "goal_ssim": GOAL_SSIM,
        "refine_steps": args.refine_steps,
        "threads": torch.get_num_threads(),
        "seconds": seconds,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    result[PROVENANCE_KEY] = provenance()
    out.write_text(json.dumps(result, indent=2) + "\n")
    if args.card:
        command = "python benchmarks/faces.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_card_section(args.card, result, command)
    return result


CARD_HEADING = "## Reconstruction SSIM (benchmarks/faces.py)"


def markdown(result: dict) -> str:
    """The results as a markdown table: SSIM (PSNR) per set and framed example, with the goal."""
    steps = result["refine_steps"]
    lines = [
        f"| input | SSIM (encoder) | PSNR (dB) | SSIM (refined, {steps} steps) | PSNR (dB) | goal SSIM >= 0.6 |",
        "|---|---|---|---|---|---|",
    ]
    for name, v in result["olivetti"].items():
        lines.append(
            f"| Olivetti {name}, {v['n_images']} images (mean) | {v['ssim_mean']:.3f} | {v['psnr_mean']:.2f} | "
            f"{v['refined_ssim_mean']:.3f} | {v['refined_psnr_mean']:.2f} | |"
        )
    for r in result["examples"]:
        if r["preparation"] == "framed":
            how = "face framed" if r["face_found"] else "no face found: centre square"
            goal = "met" if r["refined_ssim"] >= result["goal_ssim"] else "not met"
            lines.append(
                f"| {r['input']} ({how}) | {r['ssim']:.3f} | {r['psnr']:.2f} | {r['refined_ssim']:.3f} | "
                f"{r['refined_psnr']:.2f} | {goal} |"
            )
    return "\n".join(lines)


def write_card_section(folder: Path, result: dict, command: str) -> None:
    """Replace (or add) the card's section with this table and the command that made it."""
    body = (
        "Decoded posterior mode against the 64x64 input, 8-bit SSIM; "
        "app examples framed like the training faces (`vae_demo/core/faces.py`); refined: the encoder's "
        "posterior refined on each image's ELBO (semi-amortised inference, what the app's interpolation "
        "does with faces).\n\n"
        f"```bash\n{command}\n```\n\n{markdown(result)}\n"
    )
    replace_card_section(folder, CARD_HEADING, body)


if __name__ == "__main__":
    main()
