"""Imported before Gradio (app.py does so first): ``import gradio`` then takes half the time, the app's page comes
sooner, and Gradio does not write into its own installation while the app starts.

Gradio 6.31 regenerates the type stub (``.pyi``) of each of its ~80 component classes while importing them: it reads
and parses each class's source and stub with ``ast`` and rewrites the stub when they differ (about 2 of the 4
CPU-seconds that ``import gradio`` costs). The stubs ship with Gradio and serve editors only, so on the pinned
version that step is skipped; on another version, or if Gradio was imported already, nothing changes.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.metadata
import sys

PINNED_GRADIO = "6.31."  # the Gradio version this module and ui/gradio_support.py were written against
STUB_MODULE = "gradio.component_meta"  # defines create_or_modify_pyi, called once per component class


def _no_stub_rewrite(*_args, **_kwargs) -> None:
    return None


class SkipStubRewrite(importlib.abc.MetaPathFinder):
    """Finds ``gradio.component_meta`` as Python would and, once it has run, replaces its stub writer."""

    def find_spec(self, name, path, target=None):
        if name != STUB_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module) -> None:
            run(module)
            if callable(getattr(module, "create_or_modify_pyi", None)):
                module.create_or_modify_pyi = _no_stub_rewrite

        spec.loader.exec_module = exec_module
        return spec


def install() -> bool:
    """Skip the stub rewriting of the Gradio import to come; False when that cannot apply or is arranged already."""
    if "gradio" in sys.modules or any(isinstance(f, SkipStubRewrite) for f in sys.meta_path):
        return False
    try:
        if not importlib.metadata.version("gradio").startswith(PINNED_GRADIO):
            return False
    except importlib.metadata.PackageNotFoundError:
        return False
    sys.meta_path.insert(0, SkipStubRewrite())
    return True


install()
