"""The Digits & faces tab's side process: the same answers as in the app, its errors as sentences, and a fallback."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import bundled_marks

from vae_demo.catalog import DEFAULT_GENERATIVE
from vae_demo.demo import generative, side_process

pytestmark = bundled_marks(DEFAULT_GENERATIVE)


@pytest.fixture(scope="module")
def side():
    process = side_process.SideProcess()
    yield process
    process.close()


def test_it_answers_as_this_process_would(side):
    args = (DEFAULT_GENERATIVE, 9, 0.8, 3)
    there = side.call("sample_grid", *args)
    assert there.dtype == np.uint8
    assert np.abs(there.astype(int) - generative.sample_grid(*args).astype(int)).max() <= 1
    row = (DEFAULT_GENERATIVE, 1, 0, 2.0, 5)
    assert np.abs(side.call("traversal", *row).astype(int) - generative.traversal(*row).astype(int)).max() <= 1


def test_its_errors_come_back_as_the_sentence(side):
    with pytest.raises(ValueError, match="The number of samples must be between"):
        side.call("sample_grid", DEFAULT_GENERATIVE, 100_000)
    with pytest.raises(ValueError, match="Unknown model 'nope'"):
        side.call("sample_grid", "nope")
    assert side.call("sample_grid", DEFAULT_GENERATIVE, 1).ndim == 3, "still answering after an error"


def test_a_stopped_side_process_leaves_the_call_here(caplog):
    process = side_process.SideProcess()
    assert process.call("sample_grid", DEFAULT_GENERATIVE, 1).ndim == 3
    process._proc.kill()
    process._proc.wait()
    with caplog.at_level(logging.WARNING, logger=side_process.__name__):
        grid = process.call("sample_grid", DEFAULT_GENERATIVE, 4, 1.0, 2)
    assert "the side process stopped" in caplog.text
    np.testing.assert_array_equal(grid, generative.sample_grid(DEFAULT_GENERATIVE, 4, 1.0, 2))
    process.close()


def test_without_start_calls_run_here(monkeypatch, caplog):
    monkeypatch.setattr(side_process, "_SIDE", None)

    def no_process(*_args, **_kwargs):
        raise OSError("no more processes")

    monkeypatch.setattr(side_process.subprocess, "Popen", no_process)
    with caplog.at_level(logging.WARNING, logger=side_process.__name__):
        assert side_process.start() is None
    assert "no more processes" in caplog.text
    np.testing.assert_array_equal(
        side_process.call("sample_grid", DEFAULT_GENERATIVE, 4), generative.sample_grid(DEFAULT_GENERATIVE, 4)
    )


def test_a_call_without_an_answer_in_time_stops_it_and_runs_here(monkeypatch, caplog):
    process = side_process.SideProcess()
    process.call("sample_grid", DEFAULT_GENERATIVE, 1)  # ready
    monkeypatch.setattr(side_process, "ANSWER_TIMEOUT_S", 0.0)
    with caplog.at_level(logging.WARNING, logger=side_process.__name__):
        grid = process.call("sample_grid", DEFAULT_GENERATIVE, 256)
    assert "no answer to sample_grid" in caplog.text
    assert process._proc.returncode is not None, "the child was stopped"
    assert grid.shape == generative.sample_grid(DEFAULT_GENERATIVE, 256).shape
    process.close()
