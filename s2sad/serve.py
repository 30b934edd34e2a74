"""``python -m s2sad.serve FOLDER [--port N] [--no-build]``: compile what FOLDER's
``build.txt`` lists (``s2sad-cli`` arguments, one module a line, ``--emit js -o FOLDER``
added) and serve FOLDER as static files on 127.0.0.1, with the MIME types browsers want for
``.mjs`` and ``.wasm``."""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shlex
import sys
from collections.abc import Sequence

from . import cli

TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript"}


def build(folder: str) -> int:
    """Run ``s2sad-cli ... --emit js -o FOLDER`` for each line of FOLDER/build.txt; returns
    the CLI's exit code of the first failure, or 0."""
    listing = os.path.join(folder, "build.txt")
    if not os.path.isfile(listing):
        return 0
    with open(listing, encoding="utf-8") as fh:
        lines = [line.strip() for line in fh if line.strip() and not line.startswith("#")]
    for line in lines:
        words = shlex.split(line)
        words[0] = os.path.join(folder, words[0])
        code = cli.main([*words, "--emit", "js", "-o", folder])
        if code:
            return code
    return 0


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a rebuilt module is picked up
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base's name)
        if os.environ.get("S2SAD_SERVE_QUIET") != "1":
            super().log_message(format, *args)


def server(folder: str, port: int = 8000) -> http.server.ThreadingHTTPServer:
    """A server of FOLDER on 127.0.0.1:port (0: any free port), not yet started."""
    handler = functools.partial(_Handler, directory=folder)
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m s2sad.serve", description=__doc__)
    parser.add_argument("folder")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-build", action="store_true", help="serve as it is")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.folder):
        print(f"s2sad.serve: {args.folder}: not a folder", file=sys.stderr)
        return 2
    if not args.no_build:
        code = build(args.folder)
        if code:
            return code
    httpd = server(args.folder, args.port)
    print(f"serving {args.folder} at http://127.0.0.1:{httpd.server_address[1]}/ "
          "(Ctrl-C stops)", file=sys.stderr)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
