def break_in_for_grad(x, b_out=1.0):
    _stack = []
    s = 0.0
    _break = False
    _trips = 0
    for i in range(100):
        _trips = _trips + 1
        s = s + math.cos(x * i) + 1.1
        if s > 10:
            _break = True
        if _break:
            break
    _stack.append(_trips)
    _ret = s * x
    # adjoint sweep
    b_ret = b_out
    bs = b_ret * x
    bx = b_ret * s
    # reversed loop from line 189
    for i in reversed(range(100)[:_stack.pop()]):
        bx = bx - bs * math.sin(x * i) * i
    return _ret, bx
