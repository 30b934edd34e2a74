def sin_sum_grad(x, b_out=1.0):
    _stack = []
    s = 0.0
    for i in range(1000):
        _t2 = math.sin(x * i)
        s = s + _t2 * x
        _stack.append(_t2)
    # adjoint sweep
    bs = b_out
    bx = 0.0
    # reversed loop from line 446
    for i in reversed(range(1000)):
        _t2 = _stack.pop()
        bx = bx + bs * _t2 + bs * x * math.cos(x * i) * i
    return s, bx
