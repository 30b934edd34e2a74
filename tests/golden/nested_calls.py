def inner_grad(a, b_out=1.0):
    _t1 = math.exp(a)
    _t2 = _t1 * a
    # adjoint sweep
    ba = b_out * _t1
    ba = ba + b_out * a * _t1
    return _t2, ba

def middle_grad(a, b, b_out=1.0):
    _t1 = inner(a)
    _t3 = inner(b)
    _t4 = _t1 * b + _t3
    # adjoint sweep
    _db1 = inner_grad(b, b_out)[1]
    bb = _db1
    bb = bb + b_out * _t1
    _da1 = inner_grad(a, b_out * b)[1]
    ba = _da1
    return _t4, (ba, bb)

def middle_grad_a(a, b, b_out=1.0):
    _t1 = inner(a)
    _t3 = inner(b)
    _t4 = _t1 * b + _t3
    # adjoint sweep
    _da1 = inner_grad(a, b_out * b)[1]
    ba = _da1
    return _t4, ba

def nested_calls_grad(x, y, b_out=1.0):
    _t1 = middle(x, y)
    _t2 = middle(y, 1.5)
    _t3 = _t1 + _t2
    # adjoint sweep
    _dy2 = middle_grad_a(y, 1.5, b_out)[1]
    by = _dy2
    _dx1, _dy1 = middle_grad(x, y, b_out)[1]
    bx = _dx1
    by = by + _dy1
    return _t3, (bx, by)
