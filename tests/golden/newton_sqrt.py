def newton_sqrt_grad(a, b_out=1.0):
    _stack = []
    x = a
    _break = False
    _trips = 0
    for _ in range(30):
        _trips = _trips + 1
        x_new = 0.5 * (x + a / x)
        _t5 = abs(x_new - x) < 1e-12
        if _t5:
            _stack.append(x)
            x = x_new
            _break = True
        else:
            _stack.append(x)
            x = x_new
        _stack.append(_t5)
        if _break:
            break
    _stack.append(_trips)
    _ret = x
    # adjoint sweep
    b_ret = b_out
    ba = 0.0
    bx_new = 0.0
    bx = b_ret
    # reversed loop from line 422
    for _ in reversed(range(30)[:_stack.pop()]):
        _t5 = _stack.pop()
        if _t5:
            bx_new = bx_new + bx
            bx = 0.0
            x = _stack.pop()
        else:
            bx_new = bx_new + bx
            bx = 0.0
            x = _stack.pop()
        b_t2 = bx_new * 0.5
        bx_new = 0.0
        ba = ba + b_t2 / x
        bx = bx + b_t2 - b_t2 * a / x / x
    ba = ba + bx
    return _ret, ba
