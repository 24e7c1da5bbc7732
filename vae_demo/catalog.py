"""The one table of what vae-demo has: model families, bundled models, photo problems and kinds of noise.

It imports nothing heavy (no torch), so the CLI's ``--help``, the app's page and the tests read it before any
model loads, and every layer takes its names from here: the hub (which class loads a checkpoint), the CLI (its
choices, how to train a family, where its data are), the app (labels and menus), the benchmark (its tasks).

Words, each with one meaning:

- a **family** is a kind of model: its classes and its training, named as ``"module:attribute"`` and imported
  only when used;
- a **model** is a bundled checkpoint, ``checkpoints/NAME`` (re-made by ``configs/NAME.json``);
- a **problem** is what a person asks the Enhance tab to fix, a **noise** what the Denoise tab removes; each
  row names the **degradation** that simulates it (``restoration.degradations`` or ``light.pipeline``), the
  **condition** the model is told (None: blind), the classical method shown beside it, the model that serves
  it and the benchmark **tasks** of ``benchmarks/restore.py`` that score it;
- a degradation is named for the corruption (``gaussian_noise``, ``downsample``, ``gaussian_blur``), a task for
  the job (``denoise``, ``sr``, ``deblur``); ``task_degradation`` goes from one to the other.

Adding a photo problem is one row of ``PROBLEMS`` plus its code (the degradation, the classical method);
adding a bundled model one row of ``MODELS`` plus its checkpoint folder and config (docs/contributing in
README shows both).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Family:
    """A kind of model: where its code lives, as ``"module:attribute"`` names imported on use."""

    model: str  # the class a checkpoint of this family builds
    config: str  # its config dataclass (the checkpoint's config.json)
    run_config: str  # the run config of ``configs/*.json``
    train: str  # ``train(run, data, out, resume=...)``: trains and writes a checkpoint folder
    data: str  # where ``vae-demo train`` reads when ``--data`` is not given
    architecture: str | None = None  # config.json's "architecture" naming this family (None: the default)
    loader: str | None = None  # a ``load(folder)`` used instead of the class (the codec: it keeps its own format)
    channels_last: bool = True  # NHWC convolutions (about 30% faster on a CPU for the photo models)


FAMILIES: dict[str, Family] = {
    "generative": Family(
        "vae_demo.generative.model:ConvVAE",
        "vae_demo.generative.model:VAEConfig",
        "vae_demo.generative.train:RunConfig",
        "vae_demo.generative.train:train",
        "../shared/data/mnist",
        channels_last=False,
    ),
    "hvae": Family(
        "vae_demo.generative.hvae:LadderVAE",
        "vae_demo.generative.hvae:HVAEConfig",
        "vae_demo.generative.hvae_train:HVAERunConfig",
        "vae_demo.generative.hvae_train:train_hvae",
        "../shared/data/mnist",
        architecture="ladder-vae",
        channels_last=False,
    ),
    "restoration": Family(
        "vae_demo.restoration.model:RestorationVAE",
        "vae_demo.restoration.model:RestorationConfig",
        "vae_demo.restoration.train:RestorationRunConfig",
        "vae_demo.restoration.train:train_restoration",
        "../shared/data/train",
        architecture="restoration-vae",
    ),
    "divnoising": Family(
        "vae_demo.restoration.divnoising:DivNoisingVAE",
        "vae_demo.restoration.divnoising:DivNoisingConfig",
        "vae_demo.restoration.divnoising_train:DivNoisingRunConfig",
        "vae_demo.restoration.divnoising_train:train_divnoising",
        "~/.cache/vae-demo/data/Train400-sigma25",  # made by `vae-demo make-noisy` (see its help)
        architecture="divnoising-vae",
    ),
    "light": Family(
        "vae_demo.light.model:LightVAE",
        "vae_demo.light.model:LightConfig",
        "vae_demo.light.train:LightRunConfig",
        "vae_demo.light.train:train_light",
        "../shared/data/train",
        architecture="light-vae",
    ),
    "codec": Family(
        "vae_demo.codec.model:HyperpriorCodec",
        "vae_demo.codec.model:CodecConfig",
        "vae_demo.codec.train:CodecRunConfig",
        "vae_demo.codec.train:train_codec",
        "../shared/data/train/CBSD432",
        architecture="codec-hyperprior",
        loader="vae_demo.codec.model:load_codec",
    ),
    "classifier": Family(
        "vae_demo.generative.classifier:DigitClassifier",
        "vae_demo.generative.classifier:ClassifierConfig",
        "vae_demo.generative.classifier_train:ClassifierRunConfig",
        "vae_demo.generative.classifier_train:train_classifier",
        "../shared/data/mnist",
        architecture="digit-classifier",
    ),
}
# The generative family's datasets (its run config's "dataset") and where each is read from by default.
DATASETS = {"mnist": "../shared/data/mnist", "olivetti": "../shared/data/olivetti-faces"}
DATASETS |= {"fashion-mnist": "data", "cifar10": "data"}  # torchvision downloads these with --download


@dataclass(frozen=True)
class Model:
    """A bundled model: ``checkpoints/NAME``, re-made by ``configs/NAME.json``."""

    family: str  # a key of FAMILIES
    role: str  # where the app uses it (a key of ROLES)
    note: str  # one line for a person


ROLES = {
    "generative": "sample, interpolate and denoise in the generative tabs",
    "conditional": "class-conditional: needs a label y (the Lab's any digit in any style)",
    "hierarchical": "several stochastic layers: the Lab's layers panel",
    "restoration": "enhance and denoise photos (the problems below name the one serving each)",
    "codec": "compress photos to .vaez files",
    "divnoising": "denoisers trained on noisy images alone",
    "light": "fix exposure, haze / flat tone and colour casts",
    "classifier": "read digits: the judge of benchmarks/conditional.py",
}
MODELS: dict[str, Model] = {
    "mnist-vae": Model("generative", "generative", "Handwritten digits, 32-D latent."),
    "mnist-vae-2d": Model(
        "generative", "generative", "Handwritten digits, 2-D latent: the whole latent space fits in one picture."
    ),
    "faces-vae": Model(
        "generative", "generative", "Olivetti faces (64x64 grey), 64-D latent; tested on people it never saw."
    ),
    "mnist-cvae": Model("generative", "conditional", "Handwritten digits, 16-D style latent, the digit as a label."),
    "mnist-hvae": Model("hvae", "hierarchical", "Handwritten digits, three stochastic layers inferred top-down."),
    "denoise-vae": Model("restoration", "restoration", "Gaussian noise of a given level alone (sigma 0-55)."),
    "camera-vae": Model("restoration", "restoration", "A photo's own camera noise (denoise-vae fine-tuned on it)."),
    "sr-vae": Model("restoration", "restoration", "Enlargement alone (x2, x3, x4)."),
    "jpeg-vae": Model("restoration", "restoration", "JPEG repair alone (qualities 8-40)."),
    "deblur-vae": Model("restoration", "restoration", "Gaussian blur alone (sigma 0.5-3 px)."),
    "codec-vae": Model("codec", "codec", "A scale-hyperprior codec: photos to .vaez bitstreams."),
    "divnoising-vae": Model("divnoising", "divnoising", "Trained on noisy photos alone (Gaussian sigma 25)."),
    "light-vae": Model("light", "light", "Exposure, haze / flat tone and colour casts, blind."),
    "mnist-classifier": Model("classifier", "classifier", "A small CNN that reads handwritten digits."),
}


def models(role: str) -> tuple[str, ...]:
    """The bundled models with ``role``, in catalog order."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    return tuple(name for name, m in MODELS.items() if m.role == role)


def family_of_architecture(architecture: str | None) -> str:
    """The family whose checkpoints carry ``architecture`` in config.json (none or unknown: generative)."""
    for name, family in FAMILIES.items():
        if family.architecture is not None and family.architecture == architecture:
            return name
    return "generative"


DEFAULT_GENERATIVE = "mnist-vae"  # the generative tabs' first choice
LATENT_MAP_MODEL = "mnist-vae-2d"  # the Lab's map of the whole latent space
CONDITIONAL_MODEL = "mnist-cvae"
HIERARCHICAL_MODEL = "mnist-hvae"  # the Lab's layers panel
DENOISE_MODEL = "denoise-vae"  # the Gaussian denoiser behind Noise and the simulated noise kinds
CAMERA_MODEL = "camera-vae"  # a real photo's own noise (Auto, the Denoise tab's "real" kind, after brightening)
SR_MODEL, JPEG_MODEL, BLUR_MODEL = "sr-vae", "jpeg-vae", "deblur-vae"
LIGHT_MODEL = "light-vae"
CODEC_MODEL = "codec-vae"
DIVNOISING_MODEL = "divnoising-vae"
CLASSIFIER_MODEL = "mnist-classifier"


@dataclass(frozen=True)
class Problem:
    """One thing a person can ask the Enhance tab to fix."""

    label: str  # as the app shows it
    degradation: str  # what simulates it: a restoration.degradations name, or a light.pipeline one for LIGHT_MODEL
    level: Callable[[float], float]  # the strength slider in [0, 1] -> the degradation's level
    condition: str | None  # told to the model; None: blind
    classical: str  # the classical method shown beside the VAE (restoration or light ``classical.METHODS``)
    model: str  # the bundled model that serves it
    tasks: Mapping[str, str] = field(default_factory=dict)  # benchmark tasks that score it -> what --level means


# What the Enhance tab can fix. Auto: a real photo's own noise, blind (``serving.denoise`` "real"); simulated as
# blur 0.8, noise, JPEG 70. Light and colour (``light.serving``): levels in ``light.pipeline`` units, blind.
PROBLEMS: dict[str, Problem] = {
    "auto": Problem(
        "Auto (a phone photo: blur, noise, JPEG)",
        "gaussian_noise",
        lambda s: 5 + 45 * s,
        "noise",
        "nlm",
        CAMERA_MODEL,
    ),
    "noise": Problem("Noise", "gaussian_noise", lambda s: 5 + 45 * s, "noise", "nlm", DENOISE_MODEL),  # sigma 5-50
    "blur": Problem(  # sigma 0.5-3 px
        "Blur",
        "gaussian_blur",
        lambda s: 0.5 + 2.5 * s,
        "blur",
        "richardson_lucy",
        BLUR_MODEL,
        {"deblur": "Gaussian blur sigma"},
    ),
    "jpeg": Problem("JPEG blocks", "jpeg", lambda s: 60 - 50 * s, "jpeg", "tv", JPEG_MODEL, {"jpeg": "JPEG quality"}),
    "x2": Problem("Low resolution x2", "downsample", lambda s: 2, "sr", "bicubic", SR_MODEL, {"sr": "SR x"}),
    "x4": Problem("Low resolution x4", "downsample", lambda s: 4, "sr", "bicubic", SR_MODEL),
    "lowlight": Problem(  # 1-4 stops under-exposed
        "Too dark",
        "lowlight",
        lambda s: 1 + 3 * s,
        None,
        "clahe",
        LIGHT_MODEL,
        {"lowlight": "stops under-exposed (Poisson-Gaussian sensor noise, sRGB curve, JPEG q90)"},
    ),
    "haze": Problem(
        "Flat / hazy",
        "haze",
        lambda s: 0.2 + 0.6 * s,
        None,
        "contrast_stretch",
        LIGHT_MODEL,
        {"haze": "haze amount (0-1)"},
    ),
    "colour_cast": Problem(
        "Colour cast",
        "colour_cast",
        lambda s: 0.2 + 0.8 * s,
        None,
        "white_patch",
        LIGHT_MODEL,
        {"colour_cast": "colour cast strength (0-1), random direction"},
    ),
    "light_auto": Problem(
        "Auto light & colour",
        "light_auto",
        lambda s: 0.5,
        None,
        "clahe",
        LIGHT_MODEL,
        {"light_auto": "ignored: a random mix of cast, haze or flat tone, exposure (blind)"},
    ),
}


@dataclass(frozen=True)
class Noise:
    """A kind of noise the Denoise tab adds (or, ``real``, finds in the photo) and removes."""

    label: str
    degradation: str | None  # None: the photo's own noise, nothing is added
    level_range: tuple[float, float]  # of the tab's level slider, in the units below
    level_unit: str
    classical: str
    model: str
    tasks: Mapping[str, str] = field(default_factory=dict)  # benchmark tasks that score it -> what --level means

    def physical_level(self, level: float) -> float:
        """The slider's level in the degradation's units (salt and pepper: percent -> fraction)."""
        return level / 100 if self.degradation == "salt_and_pepper" else level


NOISES: dict[str, Noise] = {
    "gaussian": Noise(
        "Gaussian",
        "gaussian_noise",
        (0, 100),
        "sigma on the 0-255 scale",
        "nlm",
        DENOISE_MODEL,
        {"denoise": "Gaussian noise sigma"},
    ),
    "poisson": Noise(
        "Poisson (photon)",
        "poisson",
        (1, 1000),
        "peak photon count",
        "nlm",
        DENOISE_MODEL,
        {"poisson": "Poisson noise, peak photons"},
    ),
    "salt_and_pepper": Noise(
        "Salt and pepper",
        "salt_and_pepper",
        (0, 50),
        "percent of pixels",
        "median",
        DENOISE_MODEL,
        {"salt_and_pepper": "salt and pepper, percent"},
    ),
    "real": Noise(
        "The photo's own noise",
        None,
        (0, 100),
        "ignored: the level is estimated",
        "nlm",
        CAMERA_MODEL,
        {"camera": "camera noise (blind), sigma", "real": "real camera noise (pairs, blind)"},
    ),
}


# The corruptions the generative tabs' "Denoise" applies to a digit or a face (``degradations.corrupt``).
DIGIT_NOISES = {"gaussian": "Gaussian noise", "salt_and_pepper": "Salt and pepper", "mask": "Masked square"}


def tasks() -> dict[str, Problem | Noise]:
    """Every benchmark task of ``benchmarks/restore.py`` and the problem or noise row it scores (``camera``:
    simulated Poisson-Gaussian noise then JPEG; ``real``: pairs of real noisy photos and their references)."""
    rows: list[Problem | Noise] = [*NOISES.values(), *PROBLEMS.values()]
    return {task: row for row in rows for task in row.tasks}


# Tasks whose row adds nothing (the photo's own noise) but that the benchmark simulates, with the degradation used.
SIMULATED_TASKS = {"camera": "camera"}


def task_degradation(task: str) -> str | None:
    """The degradation that simulates benchmark ``task``: its row's (``sr`` -> ``downsample``), ``SIMULATED_TASKS``
    for the photo's own noise, None for ``real`` (real noisy photos: nothing is added)."""
    return SIMULATED_TASKS.get(task) or tasks()[task].degradation


def task_levels() -> dict[str, str]:
    """What each task's ``--level`` means, for reports."""
    return {task: meaning for row in [*NOISES.values(), *PROBLEMS.values()] for task, meaning in row.tasks.items()}


def light_tasks() -> tuple[str, ...]:
    """The tasks that ``vae_demo.light.benchmark`` runs (those of problems served by the light family)."""
    return tuple(t for t, row in tasks().items() if MODELS[row.model].family == "light")
