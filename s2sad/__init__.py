"""s2sad: source-to-source automatic differentiation for Python.

``grad(f)`` returns a plain Python function computing the gradient of ``f``; its generated
source (a forward sweep with explicit pushes onto ``_stack``, then the adjoint sweep) is in
the ``source`` attribute and printed with ``verbose=True``.  ``jvp(f, primals, tangents)``
is forward mode: the tangent computed next to each value, no tape.
"""

from .api import grad, jvp, make_jvp, value_and_grad, vjp
from .checkpoint import checkpointed
from .errors import S2SADError
from .higher import hessian, hvp, jacobian
from .rules import adjoint, nondifferentiable
from .transform import transform

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "make_jvp", "hvp", "hessian", "jacobian",
           "adjoint", "nondifferentiable", "checkpointed", "S2SADError", "transform"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """``s2sad.wasm`` (the WebAssembly backend) is imported on first use: it loads wasmtime,
    which the Python backend does not need."""
    if name in ("wasm", "wasm_runtime", "cli"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
