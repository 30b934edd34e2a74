"""The README's tour: a loop, its gradient, and the generated adjoint with its stack."""

import math

import s2sad


def f(x):
    s = 0.0
    for i in range(1000):
        s = s + math.sin(x * i) * x
    return s


if __name__ == "__main__":
    df = s2sad.grad(f, verbose=True)
    print("f'(0.3) =", df(0.3))
    print("the same on the Wasm backend:", s2sad.grad(f, backend="wasm")(0.3))
