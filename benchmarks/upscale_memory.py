"""Large output: peak memory and time of `imgrestore upscale` enlarging a 3000×2000 photo ×4 to
12000×8000 (CPU), against the size of one output-sized buffer (float32 and 8-bit).

The input is a real photo (the first Kodak24 image) resized with OpenCV to the asked size and
saved as PNG in a temporary folder; the CLI runs in a child process whose peak resident memory
(ru_maxrss of that child, from os.wait4) is reported. The output is checked for its size, and
for its content: shrunk back with OpenCV INTER_AREA it must be close to the input (PSNR).

    python benchmarks/upscale_memory.py                          # 3000×2000 ×4 (1–2 min of CPU)
    python benchmarks/upscale_memory.py --size 1500x1000 --model-dir /tmp/sr --name upscale_memory_small
    python benchmarks/upscale_memory.py --tile 256 --batch-size 1 --name upscale_memory_t256   # CLI options
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_root, save  # noqa: E402

from imgrestore.images import Picture, read_image, write_image  # noqa: E402
from imgrestore.metrics import psnr  # noqa: E402

GIB = 1024**3


def photo(root: Path, width: int, height: int) -> np.ndarray:
    source = read_image(sorted((root / "test" / "Kodak24").glob("*.png"))[0]).color
    return cv2.resize(source, (width, height), interpolation=cv2.INTER_CUBIC)


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the PNG header, without decoding the image."""
    with path.open("rb") as stream:
        header = stream.read(24)
    if header[:8] != b"\x89PNG\r\n\x1a\n" or header[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG")
    return struct.unpack(">II", header[16:24])


def run_child(command: list[str]) -> tuple[int, float, float, str]:
    """Return code, seconds and peak RSS (bytes) of one child process, and its stderr."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        errors.seek(0)
        message = errors.read()
    return child.returncode, seconds, usage.ru_maxrss * 1024.0, message  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="3000x2000", help="input WIDTHxHEIGHT")
    parser.add_argument("--scale", type=int, default=4, choices=(2, 3, 4))
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="use DIR/x{scale}.onnx (passed as --model) instead of the shipped model")
    parser.add_argument("--tile", type=int, default=None, help="passed to the CLI [default: the CLI's]")
    parser.add_argument("--batch-size", type=int, default=None, help="passed to the CLI [default: the CLI's]")
    parser.add_argument("--name", default="upscale_memory")
    args = parser.parse_args()
    root = data_root()
    width, height = (int(v) for v in args.size.lower().split("x"))
    scale = args.scale
    low = photo(root, width, height)
    out_width, out_height = width * scale, height * scale
    float_buffer = out_width * out_height * 3 * 4
    uint8_buffer = out_width * out_height * 3
    with tempfile.TemporaryDirectory() as scratch:
        source, target = Path(scratch) / "photo.png", Path(scratch) / "photo_large.png"
        write_image(source, Picture(color=low))
        command = [sys.executable, "-m", "imgrestore", "upscale", str(source), str(target),
                   "--scale", str(scale), "--device", "cpu"]
        if args.model_dir is not None:
            command += ["--model", str(args.model_dir / f"x{scale}.onnx")]
        if args.tile is not None:
            command += ["--tile", str(args.tile)]
        if args.batch_size is not None:
            command += ["--batch-size", str(args.batch_size)]
        print(f"{width}×{height} -> {out_width}×{out_height}: {' '.join(command[1:])}", flush=True)
        code, seconds, peak, message = run_child(command)
        if code:
            sys.exit(f"the CLI failed (exit {code}):\n{message}")
        size = png_size(target)
        size_ok = size == (out_width, out_height)
        output = cv2.imread(str(target), cv2.IMREAD_COLOR)[:, :, ::-1]
        shrunk = cv2.resize(output, (width, height), interpolation=cv2.INTER_AREA)
        consistency = psnr(shrunk, low)
        del output
    row = {
        "input": f"{width}x{height}", "scale": scale, "output": f"{out_width}x{out_height}",
        "model": str(args.model_dir / f"x{scale}.onnx") if args.model_dir else f"upscale-x{scale}",
        "tile": args.tile, "batch_size": args.batch_size, "seconds": seconds, "output_mp_per_s": out_width * out_height / 1e6 / seconds,
        "peak_rss_gib": peak / GIB,
        "output_float32_buffer_gib": float_buffer / GIB, "output_uint8_buffer_gib": uint8_buffer / GIB,
        "peak_over_float32_buffer": peak / float_buffer, "peak_over_uint8_buffer": peak / uint8_buffer,
        "output_size_ok": size_ok, "output_size": f"{size[0]}x{size[1]}",
        "shrunk_output_vs_input_psnr": consistency,
    }
    print(f"\n{'input':<10} {'output':<12} {'seconds':>8} {'out MP/s':>8} {'peak RSS':>9} "
          f"{'float32 out':>11} {'uint8 out':>9} {'peak/f32':>8} {'peak/u8':>7}")
    print(f"{row['input']:<10} {row['output']:<12} {seconds:>8.1f} {row['output_mp_per_s']:>8.2f} "
          f"{row['peak_rss_gib']:>5.2f} GiB {row['output_float32_buffer_gib']:>7.2f} GiB "
          f"{row['output_uint8_buffer_gib']:>5.2f} GiB {row['peak_over_float32_buffer']:>7.2f}× "
          f"{row['peak_over_uint8_buffer']:>6.2f}×")
    print(f"output size {size[0]}×{size[1]}: {'OK' if size_ok else 'WRONG, expected ' + row['output']}; "
          f"shrunk back (INTER_AREA) vs input: {consistency:.2f} dB")
    save(args.name, {"large_output": row})


if __name__ == "__main__":
    main()
