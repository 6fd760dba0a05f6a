"""The dates task end to end on a tiny run (metrics, plots, predict --text, export, resume) and its model's
decoders against each other."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import onnxruntime
import pytest
import torch

from rnnkit.cli import main
from rnnkit.cli.train import train_run
from rnnkit.data.dates import EOS, SOURCE_CHARS, TARGET_CHARS, encode
from rnnkit.tasks import TASKS
from rnnkit.tasks.dates_model import DECODE_STEPS, DatesModel, GreedyExport
from rnnkit.train import rundir as rd

TINY = {
    "num_units": 8,
    "embed": 8,
    "test_examples": 24,
    "eval_batch": 10,
    "beam_width": 2,
    "batch_size": 8,
    "log_every": 2,
    "eval_every": 2,
    "checkpoint_every": 2,
    "tensorboard": False,
    "export_width": 12,  # the exported encoder loop (32 steps by default) takes minutes to record
}
TEXTS = [
    "March 3, 1987",
    "1987-03-03",
    "TUESDAY, MARCH 3, 1987",
    "3.3.1987",
    "wednesday 30 september 2099",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("dates") / "run"
    cfg = TASKS["dates"].resolve_config("small", {**TINY, "max_steps": 4})
    assert train_run(cfg, d) == 0
    return d


def test_metrics_and_plots(run):
    m = json.loads((run / rd.METRICS).read_text())
    assert {"test_exact_match", "test_exact_match_beam", "test_char_accuracy", "test_loss"} <= set(
        m
    )
    assert (
        m["steps"] == 4
        and 0 <= m["test_exact_match"] <= m["test_char_accuracy"] <= 1
        or m["test_exact_match"] == 0
    )
    assert m["test_loss"] > 0
    for f in ("loss.png", "attention.png"):
        assert (run / f).stat().st_size > 0, f
    evals = [r for r in rd.read_jsonl(run / rd.METRICS_LOG) if r["kind"] == "eval"]
    assert [r["step"] for r in evals] == [2, 4]


def test_metrics_count_what_the_decoders_return(monkeypatch):
    """The metrics from given translations: half the rows with a wrong last digit, a quarter empty under beam."""
    task = TASKS["dates"](TASKS["dates"].resolve_config("small", {**TINY, "test_examples": 8}))
    isos = [iso for _, iso in task.test_pairs]

    def translate(texts, beam=False, where="dates"):
        assert texts == [t for t, _ in task.test_pairs]
        if beam:
            return ["" if i % 4 == 0 else iso for i, iso in enumerate(isos)]
        return [
            iso[:-1] + str((int(iso[-1]) + 1) % 10) if i % 2 else iso for i, iso in enumerate(isos)
        ]

    monkeypatch.setattr(task, "translate", translate)
    m = task.evaluate()
    assert m["test_exact_match"] == 0.5 and m["test_exact_match_beam"] == 0.75
    assert m["test_char_accuracy"] == (8 * 10 - 4) / 80 and m["test_loss"] > 0


def test_predict_text_and_its_errors(run, capsys):
    from rnnkit.cli._common import load_run

    task, _ = load_run(run)
    capsys.readouterr()
    for beam in (False, True):
        assert (
            main(["predict", str(run), "--text", "March 3, 1987", *(["--beam"] if beam else [])])
            == 0
        )
        out = capsys.readouterr().out
        assert out == task.translate(["March 3, 1987"], beam=beam)[0] + "\n"
        assert set(out.strip()) <= set(TARGET_CHARS)
    assert main(["predict", str(run), "--text", "March 3rd, 1987 #"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--text: expected characters from" in err[0] and "'#'" in err[0]
    assert main(["predict", str(run), "--index", "2"]) == 2
    assert 'a dates run takes --text "DATE"' in capsys.readouterr().err


def test_onnx_export_runs_real_texts(run, tmp_path, capsys):
    capsys.readouterr()
    assert main(["export", str(run), "--format", "onnx", "--out", str(tmp_path / "d.onnx")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["max_abs_diff"] <= 1e-5 and summary["inputs"] == ["chars"]
    assert summary["outputs"] == ["ids", "probabilities"] and summary["dynamic"]["chars"] == {
        "0": "batch"
    }
    from rnnkit.cli._common import load_run

    task, _ = load_run(run)
    texts = [
        "Mar 3, 1987",
        "1987-03-03",
        "3.3.1987",
        "03/03/1987",
        "3 MAR 1987",
    ]  # up to 12 characters
    ids, lengths = encode(texts, SOURCE_CHARS)
    chars = np.pad(ids, ((0, 0), (0, 12 - ids.shape[1])))
    session = onnxruntime.InferenceSession(
        str(tmp_path / "d.onnx"), providers=["CPUExecutionProvider"]
    )
    got_ids, got_probs = session.run(None, {"chars": chars})
    with torch.no_grad():
        want_ids, want_logits, _ = task.model.greedy_loop(
            torch.from_numpy(ids), torch.from_numpy(lengths)
        )
    np.testing.assert_allclose(got_probs, torch.softmax(want_logits, -1).numpy(), atol=1e-5)
    assert (got_ids == want_ids.numpy()).all()


def test_the_decoders_agree():
    """Greedy by dynamic_decode, the fixed greedy loop, its export restatement (on a padded batch), and a beam of
    width 1 give the same ids; the teacher-forced logits fed the greedy ids are the loop's logits."""
    torch.manual_seed(0)
    model = DatesModel(8, 12).eval()
    ids, lengths = (torch.from_numpy(a) for a in encode(TEXTS, SOURCE_CHARS))
    with torch.no_grad():
        greedy = model.greedy(ids, lengths)
        loop_ids, loop_logits, align = model.greedy_loop(ids, lengths)
        exp_ids, exp_probs = GreedyExport(model)(torch.nn.functional.pad(ids, (0, 7)))
        beam1 = model.beam(ids, lengths, 1)
        go = torch.full((len(TEXTS), 1), 1)
        forced = model.train_logits(ids, lengths, torch.cat([go, loop_ids[:, :-1]], 1))
    assert loop_ids.shape == (len(TEXTS), DECODE_STEPS) and align.shape[:2] == (
        len(TEXTS),
        DECODE_STEPS,
    )
    for row in range(len(TEXTS)):
        n = greedy.shape[1]
        g = greedy[row].tolist()
        end = g.index(EOS) + 1 if EOS in g else n
        assert loop_ids[row, :end].tolist() == g[:end]
        assert beam1[row, :end].tolist() == g[:end]
        # attention never reaches past a row's length, and each step's weights sum to 1
        assert align[row, :, lengths[row] :].abs().sum() == 0
    torch.testing.assert_close(align.sum(-1), torch.ones(len(TEXTS), DECODE_STEPS))
    assert torch.equal(exp_ids, loop_ids)
    torch.testing.assert_close(exp_probs, torch.softmax(loop_logits, -1), atol=1e-6, rtol=0)
    torch.testing.assert_close(forced, loop_logits, atol=1e-5, rtol=1e-5)


def test_resume_after_ctrl_c_equals_uninterrupted(tmp_path, capsys, monkeypatch):
    cfg = TASKS["dates"].resolve_config(
        "default", {**TINY, "max_steps": 6, "eval_every": 3, "checkpoint_every": 100}
    )
    assert train_run(cfg, tmp_path / "a", plots=False) == 0
    cls = TASKS["dates"]
    original = cls.train_loss

    def interrupt_at_3(self, step):
        if step == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, step)

    monkeypatch.setattr(cls, "train_loss", interrupt_at_3)
    assert train_run(cfg, tmp_path / "b", plots=False) == 130
    monkeypatch.setattr(cls, "train_loss", original)
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "b"), "--no-plots"]) == 0
    a = json.loads((tmp_path / "a" / rd.METRICS).read_text())
    b = json.loads((tmp_path / "b" / rd.METRICS).read_text())
    assert a["steps"] == b["steps"] == 6
    assert a["test_loss"] == b["test_loss"] and a["test_char_accuracy"] == b["test_char_accuracy"]


def test_tf_names_follow_nmt():
    model = DatesModel(8, 12)
    names = model.tf_variables()
    assert sorted(map(id, names.values())) == sorted(map(id, model.parameters()))
    enc = "dynamic_seq2seq/encoder/bidirectional_rnn"
    assert list(names) == [
        "embeddings/encoder/embedding_encoder",
        "embeddings/decoder/embedding_decoder",
        f"{enc}/fw/basic_lstm_cell/kernel",
        f"{enc}/fw/basic_lstm_cell/bias",
        f"{enc}/bw/basic_lstm_cell/kernel",
        f"{enc}/bw/basic_lstm_cell/bias",
        "dynamic_seq2seq/decoder/memory_layer/kernel",
        "dynamic_seq2seq/decoder/attention/basic_lstm_cell/kernel",
        "dynamic_seq2seq/decoder/attention/basic_lstm_cell/bias",
        "dynamic_seq2seq/decoder/attention/luong_attention/attention_g",
        "dynamic_seq2seq/decoder/attention/attention_layer/kernel",
        "dynamic_seq2seq/decoder/output_projection/kernel",
    ]
