def chain_grad_k_x0(k, x0, steps, dt, b_out=1.0):
    _stack = []
    n = x0.shape[0]
    x = x0.copy()
    v = np.zeros(n)
    for _ in range(steps):
        for i in range(1, n - 1):
            _t10 = x[i + 1] - 2.0 * x[i] + x[i - 1]
            f = k * _t10
            v[i] = v[i] + dt * f
            _stack.append(_t10)
        for i in range(n):
            x[i] = x[i] + dt * v[i]
    e = 0.0
    for i in range(n):
        e = e + x[i] * x[i]
    # adjoint sweep
    be = b_out
    bk = 0.0
    bv = zeros_like(v)
    bx = zeros_like(x)
    # reversed loop from line 37
    for i in reversed(range(n)):
        bx[i] += be * x[i]
        bx[i] += be * x[i]
    # reversed loop from line 30
    for _ in reversed(range(steps)):
        # reversed loop from line 34
        for i in reversed(range(n)):
            bv[i] += bx[i] * dt
        # reversed loop from line 31
        for i in reversed(range(1, n - 1)):
            _t10 = _stack.pop()
            bf = bv[i] * dt
            bk = bk + bf * _t10
            b_t10 = bf * k
            bx[i - 1] += b_t10
            bx[i] -= b_t10 * 2.0
            bx[i + 1] += b_t10
    bx0 = bx
    return e, (bk, bx0)
