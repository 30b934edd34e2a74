def sin_loop_grad_x_jvp_x(x, n, b_out, dx):
    _stack = []
    d_stack = []
    s = 0.0
    for i in range(n):
        d_t1 = dx * i
        _t1 = x * i
        d_t2 = d_t1 * math.cos(_t1)
        _t2 = math.sin(_t1)
        _t3 = _t2 * x
        s = s + _t3
        _stack.append(_t2)
        d_stack.append(d_t2)
    bs = b_out
    bx = 0.0
    dbx = 0.0
    _t4 = range(n)
    _t5 = len(_t4)
    for _i1 in range(_t5):
        _t6 = _t5 - 1
        _t7 = _t6 - _i1
        i = _t4[_t7]
        d_t2 = d_stack.pop()
        _t2 = _stack.pop()
        d_t8 = d_t2 * bs
        _t8 = bs * _t2
        d_t9 = dbx + d_t8
        _t9 = bx + _t8
        d_t10 = dx * bs
        _t10 = bs * x
        d_t11 = dx * i
        _t11 = x * i
        d_t12 = -d_t11 * math.sin(_t11)
        _t12 = math.cos(_t11)
        d_t13 = d_t10 * _t12 + d_t12 * _t10
        _t13 = _t10 * _t12
        d_t14 = d_t13 * i
        _t14 = _t13 * i
        dbx = d_t9 + d_t14
        bx = _t9 + _t14
    return (s, bx), (0.0, dbx)

