"""Runtime support imported by generated Python: zeros and accumulation for containers.

Scalar adjoints need nothing from here (the generated code uses ``0.0`` and ``+``); the tape
itself is a plain list named ``_stack`` created inside each generated function, so gradients
are reentrant and thread-safe.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def zeros_like(value: Any) -> Any:
    """A zero cotangent with the structure of ``value`` (lists stay lists, tuples become lists
    so that elements can be accumulated in place)."""
    if isinstance(value, (list, tuple)):
        return [zeros_like(v) for v in value]
    if isinstance(value, np.ndarray):
        return np.zeros(value.shape)
    if isinstance(value, np.generic):
        return 0.0
    return 0.0


def add(a: Any, b: Any) -> Any:
    """``a + b`` for cotangents: elementwise for lists and tuples, ``+`` otherwise."""
    if isinstance(a, list) or isinstance(b, (list, tuple)):
        if isinstance(a, (int, float)) and a == 0:
            return list(b)
        if isinstance(b, (int, float)) and b == 0:
            return a
        return [add(x, y) for x, y in zip(a, b)]
    return a + b


def like(structure: Any, cotangent: Any) -> Any:
    """Give ``cotangent`` the container type of ``structure`` (a tuple for a tuple input)."""
    if isinstance(structure, tuple) and isinstance(cotangent, list):
        return tuple(like(s, c) for s, c in zip(structure, cotangent))
    if isinstance(structure, list) and isinstance(cotangent, list):
        return [like(s, c) for s, c in zip(structure, cotangent)]
    return cotangent
