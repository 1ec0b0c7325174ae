"""The torch.fx graph of a module, read as a chain of network layers.

:func:`read_chain` traces a module with ``torch.fx`` (recording stack traces), then reads
its graph in two steps. First every node is classified: a Linear layer (``nn.Linear``, or
``F.linear`` on the module's own parameters, as a subclass of nn.Linear is traced), an
activation of the table in any of its torch spellings (:mod:`.torch_activations`),
an eval-mode BatchNorm1d, a flatten to (batch, -1), an identity (``nn.Identity``, eval-mode
dropout, ``.contiguous()``), a size query (``x.size(0)``, ``x.shape[0]``) that feeds a
flatten, or a parameter read; any other node is refused, naming it and its line in
``forward``. Then the chain
is walked from the input to the output: each value must feed exactly one next node, and
the layers must alternate as archbound's model does, sigma(W_l x + b_l) up to the linear
output layer, with one activation sigma for every hidden layer. An ``nn.Identity`` layer
directly between two Linear layers is the identity activation; elsewhere it is skipped.

Eval-mode BatchNorm1d is the affine map h -> s h + t with s = gamma / sqrt(var + eps) and
t = beta - s mu, folded exactly into the Linear before it (W' = diag(s) W, b' = s b + t) or,
after an activation or on the input, into the Linear after it (W' = W diag(s),
b' = W t + b); BatchNorm1d after an activation folds forward, so sigma is applied to what
the module applies it to. Two Linear layers without an activation between are refused
rather than multiplied together, so that the network's layers, and the norms recorded for
them, are the module's own.
"""

from __future__ import annotations

import builtins
import operator
import os
import re

import numpy as np

from archbound.activations import Activation, activation
from archbound.readers._torch import float64 as _float64
from archbound.readers.torch_activations import (
    Unreadable,
    activation_of_call,
    activation_of_module,
    function_table,
)
from archbound.readers.torch_trace import TRACES

_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in \S+\n(?P<code>[^\n]*)')
_SUPPORTED = (
    "only Linear, the activations of archbound.activations.ACTIVATIONS (ReLU, GELU, Tanh, "
    "...), Flatten, Identity, and Dropout and BatchNorm1d in eval mode chain into a network"
)
_IDENTITY_METHODS = ("contiguous",)
_RESHAPE_METHODS = ("view", "reshape")
_SIZES = ("shape", "batch", "size")  # the kinds of the nodes that ask a tensor's size
_ASIDE = (*_SIZES, "parameter")  # inputs of a chain node other than the chain's value


def source_line(torch, node) -> str:
    """Where a traced node comes from, ' at line N of FILE (`code`)', or '' when unknown.

    The innermost frame outside torch's own package: the line of the user's ``forward``,
    also for a layer of an nn.Sequential that it calls.
    """
    trace = node.stack_trace or node.meta.get("stack_trace")
    if not trace:
        return ""
    torch_dir = os.path.dirname(torch.__file__) + os.sep
    frames = [m for m in _FRAME.finditer(trace) if not m["file"].startswith(torch_dir)]
    if not frames:
        return ""
    frame = frames[-1]
    return f" at line {frame['line']} of {frame['file']} (`{frame['code'].strip()}`)"


def _function_name(target) -> str:
    name = getattr(target, "__name__", repr(target))
    if getattr(operator, name, None) is target:
        return f"operator.{name}"
    module = getattr(target, "__module__", None)
    if not module or module.startswith("torch._C"):
        module = "torch"
    return f"{module}.{name}"


def describe(node, root) -> str:
    """A node as messages name it: 'layer fc1 (Linear)', 'node add (operator.add)'."""
    if node.op == "call_module":
        return f"layer {node.target} ({type(root.get_submodule(node.target)).__name__})"
    if node.op == "call_function":
        return f"node {node.name} ({_function_name(node.target)})"
    if node.op == "call_method":
        return f"node {node.name} (.{node.target}())"
    if node.op == "placeholder":
        return f"input {node.target}"
    if node.op == "get_attr":
        return f"node {node.name} (the attribute {node.target})"
    return f"node {node.name}"


class _Reader:
    """Classifies the nodes of one traced graph, then walks its chain."""

    def __init__(self, torch, root, graph):
        self.torch, self.root, self.graph = torch, root, graph
        self.functions = function_table(torch)
        self.kinds = {}
        self.order = {node: index for index, node in enumerate(graph.nodes)}

    # ------------------------------------------------------------------ messages
    def refuse(self, node, why: str) -> ValueError:
        """'module: layer fc2 (Linear) at line N of FILE (`code`): why'."""
        where = source_line(self.torch, node)
        return ValueError(f"module: {describe(node, self.root)}{where}: {why}")

    def refuse_layer(self, node, state: str, why: str) -> ValueError:
        """'module: layer 1 is Dropout in training mode at line N of FILE (`code`): why'."""
        module = self.root.get_submodule(node.target)
        where = source_line(self.torch, node)
        return ValueError(
            f"module: layer {node.target} is {type(module).__name__}{state}{where}: {why}"
        )

    # ------------------------------------------------------------- classification
    def classify(self, node):
        """(kind, payload) for a node, or raise naming it."""
        if node.op == "placeholder":
            return "input", None
        if node.op == "output":
            return "output", None
        if node.op == "call_module":
            return self.classify_module(node)
        if node.op == "call_function" and node.target is builtins.getattr:
            if node.args[1:] == ("shape",):
                return "shape", None
        elif node.op == "call_function" and node.target is operator.getitem:
            source = node.args[0]
            if self.kinds.get(source, ("",))[0] == "shape" and isinstance(node.args[1], int):
                return ("batch" if node.args[1] == 0 else "size"), None
        elif node.op == "call_method" and node.target == "size":
            dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
            return ("shape" if dim is None else "batch" if dim == 0 else "size"), None
        elif node.op in ("call_method", "call_function") and (found := self.activation_call(node)):
            return "activation", found
        elif node.op == "call_method" and node.target in _IDENTITY_METHODS:
            return "identity", None
        elif node.op == "call_function" and node.target is self.torch.nn.functional.dropout:
            training = node.kwargs.get("training", node.args[2] if len(node.args) > 2 else True)
            if training is False:
                return "identity", None
            raise self.refuse(
                node,
                "F.dropout with training=True multiplies by a random mask; pass "
                "training=self.training and call module.eval()",
            )
        elif (node.op == "call_method" and node.target == "flatten") or (
            node.op == "call_function" and node.target is self.torch.flatten
        ):
            start = node.kwargs.get("start_dim", node.args[1] if len(node.args) > 1 else 0)
            end = node.kwargs.get("end_dim", node.args[2] if len(node.args) > 2 else -1)
            if (start, end) == (1, -1):
                return "flatten", None
            raise self.refuse(node, "only a flatten to (batch, -1), flatten(1), is read")
        elif (node.op == "call_method" and node.target in _RESHAPE_METHODS) or (
            node.op == "call_function" and node.target is self.torch.reshape
        ):
            return "flatten", self.reshape_width(node)
        elif node.op == "call_function" and node.target is self.torch.nn.functional.linear:
            weight = node.kwargs.get("weight", node.args[1] if len(node.args) > 1 else None)
            bias = node.kwargs.get("bias", node.args[2] if len(node.args) > 2 else None)
            if self.kinds.get(weight, ("",))[0] == "parameter" and (
                bias is None or self.kinds.get(bias, ("",))[0] == "parameter"
            ):
                return "linear", (
                    self.attribute(weight),
                    None if bias is None else self.attribute(bias),
                )
            raise self.refuse(node, "F.linear reads its weight and bias from the module")
        elif node.op == "get_attr":
            return "parameter", None
        if node.target in (operator.add, operator.iadd, self.torch.add, self.torch.cat):
            raise self.refuse(
                node,
                "a residual connection or a concatenation is not a chain; archbound "
                "reads networks in which each layer feeds only the next",
            )
        raise self.refuse(node, _SUPPORTED)

    def activation_call(self, node):
        """(Activation, in place) of a call that is an activation, or None."""
        try:
            return activation_of_call(self.functions, node)
        except Unreadable as exc:
            raise self.refuse(node, str(exc)) from None
        except TypeError:  # an unhashable target: not an activation
            return None

    def attribute(self, node):
        """The tensor a get_attr node reads (a parameter or a buffer of the module)."""
        return operator.attrgetter(node.target)(self.root)

    def classify_module(self, node):
        nn = self.torch.nn
        module = self.root.get_submodule(node.target)
        kind = type(module)
        if isinstance(module, nn.Linear) and kind.forward is nn.Linear.forward:
            return "linear", (module.weight, module.bias)
        try:
            found = activation_of_module(self.torch, module)
        except Unreadable as exc:
            raise self.refuse_layer(node, "", str(exc)) from None
        if found is not None:
            return "activation", found
        if kind is nn.Identity:
            return "identity", "layer"
        if kind is nn.Dropout:
            if module.training:
                raise self.refuse_layer(
                    node, " in training mode", "it multiplies by a random mask; call module.eval()"
                )
            return "identity", None
        if kind is nn.Flatten:
            if (module.start_dim, module.end_dim) == (1, -1):
                return "flatten", None
            raise self.refuse_layer(
                node,
                f" (start_dim={module.start_dim}, end_dim={module.end_dim})",
                "only a flatten to (batch, -1) is read",
            )
        if kind is nn.BatchNorm1d:
            if module.training:
                raise self.refuse_layer(
                    node,
                    " in training mode",
                    "it normalizes with each batch's statistics; call module.eval()",
                )
            if module.running_mean is None or module.running_var is None:
                raise self.refuse_layer(
                    node,
                    " without running statistics (track_running_stats=False)",
                    "it normalizes with each batch's statistics, also in eval mode",
                )
            return "batchnorm", module
        raise self.refuse_layer(node, "", _SUPPORTED)

    def reshape_width(self, node):
        """None for view/reshape to (batch, -1); k for (batch, k) or (-1, k)."""
        shape = node.args[1:] if node.op == "call_method" else node.args[1:2]
        shape = shape or (node.kwargs.get("shape"),)
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if len(shape) == 2:
            first, second = shape
            batch = first == -1 or self.kinds.get(first, ("",))[0] == "batch"
            if batch and isinstance(second, int) and second > 0:
                return second
            if batch and second == -1 and first != -1:
                return None
        raise self.refuse(
            node, "only a reshape to (batch, -1), such as x.view(x.size(0), -1), is read"
        )

    # -------------------------------------------------------------------- the walk
    def next_node(self, value):
        """The one node that consumes ``value``: size queries aside, and in-place
        activations whose result is unused (``x.relu_()`` as a statement) applied on the
        way."""
        consumers = [u for u in value.users if self.kinds[u][0] not in _SIZES]
        consumers.sort(key=self.order.__getitem__)
        applied = []
        while (
            len(consumers) > 1
            and self.kinds[consumers[0]][0] == "activation"
            and self.kinds[consumers[0]][1][1]
        ):
            if consumers[0].users:
                break
            applied.append(consumers.pop(0))
        if len(consumers) != 1:
            names = ", ".join(describe(c, self.root) for c in consumers) or "nothing"
            raise self.refuse(
                value,
                f"its output feeds {len(consumers)} places ({names}); in a chain each "
                "value feeds exactly one next layer",
            )
        return applied, consumers[0]

    def walk(self):
        inputs = [n for n in self.graph.nodes if n.op == "placeholder"]
        if len(inputs) != 1:
            names = ", ".join(str(n.target) for n in inputs)
            raise ValueError(
                f"module: forward takes {len(inputs)} inputs ({names}); it must take one"
            )
        chain = _Chain(self)
        value = inputs[0]
        while True:
            applied, node = self.next_node(value)
            for step in applied:
                chain.activation(step, self.kinds[step][1])
            kind, payload = self.kinds[node]
            if kind == "output":
                if node.args[0] is not value:
                    raise self.refuse(node, "forward must return the chain's last value alone")
                return chain.end(node)
            tensors = [a for a in node.all_input_nodes if self.kinds[a][0] not in _ASIDE]
            if node.args[:1] != (value,) or tensors != [value]:
                raise self.refuse(node, "it takes more than the chain's value")
            getattr(chain, kind)(node, payload)
            value = node


class _Chain:
    """Layers composed along the walk: last is 'input', 'linear' or 'activation'; pending is
    an affine map (s, t) met after an activation or on the input, folded into the next
    Linear; sigma is the hidden layers' activation, once met; identity_layer is an
    nn.Identity met right after a Linear."""

    def __init__(self, reader):
        self.reader = reader
        self.weights, self.biases = [], []
        self.last, self.last_node = "input", None
        self.sigma, self.sigma_node = None, None
        self.identity_layer = None
        self.pending = None
        self.width = None  # the per-sample size a reshape to (-1, k) stated

    def linear(self, node, parameters):
        if self.last == "linear" and self.identity_layer is not None:
            self.activation(self.identity_layer, (activation("identity"), False))
        if self.last == "linear":
            raise self.reader.refuse(
                node,
                f"it follows {describe(self.last_node, self.reader.root)} without a ReLU "
                "or another activation between; archbound's layers are sigma(W x + b) and "
                "reports one norm per Linear, so two Linear layers are not multiplied together "
                "silently: merge them into one nn.Linear (W2 @ W1, W2 @ b1 + b2), or put an "
                "activation (nn.Identity for none) between",
            )
        weight, bias = parameters
        weight = _float64(weight, f"{node.name}.weight")
        bias = np.zeros(weight.shape[0]) if bias is None else _float64(bias, f"{node.name}.bias")
        if self.width is not None and self.width != weight.shape[1]:
            raise self.reader.refuse(
                node,
                f"it takes {weight.shape[1]} inputs, but the reshape before it makes "
                f"{self.width} per sample",
            )
        if self.pending is not None:
            scale, shift, norm = self.pending
            if scale.shape[0] != weight.shape[1]:
                raise self.reader.refuse(
                    norm,
                    f"it has {scale.shape[0]} features, but the next Linear takes "
                    f"{weight.shape[1]}",
                )
            bias += weight @ shift
            weight *= scale  # W diag(s)
            self.pending = None
        self.weights.append(weight)
        self.biases.append(bias)
        self.last, self.last_node, self.width = "linear", node, None
        self.identity_layer = None

    def activation(self, node, found):
        sigma = found[0]
        self.identity_layer = None
        name = "a ReLU" if sigma.is_relu else f"an activation ({sigma})"
        if self.last == "input":
            raise self.reader.refuse(
                node,
                f"{name} before the first Linear layer; archbound's network applies its "
                "first layer to the raw input",
            )
        if self.pending is not None:
            raise self.reader.refuse(
                self.pending[2],
                "a BatchNorm1d between two activations cannot be folded into a Linear",
            )
        if self.last == "activation":
            raise self.reader.refuse(
                node,
                f"it follows {describe(self.last_node, self.reader.root)} without a Linear "
                "between; archbound's hidden layers apply one activation each",
            )
        if self.sigma is not None and sigma != self.sigma:
            raise self.reader.refuse(
                node,
                f"it is {sigma}, but {describe(self.sigma_node, self.reader.root)} is "
                f"{self.sigma}; archbound's network applies one activation to every hidden layer",
            )
        self.sigma, self.sigma_node = sigma, node
        self.last, self.last_node = "activation", node

    def batchnorm(self, node, module):
        """h -> s h + t, s = gamma / sqrt(var + eps), t = beta - s mu."""
        mean = _float64(module.running_mean, f"{node.target}.running_mean")
        var = _float64(module.running_var, f"{node.target}.running_var")
        scale = 1.0 / np.sqrt(var + module.eps)
        if module.weight is not None:
            scale *= _float64(module.weight, f"{node.target}.weight")
        shift = -scale * mean
        if module.bias is not None:
            shift += _float64(module.bias, f"{node.target}.bias")
        if self.last == "linear":
            weight, bias = self.weights[-1], self.biases[-1]
            if scale.shape[0] != weight.shape[0]:
                raise self.reader.refuse(
                    node,
                    f"it has {scale.shape[0]} features, but the Linear before it has "
                    f"{weight.shape[0]} outputs",
                )
            weight *= scale[:, None]  # diag(s) W
            bias *= scale
            bias += shift
        elif self.pending is not None:  # two in a row: s2 (s1 h + t1) + t2
            first_scale, first_shift, _ = self.pending
            self.pending = (scale * first_scale, scale * first_shift + shift, node)
        else:
            self.pending = (scale, shift, node)

    def flatten(self, node, width):
        if self.last == "input":
            if self.pending is not None:
                raise self.reader.refuse(node, "a flatten after a BatchNorm1d on the input")
            self.width = width
        elif width is not None and width != self.weights[-1].shape[0]:
            raise self.reader.refuse(
                node,
                f"it reshapes to {width} values per sample, but the layer before it has "
                f"{self.weights[-1].shape[0]} outputs",
            )

    def identity(self, node, payload):
        if payload == "layer" and self.last == "linear":
            self.identity_layer = node

    def end(self, node):
        if self.last == "input":
            raise self.reader.refuse(node, "forward has no Linear layer")
        if self.last == "activation":
            name = "a ReLU" if self.sigma.is_relu else f"an activation ({self.sigma})"
            raise self.reader.refuse(
                self.last_node,
                f"{name} after the last Linear layer; archbound's output layer "
                "is linear (apply the activation outside the module, or drop it)",
            )
        # A Linear last: nothing pending.
        return self.weights, self.biases, self.sigma or activation("relu")


def read_chain(torch, module) -> tuple[list, list, Activation]:
    """(weights, biases, activation) of a module whose fx graph is a chain (see the module
    docstring); a chain with one Linear layer and no activation reads as relu. The graph
    is traced once per module and structure (:mod:`.torch_trace`); the parameters are read
    anew on every call."""
    graph = TRACES.graph(torch, module)
    reader = _Reader(torch, module, graph)
    for node in graph.nodes:
        reader.kinds[node] = reader.classify(node)
    return reader.walk()


__all__ = ["describe", "read_chain", "source_line"]
