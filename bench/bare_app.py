"""A bare Flask page, the ceiling the sign-in page's throughput is measured against (bench/throughput.py)."""

from flask import Flask, Response

app = Flask(__name__)

# About the size of the rendered sign-in page, so the comparison is about work per request, not bytes.
# The empty data: icon keeps a browser from asking for /favicon.ico, as the portal's inline icon does.
PAGE = ('<!doctype html><html><head><title>bare</title><link rel="icon" href="data:,"></head><body>'
         + "<p>bare Flask page</p>" * 110 + "</body></html>")


@app.get("/")
def index() -> Response:
    """Return a constant HTML page: no template, session, CSRF token or security headers."""
    return Response(PAGE, mimetype="text/html")


@app.get("/healthz")
def healthz() -> Response:
    """Answer the readiness probe bench/_util.py waits for."""
    return Response("ok", mimetype="text/plain")
