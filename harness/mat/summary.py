"""A human-readable listing of a `.mat` network: layers, weight sizes, supported or not."""

from __future__ import annotations

from harness.mat.handlers import Handler, find_handler
from harness.mat.network import Network


def describe(network: Network, handlers: dict[str, Handler] | None = None) -> str:
    lines = [
        f"{network.source or '<network>'}: {network.format}, {len(network.layers)} layers",
        f"inputs: {', '.join(network.inputs)}    outputs: {', '.join(network.outputs)}",
    ]
    width = max([len(layer.name) for layer in network.layers] + [4])
    type_width = max([len(layer.type) for layer in network.layers] + [4])
    unsupported = 0
    for layer in network.layers:
        supported = find_handler(layer.type, handlers) is not None
        unsupported += not supported
        sizes = ", ".join(f"{key} {'x'.join(str(d) for d in value.shape)}"
                          for key, value in layer.params.items())
        lines.append(f"  {layer.index:>4} {layer.name:<{width}} {layer.type:<{type_width}} "
                     f"{'ok ' if supported else 'NO HANDLER'} {sizes}")
    lines.extend(f"note: {note}" for note in network.notes)
    lines.append("all layers supported" if not unsupported else
                 f"{unsupported} layer(s) need a handler: harness.mat.register_layer_handler")
    return "\n".join(lines)
