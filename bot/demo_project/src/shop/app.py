"""The HTTP API (WSGI, standard library only)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import make_server

from shop.cart import CartError, CartService
from shop.storage import CartStore

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def make_app(service: CartService) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"].strip("/").split("/")
        try:
            status, body = route(service, method, path, environ)
        except CartError as exc:
            status, body = "400 Bad Request", {"error": exc.code, "message": str(exc)}
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json")])
        return [data]

    return app


def route(
    service: CartService, method: str, path: list[str], environ: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    if path == ["health"]:
        return "200 OK", {"status": "ok"}
    if len(path) >= 2 and path[0] == "carts":
        cart_id = path[1]
        if method == "GET" and len(path) == 2:
            return "200 OK", vars(service.view(cart_id))
        payload = read_json(environ)
        if method == "POST" and path[2:] == ["items"]:
            return "200 OK", vars(service.add(cart_id, payload["sku"], int(payload["qty"])))
        if method == "POST" and path[2:] == ["coupon"]:
            return "200 OK", vars(service.apply_coupon(cart_id, payload["code"]))
    return "404 Not Found", {"error": "not_found", "message": "no such endpoint"}


def read_json(environ: dict[str, Any]) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b"{}"
    value = json.loads(raw)
    return value if isinstance(value, dict) else {}


if __name__ == "__main__":
    with make_server("127.0.0.1", 8080, make_app(CartService(CartStore()))) as server:
        server.serve_forever()
