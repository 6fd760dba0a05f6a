"""``rnnkit predict RUN_DIR``: classify one image with a trained mnist run, or translate a date with a dates run."""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from ._common import UsageError, add_command, load_run

HELP = "classify one digit image (mnist run) or translate a date to ISO 8601 (dates run)"


def register(sub: Any) -> None:
    p = add_command(
        sub, "predict", HELP, " (mnist: a PNG, or a test-set image by index; dates: --text)"
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--image", metavar="PNG", help="an image file; resized to 28x28 grey, inverted if light"
    )
    g.add_argument(
        "--index", type=int, metavar="N", help="index into the MNIST test set (default 0)"
    )
    g.add_argument(
        "--text", metavar="DATE", help='dates runs: a date as written, e.g. "March 3, 1987"'
    )
    p.add_argument(
        "--beam", action="store_true", help="dates runs: beam search instead of greedy decoding"
    )
    p.add_argument("--data-dir", metavar="DIR")
    p.add_argument("--device", metavar="cpu|cuda")
    p.set_defaults(func=run)


def read_image(path: str) -> np.ndarray:
    """A PNG/JPEG as uint8 ``[28, 28]``, white digit on black like MNIST."""
    try:
        from PIL import Image

        img = Image.open(path).convert("L")
    except FileNotFoundError:
        raise UsageError(f"--image: no such file {path}") from None
    except Exception as e:
        raise UsageError(f"--image: cannot read {path} as an image ({e})") from None
    if img.size != (28, 28):
        img = img.resize((28, 28), Image.Resampling.BILINEAR)
    a = np.asarray(img, dtype=np.uint8)
    return 255 - a if a.mean() > 127 else a  # dark digit on a light background → MNIST's polarity


def run(args: argparse.Namespace) -> int:
    from ..tasks.mnist import get_mnist

    task, _ = load_run(args.run_dir, args.data_dir, args.device)
    if task.name == "dates":
        return _translate(task, args)
    if args.text is not None or args.beam:
        raise UsageError(
            f"--text and --beam are for dates runs; {args.run_dir} is a {task.name} run"
        )
    if task.name != "mnist":
        raise UsageError(
            f"predict works on mnist and dates runs; {args.run_dir} is a {task.name} run"
        )
    label = None
    if args.image:
        img = read_image(args.image)
    else:
        test = get_mnist(task.data_dir)
        index = 0 if args.index is None else args.index
        if not 0 <= index < len(test.test_labels):
            raise UsageError(f"--index must be in 0..{len(test.test_labels) - 1}, got {index}")
        img, label = test.test_images[index], int(test.test_labels[index])
    probs = task.predict(img[None])[0]
    out = {"prediction": int(probs.argmax()), "probabilities": [round(float(p), 6) for p in probs]}
    if label is not None:
        out["label"] = label
    print(json.dumps(out))
    return 0


def _translate(task: Any, args: argparse.Namespace) -> int:
    """Print the ISO 8601 form of ``--text`` (one line)."""
    if args.text is None:
        got = (
            "--image" if args.image is not None else "--index" if args.index is not None else "none"
        )
        raise UsageError(f'a dates run takes --text "DATE" (e.g. "March 3, 1987"), got {got}')
    try:
        print(task.translate([args.text], beam=args.beam, where="--text")[0])
    except ValueError as e:
        raise UsageError(str(e)) from None
    return 0
