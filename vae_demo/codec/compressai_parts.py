"""The parts of CompressAI the codec is built from, imported without the warning CompressAI's import prints.

``import compressai`` imports torch_geometric (for CompressAI's point-cloud datasets), and torch_geometric's import
calls ``torch.jit.script``, which torch 2.10 and later deprecate: one FutureWarning on every start of the app, about
code neither this project nor CompressAI's image codecs run. Only that warning, and only during this import, is
silenced.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)
    from compressai.entropy_models import EntropyBottleneck, GaussianConditional
    from compressai.layers import GDN
    from compressai.models import CompressionModel
    from compressai.models.utils import conv, deconv

__all__ = ["GDN", "CompressionModel", "EntropyBottleneck", "GaussianConditional", "conv", "deconv"]
