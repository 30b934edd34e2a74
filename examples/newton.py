"""The derivative of a root found by Newton's method, through the iterations themselves.

x* solves x**3 + a*x - 1 = 0; implicit differentiation gives dx*/da = -x* / (3 x*^2 + a),
which the gradient of the loop reproduces.
"""

import s2sad


def cubic_root(a):
    x = 1.0
    for _ in range(50):
        fx = x ** 3 + a * x - 1.0
        if abs(fx) < 1e-14:
            break
        x = x - fx / (3 * x ** 2 + a)
    return x


if __name__ == "__main__":
    droot = s2sad.grad(cubic_root, verbose=True)
    for a in (0.5, 1.0, 2.0):
        x = cubic_root(a)
        print(f"a={a}: root={x:.12f}  d root/da={droot(a):+.12f}  "
              f"implicit formula={-x / (3 * x * x + a):+.12f}")
