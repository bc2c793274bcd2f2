"""The sharpen task at run time: its model (built once, as a small ONNX graph) and its inputs."""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from imgrestore.inference import image_input
from imgrestore.runtime import METADATA_KEY, InputInfo, ModelInfo

MODEL = Path.home() / ".cache" / "imgrestore-sharpen" / "sharpen.onnx"


def build_model(path: Path) -> None:
    """Unsharp masking as an ONNX graph: image + amount * (image - blur(image))."""
    kernel = np.outer([1, 2, 1], [1, 2, 1]).astype(np.float32) / 16
    weights = helper.make_tensor("kernel", TensorProto.FLOAT, [3, 1, 3, 3], np.tile(kernel, (3, 1, 1, 1)).ravel())
    nodes = [
        helper.make_node("Pad", ["image", "pads"], ["padded"], mode="reflect"),
        helper.make_node("Conv", ["padded", "kernel"], ["blurred"], group=3),
        helper.make_node("Sub", ["image", "blurred"], ["detail"]),
        helper.make_node("Reshape", ["amount", "shape"], ["gain"]),
        helper.make_node("Mul", ["detail", "gain"], ["boost"]),
        helper.make_node("Add", ["image", "boost"], ["sharpened"]),
    ]
    graph = helper.make_graph(
        nodes, "sharpen",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 3, "h", "w"]),
         helper.make_tensor_value_info("amount", TensorProto.FLOAT, ["n", 1])],
        [helper.make_tensor_value_info("sharpened", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        initializer=[weights,
                     helper.make_tensor("pads", TensorProto.INT64, [8], [0, 0, 1, 1, 0, 0, 1, 1]),
                     helper.make_tensor("shape", TensorProto.INT64, [4], [-1, 1, 1, 1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    info = ModelInfo(task="sharpen", inputs=(InputInfo("image", "image"), InputInfo("amount", "scalar")),
                     output="sharpened", channels=3, receptive_radius=1)
    helper.set_model_props(model, {METADATA_KEY: info.to_json()})
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def select_model(options, picture):
    if not MODEL.exists():
        build_model(MODEL)
    return str(MODEL)


def prepare(picture, options, info):
    return {"image": image_input(picture, info), "amount": np.array([options["amount"]], np.float32)}
