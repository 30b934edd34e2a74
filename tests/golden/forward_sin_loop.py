def sin_loop_jvp_x(x, n, dx):
    s = 0.0
    ds = 0.0
    for i in range(n):
        d_t1 = dx * i
        _t1 = x * i
        d_t2 = d_t1 * math.cos(_t1)
        _t2 = math.sin(_t1)
        d_t3 = d_t2 * x + dx * _t2
        _t3 = _t2 * x
        ds = ds + d_t3
        s = s + _t3
    return s, ds

