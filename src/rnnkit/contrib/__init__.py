"""``rk.contrib``: TF 1.15's ``tf.contrib.rnn``, ``tf.contrib.cudnn_rnn``, ``tf.contrib.seq2seq`` and
``tf.contrib.legacy_seq2seq`` under their TF spellings (re-exports only), so ``tf.contrib.rnn.X`` ports as
``rk.contrib.rnn.X``. ``seq2seq`` and ``legacy_seq2seq`` are ``rk.seq2seq`` and ``rk.legacy_seq2seq`` themselves."""

from .. import legacy_seq2seq, seq2seq
from . import cudnn_rnn, rnn

__all__ = ["rnn", "cudnn_rnn", "seq2seq", "legacy_seq2seq"]
