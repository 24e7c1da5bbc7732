"""A tiny stand-in for the Hugging Face Hub on 127.0.0.1, for tests without the internet.

It answers the two requests ``hf_hub_download`` makes for a file, ``HEAD`` and ``GET`` of
``/{org}/{repo}/resolve/{revision}/{path}``, from a folder per repo, with the headers the client
reads (``X-Repo-Commit``, ``ETag``, ``Content-Length``), and the ones ``HfApi.upload_folder`` makes
(``/api/repos/create``, ``/api/validate-yaml``, ``preupload`` and ``commit`` with files inlined as
base64), writing the committed files into ``upload_root/{org}/{repo}`` so they can be downloaded
again. Every request is recorded, with its Authorization header.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import unquote

COMMIT = "fedcba9876543210fedcba9876543210fedcba98"


class LocalHub:
    def __init__(self, repos: dict[str, Path], upload_root: Path | None = None) -> None:
        self.repos, self.requests, self.upload_root = repos, [], upload_root
        self.authorizations: list[str | None] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def _file(self) -> Path | None:
                parts = unquote(self.path.split("?")[0]).strip("/").split("/")
                if len(parts) < 5 or parts[2] != "resolve":
                    return None
                folder = hub.repos.get(f"{parts[0]}/{parts[1]}")
                path = folder / "/".join(parts[4:]) if folder else None
                return path if path and path.is_file() else None

            def _answer(self, body: bool) -> None:
                hub.requests.append((self.command, self.path))
                path = self._file()
                if path is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = path.read_bytes()
                self.send_response(200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def _json(self, payload: dict, status: int = 200) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                hub.requests.append((self.command, self.path))
                hub.authorizations.append(self.headers.get("Authorization"))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/api/repos/create":
                    req = json.loads(body)
                    repo_id = f"{req.get('organization')}/{req['name']}"
                    if hub.upload_root is not None:
                        hub.repos.setdefault(repo_id, hub.upload_root / repo_id).mkdir(parents=True, exist_ok=True)
                    return self._json({"url": f"{hub.url}/{repo_id}", "name": repo_id})
                if self.path == "/api/validate-yaml":
                    return self._json({})
                parts = self.path.strip("/").split("/")  # api/models/org/repo/{preupload,commit}/rev
                repo_id = "/".join(parts[2:4]) if len(parts) >= 6 else ""
                if repo_id not in hub.repos:
                    return self._json({"error": "Repository not found"}, 404)
                if parts[4] == "preupload":
                    files = json.loads(body)["files"]
                    return self._json(
                        {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}
                    )
                if parts[4] == "commit":
                    for line in body.decode().splitlines():
                        item = json.loads(line)
                        if item["key"] == "file":
                            path = hub.repos[repo_id] / item["value"]["path"]
                            path.parent.mkdir(parents=True, exist_ok=True)
                            path.write_bytes(base64.b64decode(item["value"]["content"]))
                    return self._json({"commitUrl": f"{hub.url}/{repo_id}/commit/{COMMIT}", "commitOid": COMMIT})
                return self._json({"error": "not supported by this test server"}, 404)

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
