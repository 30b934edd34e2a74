"""``s2sad-cli module.py:func --emit python|wat|wasm|js [--wrt NAMES] [--mode M] [-o FILE]``.

The target module is imported -- its top-level code runs -- as ``python -m`` would run it."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Sequence

from .errors import S2SADError

EXAMPLE = """examples:
  s2sad-cli examples/pendulum.py:pendulum --emit python
  s2sad-cli examples/pendulum.py:pendulum --wrt theta0,length --emit wat -o pendulum.wat
  s2sad-cli examples/newton.py:cubic_root --emit wasm          # writes cubic_root.wasm
  s2sad-cli examples/pendulum.py:pendulum --mode forward       # the tangent function
  s2sad-cli examples/pendulum.py:pendulum --mode hvp           # Hessian-vector product
  s2sad-cli bench/memory.py:sin_loop --memory 64MB --emit wasm  # checkpointed: bounded tape
  s2sad-cli examples/web/shot.py:shoot --wrt vx,vy --emit js -o examples/web
                                     # writes shoot.wasm, shoot.mjs and shoot.d.ts there

The module is imported: its top-level code runs, as `python -m` or `import` would run
it (with its own folder first on sys.path while it is imported).

The Wasm module exports <func> (the primal), <func>_grad (args..., b_out) -> (value,
gradients...), <func>_fwd (args...) -> value and <func>_bwd (b_out) -> (value,
gradients...) (the two sweeps of _grad as two calls), and its memory; it imports nothing,
so node, a browser or wasmtime can run it.  --emit js adds an ES module that wraps it
(numbers and Float64Arrays in and out) and its TypeScript declarations.
"""


class CliError(Exception):
    """A one-line message for stderr (exit code 2)."""


def _load(target: str):
    """Import the target module (its top-level code runs, as ``python -m`` or ``import``
    would run it) and return the function it names."""
    if ":" not in target:
        raise CliError(f"{target}: expected module.py:function")
    path, _, name = target.rpartition(":")
    if not os.path.isfile(path):
        raise CliError(f"{path}: no such file")
    if not path.endswith(".py"):
        raise CliError(f"{path}: not a Python source file (expected module.py:function)")
    module_name = os.path.splitext(os.path.basename(path))[0]
    if module_name in sys.modules:  # (a target named like a loaded module, e.g. ast.py)
        module_name = f"s2sad_target_{module_name}"
    folder = os.path.dirname(os.path.abspath(path))
    # the target's folder is searched first while it is imported (its own imports find its
    # neighbours), and only then: s2sad's modules are all imported before (main)
    sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise CliError(f"{exc.filename or path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except (Exception, SystemExit) as exc:  # the user's module failed while importing
        line = _line_in(exc, path)
        where = f"{path}:{line}" if line else path
        what = f"called sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else \
            f"failed: {type(exc).__name__}: {exc}"
        raise CliError(f"{where}: importing the module {what}") from None
    finally:
        if sys.path and sys.path[0] == folder:
            del sys.path[0]
    func = getattr(module, name, None)
    if func is None:
        raise CliError(f"{path}: no function named '{name}'")
    if not callable(func):
        raise CliError(f"{path}: '{name}' is not a function")
    return func


def _line_in(exc: BaseException, path: str) -> int | None:
    """The last line of ``path`` in the traceback of ``exc``."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in (os.path.abspath(path), path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _wrt(value: str | None):
    if not value:
        return 0
    items = []
    for part in value.split(","):
        part = part.strip()
        items.append(int(part) if part.lstrip("-").isdigit() else part)
    return tuple(items) if len(items) > 1 else items[0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="s2sad-cli", description="Write the gradient of a Python function as readable "
        "Python, WebAssembly text, or a WebAssembly module.", epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", help="module.py:function")
    parser.add_argument("--emit", choices=("python", "wat", "wasm", "js"), default="python",
                        help="what to write (default: python)")
    parser.add_argument("--wrt", help="parameters to differentiate with respect to: names or "
                        "positions, comma-separated (default: the first)")
    parser.add_argument("--mode", choices=("reverse", "forward", "hvp"), default="reverse",
                        help="reverse: the gradient (default); forward: also the tangent "
                        "function (<func>_jvp in a module); hvp: the Hessian-vector product "
                        "(<func>_hvp in a module: number arguments)")
    parser.add_argument("--memory", help="a memory budget for the tape (e.g. 64MB): loops that "
                        "tape are checkpointed to fit it")
    parser.add_argument("-o", "--output", help="file to write (default: stdout; for --emit "
                        "wasm, FUNC.wasm); for --emit js, the folder (default: .)")
    parser.add_argument("--ranks", help="the number of dimensions of array parameters the "
                        "source does not index (A @ w, np.tanh(x)), e.g. A=2,w=1 "
                        "(default: read off the source)")
    args = parser.parse_args(argv)
    # s2sad's own imports first: a wasmtime.py or numpy.py beside the target must not
    # replace them once the target's folder is on sys.path
    from . import api  # noqa: F401

    if args.emit != "python":
        import wasmtime  # noqa: F401

        from . import wasm  # noqa: F401
    try:
        func = _load(args.target)
        wrt = _wrt(args.wrt)
        if args.emit == "python":
            if args.mode == "reverse":
                from .api import grad

                text = grad(func, wrt=wrt, memory=args.memory).source
                if text is None:  # refused for numbers: the kinds the source shows, arrays
                    text = _array_source(func, wrt)
            else:
                text = _higher_source(func, wrt, args.mode)
            _write(text, args.output)
        elif args.mode == "hvp" and args.emit == "js":
            raise CliError("--mode hvp: the web wrapper (--emit js) has no Hessian-vector "
                           "product yet; --emit wat or wasm export <func>_hvp")
        else:
            import wasmtime

            from .wasm import build_module

            module = build_module(func, wrt, _module_kinds(func, args.ranks), split=True,
                                  forward=args.mode == "forward", memory=args.memory,
                                  hvp=args.mode == "hvp")
            if args.emit == "wat":
                _write(module.wat, args.output)
            elif args.emit == "wasm":
                binary = wasmtime.wat2wasm(module.wat)
                out = args.output or f"{func.__name__}.wasm"
                with open(out, "wb") as fh:
                    fh.write(binary)
                name = func.__name__
                extra = {"forward": f"{name}_jvp, ", "hvp": f"{name}_hvp, "}.get(args.mode, "")
                print(f"wrote {out} ({len(binary)} bytes): exports {name}, {name}_grad, "
                      f"{extra}{name}_fwd, {name}_bwd, memory", file=sys.stderr)
            else:
                from . import web

                folder = args.output or "."
                if not os.path.isdir(folder):
                    raise CliError(f"{folder}: not a folder (--emit js writes three files "
                                   "into the folder -o names)")
                paths = web.write(func, module, bytes(wasmtime.wat2wasm(module.wat)), folder,
                                  single=not isinstance(wrt, tuple))
                sizes = web.sizes(paths)
                print("wrote " + ", ".join(f"{p} ({sizes[os.path.basename(p)][0]} bytes)"
                                           for p in paths), file=sys.stderr)
    except CliError as exc:
        print(f"s2sad-cli: {exc}", file=sys.stderr)
        return 2
    except S2SADError as exc:
        hint = f" (hint: {exc.hint})" if exc.hint else ""
        if args.emit != "python" and "of unknown kind" in exc.what and not args.ranks:
            hint = " (hint: the source does not show which parameters are arrays: give " \
                "their ranks, e.g. --ranks A=2,w=1)"
        print(f"s2sad-cli: {exc.one_line()}{hint}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"s2sad-cli: {exc}", file=sys.stderr)
        return 2
    return 0


def _module_kinds(func, ranks: str | None) -> dict | None:
    """The parameters' Wasm kinds: read off the source, with ``--ranks A=2,w=1`` for arrays
    it does not index."""
    if not ranks:
        return None
    import inspect

    from .wasm import Arr, guess_kinds

    params = list(inspect.signature(func).parameters)
    kinds = guess_kinds(func, params)
    for item in ranks.split(","):
        name, _, rank = item.partition("=")
        name = name.strip()
        if name not in params or rank.strip() not in ("1", "2"):
            raise CliError(f"--ranks {item!r}: expected NAME=1 or NAME=2 for a parameter of "
                           f"{func.__name__} ({', '.join(params)})")
        kinds[name] = Arr(int(rank))
    return kinds


def _array_source(func, wrt) -> str:
    """The gradient's source when numbers are refused (``x.shape``, ``x.copy()``): every
    parameter the source does not show to be a number taken as an array."""
    import inspect

    from . import kinds
    from .api import guess_kinds
    from .transform import transform, wrt_names

    params = list(inspect.signature(func).parameters)
    guessed = guess_kinds(func, params)
    names, _ = wrt_names(func, params, wrt)
    return transform(func, names, kinds={p: guessed.get(p, kinds.Array(None))
                                         for p in params}).full_source


def _higher_source(func, wrt, mode: str) -> str:
    """The source of the tangent function (forward) or of the Hessian-vector product (hvp:
    the tangent of the gradient) for the kinds the source suggests (numbers)."""
    import inspect

    from . import kinds
    from .api import guess_kinds
    from .transform import transform, transform_forward, wrt_names

    params = list(inspect.signature(func).parameters)
    guessed = guess_kinds(func, params)
    names, _ = wrt_names(func, params, wrt)
    arg_kinds = {p: guessed.get(p, kinds.Array(None)) for p in params}
    if mode == "forward":
        return transform_forward(func, names, kinds=arg_kinds).full_source
    t = transform(func, names, kinds=arg_kinds)
    seed = list(inspect.signature(t.vjp).parameters)[-1]
    return transform_forward(t.vjp, names, kinds={**arg_kinds, seed: kinds.FLOAT},
                             output=1).full_source


def _write(text: str, path: str | None) -> None:
    if path:
        with open(path, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
