"""The untrusted side: runs one student's notebook, inside the sandbox, and nothing else.

Started by the trusted harness (``python -m rlbook_utils.grading.untrusted_runner
--fd N``) inside bubblewrap, it caps its own memory, then serves requests on the
channel (file descriptor N, one end of a socketpair): run a cell's source in an
IPython shell, look up a name the notebook defined, call a function or method with
plain-data arguments, record calls of the notebook's own functions. It never sees a
test: the tests run in the trusted harness and only their calls arrive here.

Everything here can be changed by the student's code, which runs in this process:
the harness trusts none of what this side sends beyond "these are the values the
notebook's code returned".
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import operator
import resource
import signal
import socket
import sys
import traceback

from rlbook_utils.grading.channel import (
    ChannelClosed,
    ChannelError,
    Codec,
    Endpoint,
    RemoteError,
    receive_message,
)


class GradingTimeout(BaseException):
    """Raised inside the student's code when its time is up (``except Exception``
    does not catch it)."""


def _on_alarm(signum, frame):
    raise GradingTimeout("time is up")


class _Capped(io.TextIOBase):
    """Stands in for stdout and stderr: keeps nothing, counts what is printed."""

    def __init__(self, runner):
        self.runner = runner

    def writable(self):
        return True

    def write(self, text):
        self.runner.printed += len(text)
        return len(text)


class CallbackProxy:
    """A grader's object handed to the notebook (a test's environment, model, loss):
    every use is a call back to the trusted side, which allows only plain data in."""

    __slots__ = ("_rlbook_runner", "_rlbook_id", "_rlbook_type")

    def __init__(self, runner, handle_id, type_name):
        object.__setattr__(self, "_rlbook_runner", runner)
        object.__setattr__(self, "_rlbook_id", handle_id)
        object.__setattr__(self, "_rlbook_type", type_name)

    def _rlbook_ref(self):
        return {"t": "handle", "side": "trusted", "id": self._rlbook_id,
                "type": self._rlbook_type}

    def _rlbook_apply(self, function, *args, **kwargs):
        return self._rlbook_runner.callback(function, self, args, kwargs)

    def __getattr__(self, name):
        return self._rlbook_apply("getattr", name)

    def __setattr__(self, name, value):
        raise AttributeError(f"the grader's {self._rlbook_type} cannot be changed")

    def __call__(self, *args, **kwargs):
        return self._rlbook_apply("call", *args, **kwargs)

    def __getitem__(self, key):
        return self._rlbook_apply("getitem", key)

    def __len__(self):
        return self._rlbook_apply("len")

    def __iter__(self):
        return self._rlbook_apply("iter")

    def __next__(self):
        return self._rlbook_apply("next")

    def __contains__(self, item):
        return self._rlbook_apply("contains", item)

    def __bool__(self):
        return self._rlbook_apply("bool")

    def __repr__(self):
        return self._rlbook_apply("repr")


def _call(function, *args, **kwargs):
    return function(*args, **kwargs)


OPERATIONS = {"call": _call, "getattr": getattr, "setattr": setattr,
              "getitem": operator.getitem, "setitem": operator.setitem, "len": len,
              "iter": iter, "next": next, "repr": repr, "str": str, "bool": bool,
              "contains": operator.contains}


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    mine = [frame for frame in frames if "rlbook_utils" not in frame.filename]
    frame = (mine or frames or [None])[-1]
    return f"line {frame.lineno} of {frame.name}" if frame else ""


def _error_reply(error: BaseException) -> dict:
    token = getattr(error, "token", "") if isinstance(error, RemoteError) else ""
    type_name = "GradingTimeout" if isinstance(error, GradingTimeout) else type(error).__name__
    message = error.message if isinstance(error, RemoteError) else str(error)
    if isinstance(error, RemoteError):
        type_name = error.type_name
    return {"error": {"type": type_name[:100], "message": message[:2000],
                      "where": _where(error)[:200], "token": str(token)[:100]}}


class Runner:
    def __init__(self, sock: socket.socket):
        from IPython.core.interactiveshell import InteractiveShell

        self.sock = sock
        self.shell = InteractiveShell.instance(colors="NoColor")
        self.namespace = self.shell.user_ns
        self.codec = Codec("untrusted", self._proxy, strict=False)
        self.codec.proxy_type = CallbackProxy
        self.endpoint = Endpoint(sock, self.codec, self.serve)
        self.printed = 0
        self.recordings: dict[int, object] = {}
        signal.signal(signal.SIGALRM, _on_alarm)

    def _proxy(self, side, handle_id, type_name):
        if side != "trusted":
            raise ChannelError("a handle of this side's own that it does not know")
        return CallbackProxy(self, handle_id, type_name)

    # -- calls back to the trusted side ---------------------------------------- #
    def callback(self, function, target, args, kwargs):
        torch = sys.modules.get("torch")
        grad_enabled = bool(torch.is_grad_enabled()) if torch is not None else True
        reply = self.endpoint.request(
            "apply", function=function, target=target._rlbook_ref(),
            args=self.codec.encode(list(args)), kwargs=self.codec.encode(dict(kwargs)),
            grad_enabled=grad_enabled)
        if "error" in reply:
            error = reply["error"]
            raise _exception_from(error)
        return self.codec.decode(reply.get("ok"))

    # -- serving the harness ---------------------------------------------------- #
    def serve(self, message: dict) -> dict:
        op = message.get("op")
        handler = getattr(self, f"op_{op}", None) if isinstance(op, str) else None
        if handler is None:
            return {"error": {"type": "ChannelError", "message": f"no operation {op!r}",
                              "where": "", "token": ""}}
        timeout = message.get("timeout")
        try:
            if isinstance(timeout, (int, float)) and timeout > 0:
                signal.setitimer(signal.ITIMER_REAL, float(timeout))
            try:
                return {"ok": handler(message)}
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except BaseException as error:  # noqa: BLE001 - every error goes back as text
            if isinstance(error, ChannelClosed):
                raise
            return _error_reply(error)

    def op_run_cell(self, message):
        source = message.get("source")
        if not isinstance(source, str):
            raise ChannelError("a cell without source")
        stdout, stderr = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = _Capped(self)
        try:
            result = self.shell.run_cell(source, store_history=True, silent=False)
        finally:
            sys.stdout, sys.stderr = stdout, stderr
        error = result.error_in_exec or result.error_before_exec
        text = None
        if error is not None:
            if isinstance(error, GradingTimeout):
                return {"timed_out": True, "error": None, "printed": self.printed}
            first = str(error).strip().splitlines()
            text = f"{type(error).__name__}: {first[0] if first else ''}".strip()
        return {"timed_out": False, "error": text, "printed": self.printed}

    def op_lookup(self, message):
        name = message.get("name")
        if not isinstance(name, str) or name not in self.namespace:
            return {"missing": True}
        return {"value": self.codec.encode(self.namespace[name])}

    def op_apply(self, message):
        function = OPERATIONS.get(message.get("function"))
        if function is None:
            raise ChannelError("no such operation")
        target = self.codec.decode(message.get("target"))
        self.codec.tensors = []
        try:
            args = self.codec.decode(message.get("args", {"t": "list", "v": []}))
            kwargs = self.codec.decode(message.get("kwargs", {"t": "dict", "k": [], "v": []}))
            inputs = self.codec.tensors
        finally:
            self.codec.tensors = None
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise ChannelError("malformed arguments")
        before = json.dumps([message.get("args"), message.get("kwargs")], sort_keys=True)
        result = function(target, *args, **kwargs)
        self.codec.jacobian_inputs = inputs if message.get("jacobian") else None
        try:
            encoded = self.codec.encode(result)
        finally:
            self.codec.jacobian_inputs = None
        reply = {"value": encoded}
        after_tree = [self.codec.encode(args), self.codec.encode(kwargs)]
        if json.dumps(after_tree, sort_keys=True) != before:
            reply["arguments_after"] = after_tree
        return reply

    def op_make(self, message):
        import importlib

        from rlbook_utils.exercises import FACTORY_PACKAGES

        module, qualname = message.get("module"), message.get("qualname")
        if not (isinstance(module, str) and isinstance(qualname, str)
                and module.split(".")[0] in FACTORY_PACKAGES):
            raise ChannelError("no such factory")
        factory = importlib.import_module(module)
        for part in qualname.split("."):
            factory = getattr(factory, part)
        args = self.codec.decode(message.get("args", {"t": "list", "v": []}))
        kwargs = self.codec.decode(message.get("kwargs", {"t": "dict", "k": [], "v": []}))
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise ChannelError("malformed arguments")
        built = factory(*args, **kwargs)
        if isinstance(built, (dict, list, tuple, set)):  # a test's container stays here
            return {"value": self.codec.handle_of(built)}
        return {"value": self.codec.encode(built)}

    def op_record(self, message):
        from rlbook_utils.exercises import CallRecording

        names = message.get("names")
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise ChannelError("malformed names")
        recording = CallRecording(self.namespace, names, int(message.get("keep", 20)))
        recording.__enter__()
        key = len(self.recordings) + 1
        self.recordings[key] = recording
        return {"recording": key}

    def op_recorded(self, message):
        recording = self.recordings.pop(message.get("recording"), None)
        if recording is None:
            raise ChannelError("no such recording")
        recording.__exit__(None, None, None)
        calls = {name: [[list(args), dict(kwargs), result]
                        for args, kwargs, result in recording.calls[name]]
                 for name in recording.calls}
        return {"counts": dict(recording.counts), "calls": self.codec.encode(calls)}

    def op_hello(self, message):
        return {"python": sys.version.split()[0]}

    def run(self) -> None:
        while True:
            try:
                message = receive_message(self.sock)
            except ChannelClosed:
                return
            self.endpoint.reply(message)


def _exception_from(error: dict) -> BaseException:
    if not isinstance(error, dict):
        return RuntimeError("the grader's object failed")
    return RemoteError(str(error.get("type", "Exception")), str(error.get("message", "")),
                       str(error.get("where", "")), str(error.get("token", "")))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--memory-mb", type=int, default=4096)
    parser.add_argument("--file-mb", type=int, default=256)
    parser.add_argument("--max-processes", type=int, default=4096)
    args = parser.parse_args(argv)
    # Limits first, before any student code: hard limits cannot be raised again.
    memory = args.memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (args.file_mb * 2**20,) * 2)
    # A cap on processes, against a fork bomb. Linux counts them per user and exempts
    # root, so where the grader runs as root (most containers) this holds nothing back:
    # there the notebook's time limits and the PID namespace are what stop it.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NPROC, (args.max_processes,) * 2)
    sock = socket.socket(fileno=args.fd)
    Runner(sock).run()


if __name__ == "__main__":
    main()
