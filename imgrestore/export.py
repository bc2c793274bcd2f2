"""torch -> ONNX: dynamic batch/height/width, metadata for the runtime, checker, parity vs torch.

Uses the torch.export-based exporter (`dynamo=True`), which handles PixelShuffle/Unshuffle with
symbolic sizes. Height and width are declared as multiples of the model's size multiple, so the
exported graph accepts every size the runtime will feed it (the runtime pads to that multiple).
"""

from __future__ import annotations

import copy
import json
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from imgrestore.runtime import METADATA_KEY, SPATIAL_KINDS, ModelInfo, OnnxModel, pad_to_multiple
from imgrestore.task import TaskSpec, resolve
from imgrestore.training.checkpoint import load_weights, read_metadata

PARITY_SIZE = (67, 131)
PARITY_TOLERANCE = {"fp32": 1e-4, "fp16": 2e-2}


@dataclass
class ExportSpec:
    example: dict[str, torch.Tensor]
    """Example inputs, named and ordered as the ONNX inputs (and as the model's forward args)."""
    info: ModelInfo
    module: nn.Module | None = None
    """The network to export when it is not the whole checkpointed model (one direction of a
    CycleGAN's pair of generators); None exports the model itself."""


@dataclass
class ExportReport:
    path: Path
    parameters: int
    max_difference: float
    tolerance: float
    parity_input: str
    """What parity was checked on: "a 67×131 input", or a latent batch for a generator."""


class ParityError(RuntimeError):
    """onnxruntime's output differs from torch's by more than the tolerance."""


class _HalfPrecision(nn.Module):
    """fp16 weights and arithmetic inside, float32 at the boundary, so callers never change."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model.half()

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(*(value.half() for value in inputs)).float()


def load_model(spec: TaskSpec, checkpoint: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the task's network from a training checkpoint (`*.safetensors`)."""
    metadata = read_metadata(checkpoint)  # CheckpointError (a ValueError) for what is not a checkpoint
    if "model_config" not in metadata:
        raise ValueError(f"{checkpoint} holds no model_config: it is not a checkpoint written by imgrestore train")
    if metadata.get("task") != spec.name:
        raise ValueError(f"{checkpoint} is a checkpoint of task {metadata.get('task')!r}, not {spec.name!r}")
    model = resolve(spec.model_factory)(**metadata["model_config"])
    model.load_state_dict(load_weights(checkpoint))
    return model.eval(), metadata


def _dynamic_shapes(spec: ExportSpec) -> tuple[dict[int, Any], ...]:
    batch = torch.export.Dim("batch", min=1, max=4096)
    multiple = spec.info.size_multiple
    height = torch.export.Dim("height", min=1, max=16384 // multiple)
    width = torch.export.Dim("width", min=1, max=16384 // multiple)
    channels = torch.export.Dim("channels", min=1, max=4)
    shapes = []
    for entry in spec.info.inputs:
        if entry.kind in SPATIAL_KINDS:
            shape = {0: batch, 2: multiple * height if multiple > 1 else height,
                     3: multiple * width if multiple > 1 else width}
            if entry.kind == "image" and spec.info.channels == 0:  # a per-channel model takes any
                shape[1] = channels
            shapes.append(shape)
        else:
            shapes.append({0: batch})
    return tuple(shapes)


def export_onnx(
    spec: TaskSpec, checkpoint: str | Path, output: str | Path, fp16: bool = False, opset: int = 18,
    options: dict[str, Any] | None = None,
) -> ExportReport:
    """`options`: values of the task's export_options, handed to its export_spec."""
    output = Path(output)
    if output.exists() and output.resolve() == Path(checkpoint).resolve():
        raise ValueError(f"-o {output} is the checkpoint itself: exporting would replace the weights with the model")
    model, metadata = load_model(spec, checkpoint)
    export_spec: ExportSpec = resolve(spec.export)(model, metadata["model_config"], options or {})
    names = [entry.name for entry in export_spec.info.inputs]
    if list(export_spec.example) != names:
        raise ValueError(f"export example inputs {list(export_spec.example)} do not match {names}")
    model = export_spec.module if export_spec.module is not None else model
    # a copy goes to half precision: `model` stays the fp32 checkpoint the parity check measures
    # against (halving it in place compared the export with its own rounded weights)
    exported = _HalfPrecision(copy.deepcopy(model)).eval() if fp16 else model
    dynamic_shapes = _dynamic_shapes(export_spec)
    if fp16:  # the wrapper takes `*inputs`, which torch.export sees as one tuple argument
        dynamic_shapes = (dynamic_shapes,)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot create the folder of -o {output}: {error.strerror}") from None
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        # the exporter warns that equal symbolic dims share a name; that is what we asked for
        warnings.filterwarnings("ignore", message=".*will not be used, since it shares the same shape constraints.*")
        raw = Path(scratch) / "model.onnx"
        torch.onnx.export(
            exported,
            tuple(export_spec.example.values()),
            str(raw),
            input_names=names,
            output_names=[export_spec.info.output],
            dynamic_shapes=dynamic_shapes,
            dynamo=True,
            opset_version=opset,
            external_data=False,
            verbose=False,
        )
        graph = onnx.load(str(raw))
    produced = next((entry.version for entry in graph.opset_import if entry.domain in ("", "ai.onnx")), None)
    if produced != opset:  # the exporter falls back to its own opset, with only a warning, where it cannot convert
        raise ValueError(f"this model cannot be exported at --opset {opset} (the exporter produced opset {produced}): "
                         f"use --opset {produced}")
    info = export_spec.info
    _set_metadata(graph, {
        METADATA_KEY: info.to_json(),
        "imgrestore.checkpoint": json.dumps({"step": metadata.get("step"),
                                             **{k: v for k, v in metadata.items() if k.startswith("val_")},
                                             "precision": "fp16" if fp16 else "fp32"}),
    })
    onnx.checker.check_model(graph, full_check=True)
    parameters = sum(int(np.prod(tensor.dims)) for tensor in graph.graph.initializer  # what was exported,
                     if tensor.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16))  # not shape constants
    tolerance = PARITY_TOLERANCE["fp16" if fp16 else "fp32"]
    spatial = any(entry.kind in SPATIAL_KINDS for entry in info.inputs)
    checked = f"a {PARITY_SIZE[0]}×{PARITY_SIZE[1]} input" if spatial else "a batch of latent vectors"
    # Checked before it takes the output's name: a wrong export must not replace a good model there.
    temporary = output.with_name(f".{output.name}.part")
    try:
        onnx.save(graph, str(temporary))
        difference = parity_difference(model, export_spec, temporary)
        if not difference <= tolerance:
            raise ParityError(
                f"onnxruntime differs from torch by {difference:.3g} (> {tolerance:g}) on {checked}: "
                f"the export is wrong, {output} was not written"
            )
        temporary.replace(output)
    finally:
        temporary.unlink(missing_ok=True)
    return ExportReport(output, parameters, difference, tolerance, checked)


def _set_metadata(graph: onnx.ModelProto, values: dict[str, str]) -> None:
    for key, value in values.items():
        for entry in graph.metadata_props:
            if entry.key == key:
                entry.value = value
                break
        else:
            graph.metadata_props.add(key=key, value=value)


def parity_difference(model: nn.Module, spec: ExportSpec, onnx_path: Path, seed: int = 0) -> float:
    """Max |onnxruntime − torch| on an odd-sized input fed through the runtime's padding path."""
    generator = torch.Generator().manual_seed(seed)
    height, width = PARITY_SIZE
    inputs: dict[str, np.ndarray] = {}
    for entry, example in zip(spec.info.inputs, spec.example.values()):
        if entry.kind in SPATIAL_KINDS:
            shape = (1, example.shape[1], height, width)
        else:
            shape = (1, *example.shape[1:])
        inputs[entry.name] = torch.rand(shape, generator=generator).numpy()
    try:
        session = OnnxModel(onnx_path, device="cpu")
    except Exception as error:  # onnxruntime's own error types: an opset newer than it supports, above all
        text = str(error)
        support = text[text.find("Current official support"):].strip() if "Current official support" in text else ""
        raise ValueError(f"onnxruntime cannot load the exported model{': ' + support if support else ''}; export "
                         "at a lower --opset (the default 18 loads everywhere)" if support else
                         f"onnxruntime cannot load the exported model: {text.strip().splitlines()[-1]}") from None
    onnx_output = session.run(inputs)
    padded = [
        torch.from_numpy(pad_to_multiple(value, spec.info.size_multiple) if entry.kind in SPATIAL_KINDS else value)
        for entry, value in zip(spec.info.inputs, inputs.values())
    ]
    with torch.no_grad():
        reference = model.float()(*padded).numpy()
    scale = spec.info.scale
    reference = reference[:, :, : height * scale, : width * scale]
    return float(np.abs(onnx_output - reference).max())
