def shoot_grad_vx_vy(vx, vy, x0, steps, dt, radius, target_x, target_y,
    b_out=1.0):
    _stack = []
    _t15 = None
    _t19 = None
    _t21 = None
    d = None
    nx = None
    ny = None
    rel = None
    n = x0.shape[0]
    x = x0.copy()
    v = np.zeros((n, 2))
    v[0, 0] = vx
    v[0, 1] = vy
    for _ in range(steps):
        for i in range(n):
            for j in range(i + 1, n):
                dx = x[j, 0] - x[i, 0]
                dy = x[j, 1] - x[i, 1]
                d2 = dx * dx + dy * dy
                _t12 = d2 < 4.0 * radius * radius
                if _t12:
                    d = math.sqrt(d2)
                    nx = dx / d
                    ny = dy / d
                    _t15 = v[i, 0] - v[j, 0]
                    _t19 = v[i, 1] - v[j, 1]
                    rel = _t15 * nx + _t19 * ny
                    _t21 = rel > 0.0
                    if _t21:
                        v[i, 0] = v[i, 0] - rel * nx
                        v[i, 1] = v[i, 1] - rel * ny
                        v[j, 0] = v[j, 0] + rel * nx
                        v[j, 1] = v[j, 1] + rel * ny
                _stack.append((_t12, _t15, _t19, _t21, d, dx, dy, nx, ny, rel))
        for i in range(n):
            x[i, 0] = x[i, 0] + dt * v[i, 0]
            x[i, 1] = x[i, 1] + dt * v[i, 1]
    _t42 = n - 1
    ex = x[_t42, 0] - target_x
    _t44 = n - 1
    ey = x[_t44, 1] - target_y
    _t48 = ex * ex + ey * ey
    # adjoint sweep
    bd = 0.0
    bd2 = 0.0
    bdx = 0.0
    bdy = 0.0
    bnx = 0.0
    bny = 0.0
    brel = 0.0
    bv = zeros_like(v)
    bx = zeros_like(x)
    bey = 2.0 * b_out * ey
    bex = 2.0 * b_out * ex
    bx[_t44, 1] += bey
    bx[_t42, 0] += bex
    # reversed loop from line 30
    for _ in reversed(range(steps)):
        # reversed loop from line 46
        for i in reversed(range(n)):
            bv[i, 1] += bx[i, 1] * dt
            bv[i, 0] += bx[i, 0] * dt
        # reversed loop from line 31
        for i in reversed(range(n)):
            # reversed loop from line 32
            for j in reversed(range(i + 1, n)):
                _t12, _t15, _t19, _t21, d, dx, dy, nx, ny, rel = _stack.pop()
                if _t12:
                    if _t21:
                        b_t33 = bv[j, 1]
                        b_t30 = bv[j, 0]
                        b_t27 = bv[i, 1]
                        bny = bny + b_t33 * rel - b_t27 * rel
                        b_t24 = bv[i, 0]
                        brel = (brel + b_t33 * ny + b_t30 * nx - b_t27 * ny -
                            b_t24 * nx)
                        bnx = bnx + b_t30 * rel - b_t24 * rel
                    b_t19 = brel * ny
                    bny = bny + brel * _t19
                    bv[j, 1] -= b_t19
                    bv[i, 1] += b_t19
                    b_t15 = brel * nx
                    bnx = bnx + brel * _t15
                    bv[j, 0] -= b_t15
                    bv[i, 0] += b_t15
                    bdy = bdy + bny / d
                    bd = bd - bny * dy / d / d
                    bny = 0.0
                    bdx = bdx + bnx / d
                    bd = bd - bnx * dx / d / d
                    bnx = 0.0
                    bd2 = bd2 + div(bd, 2.0 * d)
                    bd = 0.0
                    brel = 0.0
                bdy = bdy + 2.0 * bd2 * dy
                bdx = bdx + 2.0 * bd2 * dx
                bx[i, 1] -= bdy
                bx[j, 1] += bdy
                bx[i, 0] -= bdx
                bx[j, 0] += bdx
                bd2 = 0.0
                bdy = 0.0
                bdx = 0.0
    bvy = bv[0, 1]
    bvx = bv[0, 0]
    return _t48, (bvx, bvy)
