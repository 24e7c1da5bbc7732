"""The one table of photo problems names things that exist."""

from __future__ import annotations

import pytest

from vae_demo import catalog
from vae_demo.catalog import models
from vae_demo.light import classical as light_classical
from vae_demo.light.pipeline import LIGHT_DEGRADATIONS
from vae_demo.restoration import classical, problems
from vae_demo.restoration.degradations import DEGRADATIONS
from vae_demo.restoration.mixture import CONDITIONS


@pytest.mark.parametrize("key", list(problems.PROBLEMS))
def test_every_problem_names_a_degradation_condition_method_and_model_that_exist(key):
    row = problems.PROBLEMS[key]
    if row.model == problems.LIGHT_MODEL:  # light and colour: the light family's degradations and methods
        assert row.degradation in LIGHT_DEGRADATIONS and row.model in models("light") and row.condition is None
        assert row.classical in light_classical.METHODS and row.classical not in light_classical.ORACLES
    else:
        assert row.degradation in DEGRADATIONS and row.classical in classical.METHODS
        assert row.condition is None or row.condition in CONDITIONS
        assert row.model in models("restoration")
    assert row.level(0.0) >= 0 and row.level(1.0) >= 0


@pytest.mark.parametrize("key", list(problems.NOISES))
def test_every_noise_kind_names_things_that_exist(key):
    row = problems.NOISES[key]
    assert row.degradation is None or row.degradation in DEGRADATIONS
    assert row.classical in classical.METHODS and row.model in models("restoration")
    assert row.level_range[0] < row.level_range[1]


@pytest.mark.parametrize("task", list(catalog.tasks()))
def test_every_benchmark_task_is_simulated_by_a_degradation_that_exists(task):
    name = catalog.task_degradation(task)
    if task in catalog.light_tasks():
        assert name in LIGHT_DEGRADATIONS
    else:
        assert name in DEGRADATIONS or (task == "real" and name is None), "real: real noisy photos, nothing added"


def test_tasks_keep_their_names_and_degradations_name_the_corruption():
    simulated = {task: catalog.task_degradation(task) for task in ("denoise", "sr", "deblur", "camera")}
    assert simulated == {"denoise": "gaussian_noise", "sr": "downsample", "deblur": "gaussian_blur", "camera": "camera"}
    assert not {"denoise", "sr", "deblur"} & set(DEGRADATIONS)


def test_unknown_problems_get_a_sentence_naming_the_choices():
    with pytest.raises(ValueError, match="Choose one of: auto, noise"):
        problems.problem("sharpen")
    with pytest.raises(ValueError, match="Unknown noise type"):
        problems.noise("pink")
