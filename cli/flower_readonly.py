"""Flower for operators who may look but not act: `python -m cli.flower_readonly [flower options]`.

Flower has no read-only switch: any user its basic auth admits may shut workers down, revoke tasks or send
`campaign.start_run` for any tenant through `/api/...`, and `/metrics` and `/healthcheck` answer without auth.
This starts the same Flower with every route behind basic auth (401 without it, on every path) and every
method but GET/HEAD refused (403): what remains is the dashboards and the read API.

Basic auth comes from FLOWER_BASIC_AUTH or, for Docker secrets, the file named by FLOWER_BASIC_AUTH_FILE.
Without any, every request is refused: a read-only Flower open to anyone is not what this is for.
"""

from __future__ import annotations

import hmac
import os
import sys
from base64 import b64decode
from binascii import Error as Base64Error
from pathlib import Path
from typing import Any

from tornado.routing import URLSpec
from tornado.web import HTTPError, RequestHandler, StaticFileHandler

READ_METHODS = frozenset({"GET", "HEAD"})


def authorized(header: str, allowed: list[str]) -> bool:
    """Whether an `Authorization: Basic ...` header carries one of the `user:password` pairs."""
    scheme, _, encoded = header.partition(" ")
    if scheme != "Basic" or not allowed:
        return False
    try:
        given = b64decode(encoded.strip(), validate=True).decode()
    except (Base64Error, UnicodeDecodeError):
        return False
    return any(hmac.compare_digest(given.encode(), pair.encode()) for pair in allowed)


def guard(handler_class: type[RequestHandler]) -> type[RequestHandler]:
    """The handler behind basic auth and limited to reading."""

    class ReadOnly(handler_class):  # type: ignore[valid-type,misc]
        def prepare(self) -> Any:
            allowed = [p for p in (self.application.settings.get("read_only_auth") or []) if p]
            if not authorized(self.request.headers.get("Authorization", ""), allowed):
                self.set_header("WWW-Authenticate", 'Basic realm="flower"')
                raise HTTPError(401)
            if self.request.method not in READ_METHODS:
                raise HTTPError(403, "this Flower is read-only")
            return super().prepare()

    ReadOnly.__name__ = ReadOnly.__qualname__ = f"ReadOnly{handler_class.__name__}"
    return ReadOnly


def read_only_handlers(handlers: list[Any]) -> list[Any]:
    """Flower's route table with each handler guarded: tuples and named `url()` specs alike."""
    guarded: list[Any] = []
    for spec in handlers:
        if isinstance(spec, URLSpec):
            guarded.append(URLSpec(spec.regex.pattern, guard(spec.handler_class), spec.kwargs, spec.name))
        else:
            pattern, handler, *rest = spec
            guarded.append((pattern, guard(handler), *rest))
    return guarded


def basic_auth_pairs(environ: dict[str, str]) -> list[str]:
    """`user:password` pairs from FLOWER_BASIC_AUTH, or the file FLOWER_BASIC_AUTH_FILE names (a Docker secret)."""
    value = environ.get("FLOWER_BASIC_AUTH", "")
    path = environ.get("FLOWER_BASIC_AUTH_FILE")
    if not value and path:
        value = Path(path).read_text(encoding="utf-8").strip()
    return [pair.strip() for pair in value.split(",") if pair.strip()]


def main(argv: list[str]) -> None:
    import flower.app
    import flower.urls

    pairs = basic_auth_pairs(dict(os.environ))
    if pairs:
        os.environ["FLOWER_BASIC_AUTH"] = ",".join(pairs)  # Flower's own login page checks the same pairs
    # flower.app binds this very list at import; replacing its items in place guards the routes it serves.
    flower.urls.handlers[:] = read_only_handlers(flower.urls.handlers)
    # Tornado serves /static/ itself, ahead of the route table, with this class.
    flower.urls.settings["static_handler_class"] = guard(StaticFileHandler)
    original_init = flower.app.Flower.__init__

    def init_with_auth(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.settings["read_only_auth"] = pairs

    flower.app.Flower.__init__ = init_with_auth
    from tasks.app import app

    app.start(["flower", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
