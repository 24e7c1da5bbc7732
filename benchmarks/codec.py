"""Rate-distortion benchmark of the VAE codec beside JPEG and WebP; the protocol is in vae_demo/codec/benchmark.py.

    PYTHONPATH=. python benchmarks/codec.py --data ../shared/data/val/Kodak24 [--limit N] \
        [--codecs vae,jpeg,webp] [--seed S] --json benchmarks/results/codec_kodak24.json
"""

from vae_demo.codec.benchmark import main

if __name__ == "__main__":
    main()
