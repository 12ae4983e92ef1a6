"""The channel between the trusted harness and the sandboxed runner carries plain data.

Values go from one side's ``Codec`` through JSON to the other's: they come back
equal and of the same type; anything else stays behind as a handle; the trusted
side refuses what is not a value it knows (a pickle, a dtype it does not allow, sizes
that do not add up) with a ``ChannelError``; a tensor the runner returns carries the
Jacobians that let ``backward()`` reach the test's own tensors.
"""

import json
import math
import socket

import numpy as np
import pytest
import torch

from rlbook_utils.grading.channel import (
    MAX_DEPTH,
    ChannelError,
    Codec,
    receive_message,
    send_message,
    with_gradient_path,
)


class Proxy:
    def __init__(self, side, handle_id, type_name):
        self.side, self.handle_id, self.type_name = side, handle_id, type_name


def sides():
    return (Codec("untrusted", Proxy, strict=False), Codec("trusted", Proxy, strict=True))


def across(value, sender=None, receiver=None):
    """``value`` sent by the runner and read by the harness, through real JSON."""
    untrusted, trusted = sides()
    sender, receiver = sender or untrusted, receiver or trusted
    return receiver.decode(json.loads(json.dumps(sender.encode(value))))


PLAIN = [None, True, False, 0, -7, 2**80, 1.5, -0.0, "text", "ünïcode", b"\x00\xff",
         [1, [2, [3]]], (1, "a", (2.0,)), {"a": 1, 2: [3], (1, 2): None}, {1, 2, 3},
         frozenset({"x"}), slice(1, None, 2), Ellipsis, []]


@pytest.mark.parametrize("value", PLAIN, ids=[repr(v)[:20] for v in PLAIN])
def test_plain_values_come_back_equal_and_of_the_same_type(value):
    got = across(value)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_survive_json(value):
    got = across(value)
    assert type(got) is float and (math.isnan(got) if math.isnan(value) else got == value)


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint8", "int32", "int64", "float16",
                                   "float32", "float64", "complex128"])
def test_numpy_arrays_keep_dtype_shape_and_values(dtype):
    array = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    got = across(array)
    assert type(got) is np.ndarray and got.dtype == array.dtype and got.shape == (3, 4)
    assert np.array_equal(got, array)
    scalar = across(array.reshape(-1)[5])
    assert type(scalar) is type(array.reshape(-1)[5]) and scalar == array.reshape(-1)[5]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.int64,
                                   torch.bool])
def test_tensors_keep_dtype_shape_values_and_requires_grad(dtype):
    tensor = (torch.arange(6).reshape(2, 3) % 2).to(dtype)
    got = across(tensor)
    assert isinstance(got, torch.Tensor) and got.dtype == dtype and got.shape == (2, 3)
    assert torch.equal(got, tensor) and not got.requires_grad
    leaf = torch.tensor([1.0, -2.0], requires_grad=True)
    (leaf * 3).sum().backward()
    got = across(leaf)
    assert got.requires_grad and torch.equal(got.grad, torch.tensor([3.0, 3.0]))


def test_subclasses_cross_as_their_plain_values():
    # A float or list subclass whose == is always True arrives as a float or a list.
    class AlwaysEqual(float):
        def __eq__(self, other):
            return True

    class AlwaysEqualList(list):
        def __eq__(self, other):
            return True

    assert type(across(AlwaysEqual(0.5))) is float and across(AlwaysEqual(0.5)) != 2.0
    got = across(AlwaysEqualList([0]))
    assert type(got) is list and got != [1, 0, 2]


def test_other_objects_stay_behind_as_handles_that_resolve_to_themselves():
    untrusted, trusted = sides()

    class Buffer:
        pass

    buffer = Buffer()
    got = across(buffer, untrusted, trusted)
    assert isinstance(got, Proxy) and got.side == "untrusted" and got.type_name == "Buffer"
    # The handle sent back resolves to the very object, on its own side.
    assert untrusted.decode({"t": "handle", "side": "untrusted", "id": got.handle_id}) is buffer
    # The trusted side keeps containers of other types as handles, not their contents.
    assert isinstance(trusted.encode(AlwaysDict()), dict)
    assert trusted.encode(AlwaysDict())["t"] == "handle"


class AlwaysDict(dict):
    pass


def test_a_returned_tensor_carries_the_gradient_to_the_tests_inputs():
    untrusted, trusted = sides()
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)  # the test's tensor
    trusted.tensors = []
    sent = trusted.encode([x])
    sent_tensors, trusted.tensors = trusted.tensors, None
    untrusted.tensors = []
    (x_there,) = untrusted.decode(json.loads(json.dumps(sent)))
    inputs_there, untrusted.tensors = untrusted.tensors, None
    y_there = (x_there ** 2).sum() * x_there[0]  # the student's computation
    untrusted.jacobian_inputs = inputs_there
    reply = json.loads(json.dumps(untrusted.encode(y_there)))
    y = with_gradient_path(trusted.decode(reply), sent_tensors)
    assert y.item() == pytest.approx(14.0)
    y.backward()
    # d/dx [x0 * sum x^2] = [sum x^2 + 2 x0^2, 2 x0 x1, 2 x0 x2] = [16, 4, 6]
    assert torch.allclose(x.grad, torch.tensor([16.0, 4.0, 6.0]))


BAD = {
    "a pickle": {"t": "pickle", "v": "gASVBQAAAAAAAACMAUqULg=="},
    "an unknown tag": {"t": "object", "module": "os", "name": "system"},
    "no tag": {"v": 1},
    "an object-dtype ndarray": {"t": "ndarray", "dtype": "object", "shape": [1], "v": ""},
    "bytes that do not fill the shape": {"t": "ndarray", "dtype": "float64", "shape": [4],
                                         "v": "AAAAAAAA8D8="},
    "a negative shape": {"t": "ndarray", "dtype": "float64", "shape": [-1], "v": ""},
    "a tensor of an unknown dtype": {"t": "tensor", "dtype": "qint8", "shape": [],
                                     "v": "AA=="},
    "keys and values that do not pair": {"t": "dict", "k": [1, 2], "v": [1]},
    "a handle the harness never gave": {"t": "handle", "side": "trusted", "id": 99},
    "a slice of two parts": {"t": "slice", "v": [1, 2]},
}


@pytest.mark.parametrize("tree", BAD.values(), ids=BAD.keys())
def test_the_trusted_side_refuses_what_is_not_a_known_value(tree):
    _, trusted = sides()
    with pytest.raises(ChannelError):
        trusted.decode(tree)


def test_nesting_beyond_the_limit_is_refused_both_ways():
    _, trusted = sides()
    deep = None
    for _ in range(MAX_DEPTH + 5):
        deep = {"t": "list", "v": [deep]}
    with pytest.raises(ChannelError):
        trusted.decode(deep)
    value = []
    for _ in range(MAX_DEPTH + 5):
        value = [value]
    with pytest.raises(ChannelError):
        trusted.encode(value)


def test_messages_are_length_prefixed_json_and_garbage_is_an_error():
    left, right = socket.socketpair()
    try:
        send_message(left, {"id": 1, "op": "hello"})
        assert receive_message(right) == {"id": 1, "op": "hello"}
        left.sendall(len(b"not json").to_bytes(4, "big") + b"not json")
        with pytest.raises(ChannelError):
            receive_message(right)
        left.sendall(b"\xff\xff\xff\xff")  # a length over the limit
        with pytest.raises(ChannelError):
            receive_message(right)
    finally:
        left.close()
        right.close()
