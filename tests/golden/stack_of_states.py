def stack_of_states_grad(x, k, b_out=1.0):
    _stack = []
    states = [x]
    for i in range(5):
        _t1 = states[-1]
        _t3 = math.cos(k * i)
        states.append(_t1 * _t3 + 0.1 * x)
        _stack.append((_t1, _t3))
    total = 0.0
    _height = len(_stack)
    _t7 = len(states)
    _t8 = _t7 > 2
    while _t8:
        _t9 = states.pop()
        _t10 = states[-1]
        total = total + _t9 * _t10
        _stack.append((_t10, _t9))
        _t7 = len(states)
        _t8 = _t7 > 2
    _stack.append(len(_stack) - _height)
    _t12 = sum(states)
    _t13 = total + _t12
    # adjoint sweep
    bk = 0.0
    bstates = zeros_like(states)
    bx = 0.0
    btotal = b_out
    bstates = add(bstates, fill_like(states, b_out))
    # reversed loop from line 311
    for _ in range(_stack.pop()):
        _t10, _t9 = _stack.pop()
        bstates[-1] += btotal * _t9
        bstates.append(btotal * _t10)
    # reversed loop from line 308
    for i in reversed(range(5)):
        _t1, _t3 = _stack.pop()
        b_t6 = bstates.pop()
        bx = bx + b_t6 * 0.1
        bk = bk - b_t6 * _t1 * math.sin(k * i) * i
        bstates[-1] += b_t6 * _t3
    bx = bx + bstates[0]
    return _t13, (bx, bk)
