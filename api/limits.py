"""Body size and nesting capped before any JSON parser sees the body (an ASGI middleware)."""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.refusals import refusal_json
from pipeline.errors import Problem

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)  # brackets inside strings do not nest anything
_BRACKETS = re.compile(rb"[\[\]{}]")


def nesting_depth(body: bytes, stop: int) -> int:
    """How deeply objects and arrays nest in `body` (JSON text), counting up to `stop`; linear, no recursion."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRINGS.sub(b"", body)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        if depth > deepest:
            deepest = depth
            if deepest >= stop:
                break
    return deepest


class BodyLimits:
    """Refuses a body over `max_bytes` with 413 (from Content-Length, or while it streams in) and one nested
    deeper than `max_depth` with 400; what passes is replayed to the app unchanged."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_depth: int) -> None:
        self.app, self.max_bytes, self.max_depth = app, max_bytes, max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, 413, "too_large", f"{int(declared)} bytes, more than the {self.max_bytes} allowed")
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._refuse(send, 413, "too_large", f"more than the {self.max_bytes} bytes allowed")
                return
        if nesting_depth(bytes(body), self.max_depth + 1) > self.max_depth:
            await self._refuse(send, 400, "malformed", f"nested more than {self.max_depth} levels deep")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()  # after the body: the disconnect, when it comes
            sent = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, status: int, code: str, message: str) -> None:
        content = json.dumps(refusal_json(code, [Problem("(body)", message)])).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
