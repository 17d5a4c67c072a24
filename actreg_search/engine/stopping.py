"""Early stopping on each row's validation loss, inside a fused program: Keras' ``EarlyStopping`` per row.

:class:`RowStopping` keeps, for every row of a :class:`~actreg_search.engine.stacked.StackedLoop`,
what ``keras.callbacks.EarlyStopping(monitor="val_loss", patience, min_delta,
restore_best_weights=True)`` keeps for one model, and updates it after every
epoch the way its ``on_epoch_end`` does: an epoch improves when its
validation loss plus ``min_delta`` is below the best so far, which then
becomes the best, its values are kept and the wait restarts; otherwise the
wait grows, and a row whose wait has reached ``patience`` (after its first
epoch) stops. A stopped row's updates are masked from then on (its learning
rate is 0 and its moving averages are kept) while the program's other rows
go on, until the last one stops or the epochs run out. At the end every row
gets its best epoch's values back, as ``on_train_end`` restores them whether
or not the model stopped.

Written here rather than as a Keras callback: a callback runs between
``fit``'s epochs on one model, and the fused engine trains all rows' epochs in
one compiled program.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from actreg_search.spec.trial import EarlyStopping


class RowStopping:
    """Each row's early-stopping state, as variables of the program.

    Args:
        rule: The study's ``[model] early_stopping``.
        rows: Number of rows.
        variables: The program's stacked variables (weights, then the rest) whose best values are kept.
    """

    def __init__(self, rule: EarlyStopping, rows: int, variables: Sequence[keras.Variable]) -> None:
        self.rule = rule
        self.rows = rows
        self.variables = list(variables)
        self.best_loss = tf.Variable(np.full((rows,), np.inf, np.float32), trainable=False, name="rows_best_loss")
        self.wait = tf.Variable(np.zeros((rows,), np.int32), trainable=False, name="rows_wait")
        self.stopped = tf.Variable(np.zeros((rows,), bool), trainable=False, name="rows_stopped")
        self.best_epoch = tf.Variable(np.zeros((rows,), np.int32), trainable=False, name="rows_best_epoch")
        self.stop_epoch = tf.Variable(np.zeros((rows,), np.int32), trainable=False, name="rows_stop_epoch")
        self.best = [tf.Variable(np.zeros(v.shape, v.dtype), trainable=False) for v in self.variables]

    def reset(self) -> None:
        """A fresh training: nothing seen, nothing stopped, the loaded values the best so far."""
        self.best_loss.assign(np.full((self.rows,), np.inf, np.float32))
        self.wait.assign(np.zeros((self.rows,), np.int32))
        self.stopped.assign(np.zeros((self.rows,), bool))
        self.best_epoch.assign(np.zeros((self.rows,), np.int32))
        self.stop_epoch.assign(np.zeros((self.rows,), np.int32))
        for kept, variable in zip(self.best, self.variables):
            kept.assign(variable.numpy())

    def running(self) -> tf.Tensor:
        """Traced: whether any row still trains."""
        return tf.logical_not(tf.reduce_all(self.stopped))

    def live(self) -> tf.Tensor:
        """Traced: ``(rows,)`` 1.0 for a row that still trains, 0.0 for a stopped one."""
        return 1.0 - tf.cast(self.stopped, tf.float32)

    def watch(self, epoch: tf.Tensor, losses: tf.Tensor) -> None:
        """Traced after the 0-based ``epoch``: each row's validation loss ``losses`` (``(rows,)``) seen, as
        ``EarlyStopping.on_epoch_end`` sees it (a stopped row is left as it is)."""
        active = tf.logical_not(self.stopped)
        wait = tf.where(active, self.wait + 1, self.wait)
        improved = active & (losses + self.rule.min_delta < self.best_loss)
        self.best_loss.assign(tf.where(improved, losses, self.best_loss))
        self.best_epoch.assign(tf.where(improved, tf.cast(epoch, tf.int32) + 1, self.best_epoch))
        wait = tf.where(improved, 0, wait)
        self.wait.assign(wait)
        stop = active & ~improved & (wait >= self.rule.patience) & (epoch > 0)
        self.stopped.assign(self.stopped | stop)
        self.stop_epoch.assign(tf.where(stop, tf.cast(epoch, tf.int32) + 1, self.stop_epoch))
        for kept, variable in zip(self.best, self.variables):
            mask = tf.reshape(improved, [-1, *([1] * (len(variable.shape) - 1))])
            kept.assign(tf.where(mask, variable.value, kept))

    def restore(self) -> None:
        """Every row's best epoch's values back into the program's variables (``on_train_end``)."""
        for kept, variable in zip(self.best, self.variables):
            variable.assign(kept.numpy())

    def epochs(self, trained: int) -> tuple[list[int], list[int]]:
        """Each row's last trained epoch (``trained`` where it never stopped) and the epoch whose values it kept (1-based)."""
        stops = self.stop_epoch.numpy()
        return [int(s) if s else trained for s in stops], [int(b) for b in self.best_epoch.numpy()]

    def masked(self, trained: int) -> int:
        """Row-epochs the program ran with a row already stopped, over ``trained`` epochs."""
        return int(sum(trained - int(s) for s in self.stop_epoch.numpy() if s))


__all__ = ["RowStopping"]
