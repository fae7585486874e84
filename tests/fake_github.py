"""A small GitHub REST API on 127.0.0.1: the endpoints PyGithub uses to open or update a pull request.

    with FakeGitHub(token="t0ken", repos={"lemon-fintech/infra": "main"}) as gh:
        os.environ["LEMI_GITHUB_API_URL"] = gh.url
        ...
        gh.pulls            # pull requests, as GitHub would hold them
        gh.requests         # (method, path) of every request, in order
        gh.fail(500)        # answer every later request with 500 ...
        gh.fail(422, method="POST")   # ... or only some
        gh.delay = 5        # answer slowly (timeouts)

Speaks JSON shaped like GitHub's (only the fields PyGithub reads), checks the
token on every request (401 "Bad credentials" otherwise) and, like GitHub,
refuses a second open pull request for the same head (422).
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakeGitHub:
    def __init__(self, token: str, repos: dict[str, str]) -> None:
        self.token = token
        self.repos = dict(repos)  # full name -> default branch
        self.pulls: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.faults: list[dict[str, Any]] = []
        self.delay = 0.0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.handle_error = lambda *args: None  # a client that timed out and hung up is not news
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeGitHub":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, status: int, *, method: str | None = None, path: str = "", message: str = "") -> None:
        """Answer later requests (matching ``method`` and containing ``path``) with ``status``."""
        self.faults.append({"status": status, "method": method, "path": path,
                            "message": message or f"fake failure {status}"})

    def clear_faults(self) -> None:
        self.faults.clear()

    def open_pulls(self, head_ref: str | None = None) -> list[dict[str, Any]]:
        return [pull for pull in self.pulls if pull["state"] == "open"
                and (head_ref is None or pull["head"]["ref"] == head_ref)]

    # ── JSON shapes ──────────────────────────────────────────────────────────
    def _repo_json(self, full_name: str) -> dict[str, Any]:
        owner, name = full_name.split("/")
        return {
            "id": abs(hash(full_name)) % 10**6, "name": name, "full_name": full_name,
            "owner": {"login": owner, "id": 1, "type": "Organization", "url": f"{self.url}/users/{owner}"},
            "private": True, "default_branch": self.repos[full_name],
            "url": f"{self.url}/repos/{full_name}", "html_url": f"https://github.com/{full_name}",
        }

    def _pull_json(self, full_name: str, pull: dict[str, Any]) -> dict[str, Any]:
        owner = full_name.split("/")[0]
        return {
            "id": 1000 + pull["number"], "number": pull["number"], "state": pull["state"],
            "title": pull["title"], "body": pull["body"],
            "url": f"{self.url}/repos/{full_name}/pulls/{pull['number']}",
            "html_url": f"https://github.com/{full_name}/pull/{pull['number']}",
            "head": {"ref": pull["head"]["ref"], "label": f"{owner}:{pull['head']['ref']}"},
            "base": {"ref": pull["base"]["ref"], "label": f"{owner}:{pull['base']['ref']}"},
        }

    # ── HTTP ─────────────────────────────────────────────────────────────────
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _route(self, method: str) -> None:
                parts = urlsplit(self.path)
                fake.requests.append((method, parts.path))
                if fake.delay:
                    time.sleep(fake.delay)
                length = int(self.headers.get("Content-Length") or 0)
                data = json.loads(self.rfile.read(length) or b"{}") if length else {}
                for fault in fake.faults:
                    if (fault["method"] in (None, method)) and fault["path"] in parts.path:
                        return self._send(fault["status"], {"message": fault["message"],
                                                            "documentation_url": "https://docs.github.com/rest"})
                auth = self.headers.get("Authorization") or ""
                if auth.split(" ", 1)[-1] != fake.token:
                    return self._send(401, {"message": "Bad credentials"})
                match = re.fullmatch(r"/repos/([^/]+/[^/]+)(/pulls(?:/(\d+))?)?/?", parts.path)
                if not match or match.group(1) not in fake.repos:
                    return self._send(404, {"message": "Not Found"})
                full_name, pulls, number = match.group(1), match.group(2), match.group(3)
                if not pulls and method == "GET":
                    return self._send(200, fake._repo_json(full_name))
                if pulls and not number and method == "GET":
                    query = parse_qs(parts.query)
                    state = query.get("state", ["open"])[0]
                    head = query.get("head", [""])[0]
                    found = [pull for pull in fake.pulls if pull["repo"] == full_name
                             and (state == "all" or pull["state"] == state)
                             and (not head or f"{full_name.split('/')[0]}:{pull['head']['ref']}" == head)]
                    return self._send(200, [fake._pull_json(full_name, pull) for pull in found])
                if pulls and not number and method == "POST":
                    head = data.get("head", "").split(":")[-1]
                    if any(pull["repo"] == full_name and pull["head"]["ref"] == head for pull in fake.open_pulls()):
                        return self._send(422, {"message": "Validation Failed", "errors": [
                            {"resource": "PullRequest", "code": "custom",
                             "message": f"A pull request already exists for {full_name.split('/')[0]}:{head}."}]})
                    pull = {"repo": full_name, "number": len(fake.pulls) + 1, "state": "open",
                            "title": data["title"], "body": data.get("body", ""),
                            "head": {"ref": head}, "base": {"ref": data["base"]}}
                    fake.pulls.append(pull)
                    return self._send(201, fake._pull_json(full_name, pull))
                if number and method == "PATCH":
                    for pull in fake.pulls:
                        if pull["repo"] == full_name and pull["number"] == int(number):
                            pull.update({key: data[key] for key in ("title", "body", "state") if key in data})
                            return self._send(200, fake._pull_json(full_name, pull))
                    return self._send(404, {"message": "Not Found"})
                return self._send(404, {"message": "Not Found"})

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_PATCH(self) -> None:
                self._route("PATCH")

        return Handler
