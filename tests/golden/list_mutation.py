def list_mutation_grad(x, b_out=1.0):
    _stack = []
    _t1 = [0.0]
    ys = _t1 * 4
    for i in range(4):
        ys[i] = x * (i + 1)
    for i in range(1, 4):
        _t6 = ys[i - 1]
        ys[i] = ys[i] + _t6 * x
        _stack.append(_t6)
    _t9 = ys[3]
    # adjoint sweep
    bx = 0.0
    bys = zeros_like(ys)
    bys[3] += b_out
    # reversed loop from line 293
    for i in reversed(range(1, 4)):
        _t6 = _stack.pop()
        b_t8 = bys[i]
        bys[i] = 0.0
        bx = bx + b_t8 * _t6
        bys[i - 1] += b_t8 * x
        bys[i] += b_t8
    # reversed loop from line 291
    for i in reversed(range(4)):
        b_t3 = bys[i]
        bys[i] = 0.0
        bx = bx + b_t3 * (i + 1)
    return _t9, bx
