def sin_loop_grad_x_jvp_x(x, n, b_out, dx):
    _stack = []
    d_stack = []
    s = 0.0
    for i in range(n):
        _t1 = x * i
        d_t2 = dx * i * math.cos(_t1)
        _t2 = math.sin(_t1)
        s = s + _t2 * x
        _stack.append(_t2)
        d_stack.append(d_t2)
    bs = b_out
    bx = 0.0
    dbx = 0.0
    _t4 = range(n)
    _t5 = len(_t4)
    for _i1 in range(_t5):
        i = _t4[_t5 - 1 - _i1]
        d_t2 = d_stack.pop()
        _t2 = _stack.pop()
        _t10 = bs * x
        _t11 = x * i
        _t12 = math.cos(_t11)
        dbx = dbx + d_t2 * bs + dx * (bs * _t12 - i * math.sin(_t11) * _t10
            ) * i
        bx = bx + bs * _t2 + _t10 * _t12 * i
    return (s, bx), (0.0, dbx)

