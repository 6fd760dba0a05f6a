"""``rk.contrib``: TF 1.15's ``tf.contrib.rnn`` and ``tf.contrib.cudnn_rnn`` under their TF spellings
(re-exports only), so ``tf.contrib.rnn.X`` ports as ``rk.contrib.rnn.X``."""

from . import cudnn_rnn, rnn

__all__ = ["rnn", "cudnn_rnn"]
