"""How does the pendulum's angle after one second depend on where it starts?

A semi-implicit Euler integrator with a while loop; s2sad prints the adjoint it generates
(the loop's values go on a stack in the forward sweep and come back in the adjoint sweep).
"""

import math

import s2sad


def pendulum(theta0, length=1.0):
    g = 9.81
    theta = theta0
    omega = 0.0
    t = 0.0
    dt = 0.001
    while t < 1.0:
        omega = omega - g / length * math.sin(theta) * dt
        theta = theta + omega * dt
        t = t + dt
    return theta


if __name__ == "__main__":
    dpendulum = s2sad.grad(pendulum, wrt=("theta0", "length"), verbose=True)
    for theta0 in (0.1, 0.5, 1.0):
        d_theta0, d_length = dpendulum(theta0)
        h = 1e-6
        fd = (pendulum(theta0 + h) - pendulum(theta0 - h)) / (2 * h)
        print(f"theta0={theta0}: theta(1s)={pendulum(theta0):+.6f}  "
              f"d/dtheta0={d_theta0:+.6f} (finite differences {fd:+.6f})  "
              f"d/dlength={d_length:+.6f}")
