def sin_loop_jvp_x(x, n, dx):
    s = 0.0
    ds = 0.0
    for i in range(n):
        _t1 = x * i
        _t2 = math.sin(_t1)
        ds = ds + dx * (i * math.cos(_t1) * x + _t2)
        s = s + _t2 * x
    return s, ds

