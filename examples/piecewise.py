"""A branchy loop: a piecewise cost summed over a grid, differentiated through every branch."""

import math

import s2sad


def piecewise_cost(x, k):
    total = 0.0
    for i in range(100):
        u = x + 0.05 * i - k
        if u < 0:
            total += u * u
        elif u < 1:
            total += math.sin(u) * k
        else:
            total += math.log(u) + k * u
    return total


if __name__ == "__main__":
    dcost = s2sad.grad(piecewise_cost, wrt=(0, 1), verbose=True)
    x, k = 0.33, 1.7
    gx, gk = dcost(x, k)
    h = 1e-6
    fx = (piecewise_cost(x + h, k) - piecewise_cost(x - h, k)) / (2 * h)
    fk = (piecewise_cost(x, k + h) - piecewise_cost(x, k - h)) / (2 * h)
    print(f"cost={piecewise_cost(x, k):.6f}")
    print(f"d/dx={gx:+.8f} (finite differences {fx:+.8f})")
    print(f"d/dk={gk:+.8f} (finite differences {fk:+.8f})")
