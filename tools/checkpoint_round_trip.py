"""The other direction of ``tools/make_tf_checkpoint_fixtures.py``: rnnkit writes checkpoints, TensorFlow reads them.

``round_trip``: tensors of every dtype written by ``rk.tf_checkpoint.write`` (in another Python, the one with this
checkout's rnnkit) are read back by ``tf.train.load_checkpoint`` and ``Saver.restore`` bit for bit;
``round_trip_model``: an rnnkit stack saved with ``rk.save_tf_checkpoint`` is restored into TF, whose
``dynamic_rnn`` outputs must match. Run through ``make_tf_checkpoint_fixtures.py`` (``--only-round-trip``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import numpy as np
from make_tf_checkpoint_fixtures import ROOT, rnn, tf


def _round_trip_once(rnnkit_python, script, npz, prefix, values, crc) -> None:
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    subprocess.run([rnnkit_python, "-c", script, npz, prefix], check=True, env=env)
    reader = tf.train.load_checkpoint(prefix)
    shapes = reader.get_variable_to_shape_map()
    dtypes_map = reader.get_variable_to_dtype_map()
    assert set(shapes) == set(values), sorted(set(shapes) ^ set(values))
    for name, value in values.items():
        assert dtypes_map[name].as_numpy_dtype == np.asarray(value).dtype, name
        assert np.array_equal(reader.get_tensor(name), value), name
    print(f"round trip ({crc}): tf.train.load_checkpoint read {len(values)} tensors identical")
    assert tf.train.latest_checkpoint(os.path.dirname(prefix)) == prefix
    with tf.Graph().as_default():
        variables = {
            name: tf.Variable(
                tf.zeros(np.shape(v), dtype=tf.as_dtype(np.asarray(v).dtype)), name=f"v{i}"
            )
            for i, (name, v) in enumerate(values.items())
        }
        saver = tf.train.Saver(variables)
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            restored = sess.run(variables)
    for name, value in values.items():
        assert np.array_equal(restored[name], value), name
    print(
        f"round trip ({crc}): tf.compat.v1.train.Saver().restore restored {len(values)} variables identical"
    )


def round_trip(rnnkit_python: str) -> None:
    rng = np.random.default_rng(9)
    values = {
        "rnn/basic_lstm_cell/kernel": rng.standard_normal((7, 16)).astype(np.float32),
        "rnn/basic_lstm_cell/bias": rng.standard_normal(16).astype(np.float32),
        "dense/kernel": rng.standard_normal((4, 2)),  # float64
        "half": rng.standard_normal((2, 3)).astype(np.float16),
        "global_step": np.int64(1234),
        "counts": rng.integers(-5, 5, size=(3,)).astype(np.int32),
        "bytes": rng.integers(0, 255, size=(4,)).astype(np.uint8),
        "mask": rng.random(5) < 0.5,
        "big/matrix": rng.standard_normal((300, 300)).astype(np.float32),  # CRC over 360 kB
    }
    # 400 long, little-shared names: an index of ~290 kB, so more than one 256 kB table block
    long = "x" * 700
    values.update(
        {f"many/{i:03d}/{long}": rng.standard_normal(2).astype(np.float32) for i in range(400)}
    )
    tmp = tempfile.mkdtemp(prefix="rnnkit-roundtrip-")
    try:
        np.savez(
            os.path.join(tmp, "values.npz"), **{k.replace("/", "|"): v for k, v in values.items()}
        )
        for crc in ("google-crc32c if installed", "NumPy CRC-32C"):
            # the second run hides google_crc32c so that rnnkit's NumPy fallback computes the CRCs
            block = "sys.modules['google_crc32c'] = None;" if crc.startswith("NumPy") else ""
            script = (
                f"import sys; {block} import numpy as np; from rnnkit.tf_checkpoint import write;"
                "d = np.load(sys.argv[1]);"
                "write(sys.argv[2], {k.replace('|', '/'): d[k] for k in d.files})"
            )
            prefix = os.path.join(tmp, crc.split()[0], "model.ckpt")
            _round_trip_once(
                rnnkit_python, script, os.path.join(tmp, "values.npz"), prefix, values, crc
            )
            print(f"  index: {os.path.getsize(prefix + '.index'):,} bytes")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_MODEL_SCRIPT = """
import sys, numpy as np, torch, rnnkit as rk
from rnnkit.tf_checkpoint.loading import save_tf_checkpoint
torch.manual_seed(0)
cell = rk.MultiRNNCell([rk.LSTMCell(5, use_peepholes=True, num_proj=3, input_size=3),
                        rk.GRUCell(4, input_size=3)])
with torch.no_grad():
    for p in cell.parameters():
        p.copy_(torch.randn(p.shape) * 0.5)
x = torch.from_numpy(np.load(sys.argv[1]))
outputs, _ = rk.dynamic_rnn(cell, x)
np.save(sys.argv[3], outputs.detach().numpy())
save_tf_checkpoint(cell, sys.argv[2])
"""


def round_trip_model(rnnkit_python: str) -> None:
    """An rnnkit model saved with save_tf_checkpoint, restored into the TF graph, predicts the same."""
    tmp = tempfile.mkdtemp(prefix="rnnkit-model-")
    try:
        x = np.random.default_rng(10).standard_normal((2, 6, 3)).astype(np.float32)
        np.save(os.path.join(tmp, "x.npy"), x)
        prefix = os.path.join(tmp, "ckpt", "model.ckpt")
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
        subprocess.run(
            [
                rnnkit_python,
                "-c",
                _MODEL_SCRIPT,
                os.path.join(tmp, "x.npy"),
                prefix,
                os.path.join(tmp, "out.npy"),
            ],
            check=True,
            env=env,
        )
        with tf.Graph().as_default():
            cell = rnn.MultiRNNCell(
                [rnn.LSTMCell(5, use_peepholes=True, num_proj=3), rnn.GRUCell(4)]
            )
            outputs, _ = tf.nn.dynamic_rnn(cell, tf.constant(x), dtype=tf.float32)
            with tf.Session() as sess:
                tf.train.Saver().restore(sess, prefix)
                tf_out = sess.run(outputs)
        diff = float(np.abs(tf_out - np.load(os.path.join(tmp, "out.npy"))).max())
        assert diff < 1e-5, diff
        print(
            f"round trip (model): rnnkit LSTMCell+GRUCell stack -> save_tf_checkpoint -> TF Saver.restore "
            f"-> dynamic_rnn outputs differ by {diff:.1e}"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
