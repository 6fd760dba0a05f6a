"""``rnnkit train ... --precision {32,bf16,16-mixed}``."""

from __future__ import annotations

import json

from safetensors.torch import load_file

from rnnkit.cli import main

SMALL = ["--max-steps", "3", "--no-plots", "--set", "tensorboard=false", "--set", "test_windows=2"]


def test_bf16_trains_with_float32_parameters_and_is_recorded(tmp_path):
    assert main(["train", "sine", "--precision", "bf16", "--out", str(tmp_path / "r"), *SMALL]) == 0
    assert json.loads((tmp_path / "r" / "config.json").read_text())["precision"] == "bf16"
    params = load_file(str(tmp_path / "r" / "checkpoint.safetensors"))
    assert {str(v.dtype) for k, v in params.items() if k.startswith("model/")} == {"torch.float32"}
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["steps"] == 3


def test_16_mixed_on_cpu_is_a_usage_error(tmp_path, capsys):
    rc = main(["train", "sine", "--precision", "16-mixed", "--out", str(tmp_path / "r"), *SMALL])
    err = capsys.readouterr().err
    assert rc == 2
    assert (
        "16-mixed (float16 with a gradient scaler) needs a CUDA device" in err
        and "--precision bf16" in err
    )
    assert not (tmp_path / "r").exists()
