"""GradBench's lstm eval: the average loss of a stacked LSTM over a character sequence, and
its gradient with respect to the main and extra parameters (the PyTorch tool's objective
with ``torch`` replaced by NumPy)."""

import numpy as np

import s2sad
from s2sad.gradbench import timed


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# The LSTM model
def lstm(weight, bias, hidden, cell, _input):
    # NOTE this line came from: gates = hcat(input,hidden) * weight .+ bias
    gates = np.concatenate((_input, hidden, _input, hidden)) * weight + bias
    hsize = hidden.shape[0]
    forget = sigmoid(gates[0:hsize])
    ingate = sigmoid(gates[hsize : 2 * hsize])
    outgate = sigmoid(gates[2 * hsize : 3 * hsize])
    change = np.tanh(gates[3 * hsize :])
    cell = cell * forget + ingate * change
    hidden = outgate * np.tanh(cell)
    return (hidden, cell)


# Predict output given an input
def predict(w, w2, s, x):
    s2 = s.copy()
    # NOTE not sure if this should be element-wise or matrix multiplication
    x = x * w2[0]
    for i in range(0, len(s), 2):
        (s2[i], s2[i + 1]) = lstm(w[i], w[i + 1], s[i], s[i + 1], x)
        x = s2[i]
    return (x * w2[1] + w2[2], s2)


# Get the average loss for the LSTM across a sequence of inputs
def lstm_objective(main_params, extra_params, state, sequence, _range=None):
    if _range is None:
        _range = range(0, len(sequence) - 1)

    total = 0.0
    count = 0
    _input = sequence[_range[0]]
    all_states = [state]
    for t in _range:
        ypred, new_state = predict(main_params, extra_params, all_states[t], _input)
        all_states.append(new_state)
        ynorm = ypred - np.log(sum(np.exp(ypred), 2))
        ygold = sequence[t + 1]
        total += sum(ygold * ynorm)
        count += ygold.shape[0]
        _input = ygold
    return -total / count


_gradient = s2sad.grad(lstm_objective, wrt=(0, 1))


def _prepare(raw):
    return tuple(np.array(raw[k], dtype=np.float64)
                 for k in ("main_params", "extra_params", "state", "sequence"))


@timed(_prepare, float)
def objective(data):
    return lstm_objective(*data)


def _flat(g):
    return np.concatenate([g[0].ravel(), g[1].ravel()]).tolist()


@timed(_prepare, _flat)
def jacobian(data):
    return _gradient(*data)


def warm_up():
    rng = np.random.default_rng(0)
    _gradient(rng.random((4, 8)), rng.random((3, 2)), rng.random((4, 2)), rng.random((3, 2)))
