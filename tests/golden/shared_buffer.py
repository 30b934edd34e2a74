def shared_buffer_grad(x, y, b_out=1.0):
    buf = [x, y, x * y]
    view = buf
    _t2 = y * 3.0
    view[0] = _t2
    # buf shares memory with view
    buf[0] = _t2
    _t3 = buf[0]
    _t4 = buf[2]
    _t7 = _t3 * _t4 + view[1]
    # adjoint sweep
    bbuf = zeros_like(buf)
    bview = zeros_like(view)
    bview[1] += b_out
    bbuf[2] += b_out * _t3
    bbuf[0] += b_out * _t4
    b_t2 = bbuf[0]
    bbuf[0] = 0.0
    b_t2 = b_t2 + bview[0]
    bview[0] = 0.0
    by = b_t2 * 3.0
    bbuf = add(bbuf, bview)
    bx = bbuf[0]
    b_t1 = bbuf[2]
    bx = bx + b_t1 * y
    by = by + bbuf[1] + b_t1 * x
    return _t7, (bx, by)
