def weighted_dict_grad(x, y, b_out=1.0):
    _stack = []
    w = {'a': x, 'b': y * y}
    _t2 = w['a']
    _t3 = w['b']
    w['c'] = _t2 * _t3
    s = 0.0
    _t5 = list(w)
    _t6 = len(_t5)
    for _i1 in range(_t6):
        name = _t5[_i1]
        v = w[name]
        _t7 = w.get(name, 1.0)
        s = s + v * _t7
        _stack.append(_t7)
    # adjoint sweep
    bs = b_out
    bw = {}
    # reversed loop from line 320
    for _i1 in reversed(range(_t6)):
        _t7 = _stack.pop()
        name = _t5[_i1]
        v = w[name]
        bv = bs * _t7
        get_grad(bw, w, name, bs * v)
        add_item(bw, name, bv)
    b_t4 = take_item(bw, 'c')
    add_item(bw, 'b', b_t4 * _t2)
    add_item(bw, 'a', b_t4 * _t3)
    bx = take_item(bw, 'a')
    b_t1 = take_item(bw, 'b')
    by = 2.0 * b_t1 * y
    return s, (bx, by)
