def pendulum_grad(theta0, b_out=1.0):
    _stack = []
    theta = theta0
    omega = 0.0
    t = 0.0
    dt = 0.01
    _height = len(_stack)
    while t < 1.0:
        omega = omega - 9.81 * math.sin(theta) * dt
        _stack.append(theta)
        theta = theta + omega * dt
        t = t + dt
    _stack.append(len(_stack) - _height)
    _value = theta
    # adjoint sweep
    bomega = 0.0
    btheta = b_out
    # reversed loop from line 413
    for _ in range(_stack.pop()):
        theta = _stack.pop()
        bomega = bomega + btheta * dt
        btheta = btheta - bomega * dt * 9.81 * math.cos(theta)
    btheta0 = btheta
    return _value, btheta0
