"""The Digits & faces tab's calls answered by a process of its own, started beside the app.

``python app.py`` starts it before importing Gradio, so this process imports torch and loads the default model on
one core while the app imports Gradio and builds its page on the other. Within one process the two imports run one
after the other (both hold the GIL), and the first sample waited for both.

A call is a function of ``vae_demo.demo.generative`` and its arguments, sent over a ``multiprocessing.connection``
that only a holder of the random key can open; the answer, or the exception the function raised (a sentence for
the page), comes back. Where no side process was started, or it has stopped, the call runs here.
"""

from __future__ import annotations

import importlib.util
import logging
import secrets
import subprocess
import sys
import threading
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener

log = logging.getLogger(__name__)
READY_TIMEOUT_S = 120.0  # a side process that is not ready by then is given up, and calls run here
ANSWER_TIMEOUT_S = 120.0  # one that takes longer to answer a call is stopped, and the call runs here


def _generative():
    from vae_demo.demo import generative  # imports torch

    return generative


class SideProcess:
    """A child Python that imports ``vae_demo.demo.generative``, loads the default model and answers calls."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._listener = Listener(authkey=self._key)
        try:
            self._proc = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE)
            self._proc.stdin.write(f"{self._listener.address}\n{self._key.hex()}\n".encode())
            self._proc.stdin.close()
        except OSError:
            self._listener.close()
            raise
        self._conn: Connection | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="side-process", daemon=True).start()

    def _accept(self) -> None:
        """Wait for the child to connect and say it is ready (its first message)."""
        try:
            conn = self._listener.accept()
            if conn.recv() == "ready":
                self._conn = conn
        except (OSError, EOFError, AuthenticationError) as err:
            log.warning("the side process did not start (%s); the Digits & faces tab runs in the app", err)
        finally:
            self._listener.close()
            self._ready.set()

    def call(self, name: str, *args):
        """``generative.<name>(*args)``, in the side process when it is running, else here."""
        self._ready.wait(READY_TIMEOUT_S)
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.send((name, args))
                    if not self._conn.poll(ANSWER_TIMEOUT_S):
                        raise TimeoutError(f"no answer to {name} in {ANSWER_TIMEOUT_S:.0f} s")
                    ok, value = self._conn.recv()
                except (OSError, EOFError) as err:  # TimeoutError is an OSError
                    log.warning("the side process stopped (%s); the Digits & faces tab runs in the app", err)
                    self._conn = None
                    self._proc.kill()
                    self._proc.wait()
                else:
                    if ok:
                        return value
                    raise value
        return getattr(_generative(), name)(*args)

    def close(self) -> None:
        """Stop the child (it exits when its connection closes)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()


_SIDE: SideProcess | None = None


def start() -> SideProcess | None:
    """Start the side process (once); later ``call``s go to it. Not on a ZeroGPU Space (the ``spaces`` package),
    whose GPU calls must run in the app's own process. If it cannot start, the calls run here (logged)."""
    global _SIDE
    if _SIDE is None and importlib.util.find_spec("spaces") is None:
        try:
            _SIDE = SideProcess()
        except OSError as err:
            log.warning("the side process did not start (%s); the Digits & faces tab runs in the app", err)
    return _SIDE


def call(name: str, *args):
    """``generative.<name>(*args)`` in the side process if ``start`` was called, else in this process."""
    return _SIDE.call(name, *args) if _SIDE is not None else getattr(_generative(), name)(*args)


def serve() -> None:
    """The child: connect with the address and key read from stdin, load, say ready, answer until the app closes."""
    address, key = sys.stdin.readline().strip(), bytes.fromhex(sys.stdin.readline().strip())
    conn = Client(address, authkey=key)
    from vae_demo.catalog import DEFAULT_GENERATIVE

    generative = _generative()
    generative.sample_grid(DEFAULT_GENERATIVE, 1)
    conn.send("ready")
    while True:
        try:
            name, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send((True, getattr(generative, name)(*args)))
        except Exception as err:  # noqa: BLE001 - sent back to be raised where the call came from
            try:
                conn.send((False, err))
            except Exception:  # noqa: BLE001 - an exception that cannot be pickled: its sentence
                conn.send((False, RuntimeError(str(err))))


if __name__ == "__main__":
    serve()
