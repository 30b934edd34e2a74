def while_halving_grad(x, b_out=1.0):
    _stack = []
    y = x
    n = 0
    _height = len(_stack)
    while abs(y) > 0.01:
        _stack.append(y)
        y = y * 0.5 + 0.001 * y * y
        n = n + 1
    _stack.append(len(_stack) - _height)
    _t6 = y * n
    # adjoint sweep
    by = b_out * n
    # reversed loop from line 181
    for _ in range(_stack.pop()):
        y = _stack.pop()
        b_t3 = by
        b_t4 = by * y
        by = by * (0.001 * y)
        by = by + b_t4 * 0.001 + b_t3 * 0.5
    bx = by
    return _t6, bx
