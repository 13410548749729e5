"""An authenticating gateway in front of a Chroma server: ``python -m index.chroma_gate``.

``chroma run`` (Chroma 1.x, the Rust server) accepts any request: its auth is a no-op, so a token set
on the client protects nothing. In an office deployment Chroma listens on loopback only and this
gateway is the one port the app workers reach; every request must carry the token
(``Authorization: Bearer …`` or ``X-Chroma-Token: …``), compared in constant time, or it is refused
with 401 before it reaches Chroma. Usage::

    chroma run --host 127.0.0.1 --port 8001 --path /srv/chroma
    TLNQ_CHROMA_TOKEN=… python -m index.chroma_gate --port 8000 --upstream http://127.0.0.1:8001

The token comes from the environment (never the command line, which other users can read).
"""
from __future__ import annotations

import argparse
import contextlib
import hmac
import logging
import os
import sys

log = logging.getLogger(__name__)

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length"}
CREDENTIAL_HEADERS = {"authorization", "x-chroma-token"}


def presented_token(headers) -> str | None:
    """The token a request carries, from either header Chroma clients use.

    >>> presented_token({"authorization": "Bearer s3cret"}), presented_token({"x-chroma-token": "t"})
    ('s3cret', 't')
    >>> presented_token({"authorization": "Basic abc"}) is None
    True
    """
    value = headers.get("authorization") or ""
    if value[:7].lower() == "bearer ":
        return value[7:].strip()
    return headers.get("x-chroma-token") or None


def authorised(headers, token: str) -> bool:
    """Constant-time comparison; no token configured means nothing is let through."""
    given = presented_token(headers)
    return bool(token) and given is not None and hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


def make_app(upstream: str, token: str, timeout_s: float = 60.0):
    """The ASGI app: refuse without the token, else forward the request to ``upstream`` unchanged."""
    import httpx
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    client = httpx.AsyncClient(base_url=upstream.rstrip("/"), timeout=timeout_s)

    async def forward(request):
        if not authorised(request.headers, token):
            log.warning("refused %s %s from %s: no or wrong token", request.method, request.url.path,
                        request.client.host if request.client else "?")
            # The body Chroma's Python client turns into chromadb.errors.AuthorizationError.
            return JSONResponse({"error": "AuthorizationError", "message": "Unauthorized: wrong or missing token"},
                                status_code=401)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP | CREDENTIAL_HEADERS}
        try:
            answer = await client.request(request.method, request.url.path, params=request.query_params,
                                          content=await request.body(), headers=headers)
        except httpx.HTTPError as exc:
            log.warning("upstream %s failed: %r", upstream, exc)
            return JSONResponse({"error": "InternalError", "message": "Chroma server behind the gateway is down"},
                                status_code=502)
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP | {"content-encoding"}}
        return Response(answer.content, status_code=answer.status_code, headers=kept)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await client.aclose()

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)], lifespan=lifespan)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m index.chroma_gate", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for the office network)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--upstream", default="http://127.0.0.1:8001", help="the Chroma server (on loopback)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for Chroma")
    args = parser.parse_args(argv)
    token = os.environ.get("TLNQ_CHROMA_TOKEN", "")
    if len(token) < 16 or not token.isascii() or not token.isprintable():
        print("TLNQ_CHROMA_TOKEN must be set to a secret of at least 16 printable ASCII characters "
              "(HTTP headers carry ASCII only)", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import uvicorn

    uvicorn.run(make_app(args.upstream, token, args.timeout), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
