"""The narrow channel between the trusted harness and the sandboxed runner.

One connected Unix socket (a ``socketpair``: it works with the network unshared)
carries length-prefixed JSON messages, never a pickle. A value crosses as plain
data: None, bool, int, float, str, bytes, lists, tuples, dicts, sets, slices, numpy
arrays and scalars, and torch tensors (dtype, shape, raw bytes, ``requires_grad``,
``.grad``, and where the harness needs it, the Jacobian of a returned tensor with
respect to the tensors it was given, so that ``loss.backward()`` works on the
trusted side). Anything else stays where it lives and crosses as a *handle*: the
other side gets a proxy whose methods are calls across the channel.

Each side keeps its own table of the objects it handed out; a handle that comes
back resolves to the very object (so ``is`` works on objects a test handed in).
The trusted side decodes strictly: known tags, allowed dtypes, sizes that add up,
bounded depth; anything else is a ``ChannelError``.
"""

from __future__ import annotations

import base64
import json
import math
import socket
import struct

import numpy as np

MAX_MESSAGE_BYTES = 256 * 2**20
MAX_DEPTH = 60
DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"}
TORCH_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "float16", "bfloat16",
                "float32", "float64", "complex64", "complex128"}
JACOBIAN_LIMIT = 2_000_000  # entries of all Jacobians of one returned tensor


class ChannelError(Exception):
    """The other side broke the protocol, or went away."""


class ChannelClosed(ChannelError):
    pass


# --------------------------------------------------------------------------- #
# Framing
# --------------------------------------------------------------------------- #
def send_message(sock: socket.socket, message: dict) -> None:
    data = json.dumps(message, allow_nan=True, separators=(",", ":")).encode()
    if len(data) > MAX_MESSAGE_BYTES:
        raise ChannelError(f"a message of {len(data) // 2**20} MB is over the limit of "
                           f"{MAX_MESSAGE_BYTES // 2**20} MB")
    sock.sendall(struct.pack(">I", len(data)) + data)


def _receive_exactly(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ChannelClosed("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive_message(sock: socket.socket) -> dict:
    (length,) = struct.unpack(">I", _receive_exactly(sock, 4))
    if length > MAX_MESSAGE_BYTES:
        raise ChannelError(f"a message of {length} bytes is over the limit")
    try:
        message = json.loads(_receive_exactly(sock, length))
    except (ValueError, RecursionError) as error:
        raise ChannelError(f"a message that is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise ChannelError("a message that is not a JSON object")
    return message


# --------------------------------------------------------------------------- #
# Values
# --------------------------------------------------------------------------- #
def _torch():
    import torch
    return torch


def _is_tensor(value) -> bool:
    torch = _torch_if_loaded()
    return torch is not None and isinstance(value, torch.Tensor)


def _torch_if_loaded():
    import sys
    return sys.modules.get("torch")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class Codec:
    """Turns values into JSON-able trees and back, for one side of the channel.

    ``side`` is "trusted" or "untrusted"; ``strict`` (the trusted side) keeps
    containers of other types (a dict subclass, a namedtuple) as handles, where the
    untrusted side sends their plain contents. ``make_proxy(side, id, type_name)``
    builds the proxy of an object of the other side.
    """

    def __init__(self, side: str, make_proxy, strict: bool):
        self.side, self.make_proxy, self.strict = side, make_proxy, strict
        self.objects: dict[int, object] = {}
        self._ids: dict[int, int] = {}
        self.proxy_type: type | None = None  # proxies of the other side's objects
        self.tensors: list | None = None  # when a list: collects each tensor sent/received
        self.jacobian_inputs: list | None = None  # tensors returned get Jacobians to these

    # -- handles ------------------------------------------------------------ #
    def handle_of(self, value) -> dict:
        key = id(value)
        if key not in self._ids:
            self._ids[key] = len(self.objects) + 1
            self.objects[self._ids[key]] = value
        return {"t": "handle", "side": self.side, "id": self._ids[key],
                "type": type(value).__name__[:80]}

    def resolve(self, handle_id) -> object:
        if not isinstance(handle_id, int) or handle_id not in self.objects:
            raise ChannelError(f"no object with handle {handle_id!r} on this side")
        return self.objects[handle_id]

    # -- encoding ------------------------------------------------------------ #
    def encode(self, value, depth: int = 0):
        if depth > MAX_DEPTH:
            raise ChannelError("a value nested too deeply to send")
        if self.proxy_type is not None and isinstance(value, self.proxy_type):
            return value._rlbook_ref()
        kind = type(value)
        if value is None or kind in (bool, str, int):
            return value
        if kind is float:
            return value if math.isfinite(value) else {"t": "float", "v": repr(value)}
        if kind is bytes:
            return {"t": "bytes", "v": _b64(value)}
        strict = self.strict
        if kind is list or (not strict and isinstance(value, list)):
            return {"t": "list", "v": [self.encode(item, depth + 1) for item in value]}
        if kind is tuple or (not strict and isinstance(value, tuple)):
            return {"t": "tuple", "v": [self.encode(item, depth + 1) for item in value]}
        if kind is dict or (not strict and isinstance(value, dict)):
            return {"t": "dict", "k": [self.encode(key, depth + 1) for key in value],
                    "v": [self.encode(item, depth + 1) for item in value.values()]}
        if kind in (set, frozenset):
            return {"t": kind.__name__, "v": [self.encode(item, depth + 1) for item in value]}
        if kind is slice:
            return {"t": "slice", "v": [self.encode(part, depth + 1)
                                        for part in (value.start, value.stop, value.step)]}
        if value is Ellipsis:
            return {"t": "ellipsis"}
        if isinstance(value, np.ndarray) and (kind is np.ndarray or not strict):
            return self._encode_array(np.asarray(value))
        if isinstance(value, np.generic) and value.dtype.name in DTYPES:
            return {"t": "npscalar", "dtype": value.dtype.name,
                    "v": _b64(np.asarray(value).tobytes())}
        if isinstance(value, np.dtype):
            return {"t": "npdtype", "v": value.name}
        if not strict and isinstance(value, float):
            return float(value)
        if not strict and isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        torch = _torch_if_loaded()
        if torch is not None:
            if isinstance(value, torch.dtype):
                return {"t": "torchdtype", "v": str(value).removeprefix("torch.")}
            if isinstance(value, torch.Tensor) and (kind in (torch.Tensor, torch.nn.Parameter)
                                                   or not strict):
                if self.tensors is not None:
                    self.tensors.append(value)
                return self._encode_tensor(value, depth, self.jacobian_inputs)
            if isinstance(value, torch.Size):
                return {"t": "tuple", "v": [int(n) for n in value]}
        return self.handle_of(value)

    def _encode_array(self, array: np.ndarray) -> dict:
        if array.dtype.name not in DTYPES:
            if array.dtype == object:
                return {"t": "objarray", "shape": list(array.shape),
                        "v": [self.encode(item, 1) for item in array.reshape(-1).tolist()]}
            raise ChannelError(f"numpy arrays of dtype {array.dtype} cannot be sent")
        return {"t": "ndarray", "dtype": array.dtype.name, "shape": list(array.shape),
                "v": _b64(np.ascontiguousarray(array).tobytes())}

    def _encode_tensor(self, tensor, depth: int, jacobian_of=None) -> dict:
        torch = _torch()
        detached = tensor.detach()
        if detached.layout != torch.strided or detached.is_quantized:
            detached = detached.to_dense() if detached.layout != torch.strided else detached
        name = str(detached.dtype).removeprefix("torch.")
        if name not in TORCH_DTYPES:
            raise ChannelError(f"tensors of dtype {name} cannot be sent")
        cpu = detached.cpu().contiguous()
        if name == "bfloat16":
            raw = cpu.view(torch.int16).numpy().tobytes()
        else:
            raw = cpu.numpy().tobytes()
        encoded = {"t": "tensor", "dtype": name, "shape": list(cpu.shape), "v": _b64(raw),
                   "requires_grad": bool(tensor.requires_grad)}
        if tensor.is_leaf and tensor.grad is not None:
            encoded["grad"] = self._encode_tensor(tensor.grad, depth + 1)
        if jacobian_of and tensor.requires_grad and tensor.grad_fn is not None:
            encoded["jacobian"] = _jacobians(tensor, jacobian_of)
        return encoded

    # -- decoding ------------------------------------------------------------ #
    def decode(self, tree, depth: int = 0):
        if depth > MAX_DEPTH:
            raise ChannelError("a value nested too deeply")
        if tree is None or isinstance(tree, (bool, str, int, float)):
            return tree
        if not isinstance(tree, dict) or not isinstance(tree.get("t"), str):
            raise ChannelError(f"not a value: {str(tree)[:80]}")
        tag = tree["t"]
        decode = lambda item: self.decode(item, depth + 1)  # noqa: E731
        if tag == "float" and tree.get("v") in ("nan", "inf", "-inf"):
            return float(tree["v"])
        if tag == "bytes":
            return base64.b64decode(_text(tree.get("v")))
        if tag in ("list", "tuple", "set", "frozenset"):
            items = [decode(item) for item in _list(tree.get("v"))]
            return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[tag](items)
        if tag == "dict":
            keys, values = _list(tree.get("k")), _list(tree.get("v"))
            if len(keys) != len(values):
                raise ChannelError("a dict whose keys and values do not pair up")
            return {decode(key): decode(value) for key, value in zip(keys, values)}
        if tag == "slice":
            parts = [decode(part) for part in _list(tree.get("v"))]
            if len(parts) != 3:
                raise ChannelError("a slice without start, stop and step")
            return slice(*parts)
        if tag == "ellipsis":
            return Ellipsis
        if tag == "ndarray":
            return _decode_array(tree)
        if tag == "objarray":
            shape = _shape(tree.get("shape"))
            items = [decode(item) for item in _list(tree.get("v"))]
            if math.prod(shape) != len(items):
                raise ChannelError("an object array whose size does not match its shape")
            array = np.empty(len(items), dtype=object)
            array[:] = items
            return array.reshape(shape)
        if tag == "npscalar":
            dtype = _dtype(tree.get("dtype"))
            data = base64.b64decode(_text(tree.get("v")))
            if len(data) != np.dtype(dtype).itemsize:
                raise ChannelError("a numpy scalar of the wrong size")
            return np.frombuffer(data, dtype=dtype)[0]
        if tag == "npdtype":
            return np.dtype(_dtype(tree.get("v")))
        if tag == "torchdtype":
            name = _text(tree.get("v"))
            if name not in TORCH_DTYPES:
                raise ChannelError(f"unknown torch dtype {name!r}")
            return getattr(_torch(), name)
        if tag == "tensor":
            tensor = self._decode_tensor(tree, depth)
            if self.tensors is not None:
                self.tensors.append(tensor)
            return tensor
        if tag == "handle":
            side, handle_id = tree.get("side"), tree.get("id")
            if side == self.side:
                return self.resolve(handle_id)
            if side in ("trusted", "untrusted") and isinstance(handle_id, int):
                return self.make_proxy(side, handle_id, _text(tree.get("type", "object"))[:80])
        raise ChannelError(f"unknown value tag {tag!r}")

    def _decode_tensor(self, tree: dict, depth: int):
        torch = _torch()
        name = _text(tree.get("dtype"))
        if name not in TORCH_DTYPES:
            raise ChannelError(f"unknown torch dtype {name!r}")
        shape = _shape(tree.get("shape"))
        data = base64.b64decode(_text(tree.get("v")))
        numpy_name = "int16" if name == "bfloat16" else name
        if numpy_name == "bool":
            numpy_name = "bool"
        itemsize = np.dtype(numpy_name).itemsize
        if len(data) != math.prod(shape) * itemsize:
            raise ChannelError("a tensor whose bytes do not match its shape")
        array = np.frombuffer(data, dtype=numpy_name).reshape(shape).copy()
        tensor = torch.from_numpy(array)
        if name == "bfloat16":
            tensor = tensor.view(torch.bfloat16)
        requires_grad = tree.get("requires_grad") is True
        if requires_grad and (tensor.is_floating_point() or tensor.is_complex()):
            tensor.requires_grad_(True)
        if isinstance(tree.get("grad"), dict) and tensor.requires_grad:
            grad = self._decode_tensor(tree["grad"], depth + 1).detach()
            if grad.shape == tensor.shape and grad.dtype == tensor.dtype:
                tensor.grad = grad
        tensor._rlbook_jacobian = tree.get("jacobian")
        return tensor


def _jacobians(output, inputs: list) -> list:
    """[[index of the input, Jacobian d output / d input as an ndarray tree]] for each
    given tensor the output depends on (``inputs``: the tensors the call received)."""
    torch = _torch()
    connected = [(i, x) for i, x in enumerate(inputs) if x.requires_grad]
    if not connected or not (output.is_floating_point()):
        return []
    n_out = output.numel()
    if n_out * sum(x.numel() for _, x in connected) > JACOBIAN_LIMIT:
        return []
    rows = {i: [] for i, _ in connected}
    used = set()
    flat = output.reshape(-1)
    for k in range(n_out):
        grads = torch.autograd.grad(flat[k], [x for _, x in connected], retain_graph=True,
                                    allow_unused=True)
        for (i, x), g in zip(connected, grads):
            rows[i].append(torch.zeros_like(x).reshape(-1) if g is None else g.reshape(-1))
            if g is not None:
                used.add(i)
    result = []
    for i, x in connected:
        jac = torch.stack(rows[i]).detach().to(torch.float64).numpy()
        if i in used:  # connected in the graph, even where the gradient is 0
            result.append([i, {"dtype": "float64", "shape": list(jac.shape),
                               "v": _b64(jac.tobytes())}])
    return result


def with_gradient_path(value, inputs: list):
    """Give each returned tensor that carries Jacobians a graph to ``inputs`` (the
    tensors the test passed): value + J (x - x.detach()). Its value is the student's,
    its gradient with respect to each input is the student's Jacobian."""
    torch = _torch()
    if isinstance(value, (list, tuple)):
        items = [with_gradient_path(item, inputs) for item in value]
        return type(value)(items) if type(value) in (list, tuple) else value
    if isinstance(value, dict):
        return {key: with_gradient_path(item, inputs) for key, item in value.items()}
    if not isinstance(value, torch.Tensor):
        return value
    jacobians = getattr(value, "_rlbook_jacobian", None)
    if not value.requires_grad or not isinstance(jacobians, list) or not jacobians:
        return value
    out = value.detach()
    total = out
    for entry in jacobians:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], int)
                and 0 <= entry[0] < len(inputs)):
            raise ChannelError("a malformed Jacobian")
        x = inputs[entry[0]]
        jac = torch.from_numpy(_decode_array({"t": "ndarray", **entry[1]}))
        if tuple(jac.shape) != (out.numel(), x.numel()):
            raise ChannelError("a Jacobian of the wrong shape")
        delta = (x - x.detach()).reshape(-1).to(torch.float64)
        total = total + (jac @ delta).reshape(out.shape).to(out.dtype)
    return total


def _text(value) -> str:
    if not isinstance(value, str):
        raise ChannelError("expected a string")
    return value


def _list(value) -> list:
    if not isinstance(value, list):
        raise ChannelError("expected a list")
    return value


def _shape(value) -> tuple:
    if not (isinstance(value, list) and len(value) <= 32
            and all(isinstance(n, int) and 0 <= n < 2**40 for n in value)):
        raise ChannelError("a malformed shape")
    return tuple(value)


def _dtype(value) -> str:
    if value not in DTYPES:
        raise ChannelError(f"unknown dtype {value!r}")
    return value


def _decode_array(tree: dict) -> np.ndarray:
    dtype = _dtype(tree.get("dtype"))
    shape = _shape(tree.get("shape"))
    data = base64.b64decode(_text(tree.get("v")))
    if len(data) != math.prod(shape) * np.dtype(dtype).itemsize:
        raise ChannelError("an array whose bytes do not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


# --------------------------------------------------------------------------- #
# Requests and replies
# --------------------------------------------------------------------------- #
class RemoteError(Exception):
    """An exception raised on the other side: its type's name, message and place."""

    def __init__(self, type_name: str, message: str, where: str = "", token: str = ""):
        super().__init__(message)
        self.type_name, self.message, self.where, self.token = (
            type_name, message, where, token)


class Endpoint:
    """One side's end: ``request`` sends and waits for the reply, serving the other
    side's requests that arrive meanwhile (a call may call back) with ``serve``."""

    def __init__(self, sock: socket.socket, codec: Codec, serve):
        self.sock, self.codec, self.serve = sock, codec, serve
        self._next_id = int.from_bytes(__import__("os").urandom(4), "big")
        self.closed = False

    def request(self, op: str, **fields) -> dict:
        if self.closed:
            raise ChannelClosed("the channel is closed")
        self._next_id += 1
        request_id = self._next_id
        try:
            send_message(self.sock, {"id": request_id, "op": op, **fields})
            while True:
                message = receive_message(self.sock)
                if message.get("reply_to") == request_id:
                    return message
                if "op" in message and "id" in message:
                    self.reply(message)
                    continue
                raise ChannelError("an unexpected message on the channel")
        except (OSError, ChannelError):
            self.closed = True
            raise

    def reply(self, message: dict) -> None:
        try:
            reply = self.serve(message)
        except RemoteError as error:
            reply = {"error": {"type": error.type_name, "message": error.message,
                               "where": error.where, "token": error.token}}
        reply["reply_to"] = message.get("id")
        send_message(self.sock, reply)
