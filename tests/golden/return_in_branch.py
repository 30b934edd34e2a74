def return_in_branch_grad(x, y, b_out=1.0):
    _t1 = x > y
    if _t1:
        _ret = x * y
    else:
        z = x + y
        _t2 = z > 1
        if _t2:
            _ret = z * z
        else:
            _ret = math.exp(z)
    # adjoint sweep
    b_ret = b_out
    bx = 0.0
    by = 0.0
    bz = 0.0
    if _t1:
        bx = bx + b_ret * y
        by = by + b_ret * x
    else:
        if _t2:
            bz = bz + 2.0 * b_ret * z
        else:
            bz = bz + b_ret * _ret
        bx = bx + bz
        by = by + bz
    return _ret, (bx, by)
