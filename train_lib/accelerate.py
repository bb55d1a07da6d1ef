"""Mixed precision and XLA for training: `--mixed_precision` and `--xla`.

Both are what NVIDIA's TF1 SE-ResNeXt trainer uses on GPUs [1]; both leave
the model's variables, their names and the checkpoints as they are (a
checkpoint trained with either flag evaluates and fine-tunes without it).

Mixed precision is TensorFlow's automatic mixed-precision graph rewrite [2]
(Grappler's `auto_mixed_precision` pass, what
`tf.train.experimental.enable_mixed_precision_graph_rewrite` turns on) with
dynamic loss scaling:

* the optimizer is wrapped in `MixedPrecisionLossScaleOptimizer` with a
  'dynamic' loss scale: the loss is multiplied by the scale before the
  gradients are taken and the gradients divided by it after; a step whose
  gradients are not finite is skipped and halves the scale, 2000 finite steps
  in a row double it. The scale's two variables (`current_loss_scale`,
  `good_steps`) are global variables, so they are saved and resumed;
* the rewrite is switched on in this session's config only (not through the
  process-wide switch that `enable_mixed_precision_graph_rewrite` flips, so
  other sessions of the process are unaffected). It changes only ops placed on
  a GPU: convolutions and matmuls run in float16, the variables stay float32;
* batch norm statistics stay float32: the fused batch norm kernels take
  float16 activations but keep scale, offset, mean and variance in float32;
  the softmax cross-entropy, means and sums are on the rewrite's float32
  list, so SE's squeeze (a mean) is float32 too. SE's gate (the sigmoid) is
  added to that list here (`Sigmoid` is otherwise allowed float16), so the
  excitation is computed in float32 (the rewrite may then also keep the
  element-wise scale that consumes it in float32; not measured here, as this
  machine has no GPU);
* without a GPU nothing runs in float16; the flag still trains, with the
  real loss scaling, and one warning line says so.

XLA (`--xla`) JIT-compiles clusters of the training graph (session config
`global_jit_level=ON_1`). TensorFlow auto-clusters only GPU ops unless
`TF_XLA_FLAGS` has `--tf_xla_cpu_global_jit`, which `configure_session`
turns on for CPU runs (`enable_cpu_jit`); TF 1.15 reads that flag once per
process, at the first compilation pass, so it must be on before the
process's first session (the training script's only session is its
training one).

References:
  [1] NVIDIA DeepLearningExamples, TensorFlow SE-ResNeXt101-32x4d.
  [2] Micikevicius et al., Mixed Precision Training, arXiv:1710.03740.

Typical use:

    optimizer = accelerate.wrap_optimizer(optimizer, mixed_precision=True,
                                          num_gpus=num_local_gpus())
    session_config = tf.ConfigProto()
    accelerate.configure_session(session_config, mixed_precision=True,
                                 xla=True, num_gpus=0)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os

from absl import logging
import tensorflow.compat.v1 as tf
import tf_compat
from tensorflow.core.protobuf import rewriter_config_pb2

# Names of the dynamic loss scale's variables (tf.train.experimental's
# DynamicLossScale), which the checkpoint holds under the same names.
LOSS_SCALE_VARIABLES = ('current_loss_scale', 'good_steps')

# Ops added to the rewrite's always-float32 list: SE's gate. TF 1.15 reads
# the list from ..._BLACKLIST_ADD, TF 2.4+ from ..._DENYLIST_ADD; we set both
# names, which needs no runtime test (each runtime ignores the other's).
FLOAT32_OPS = ('Sigmoid',)
_FLOAT32_LIST_ENV = ('TF_AUTO_MIXED_PRECISION_GRAPH_REWRITE_BLACKLIST_ADD',
                     'TF_AUTO_MIXED_PRECISION_GRAPH_REWRITE_DENYLIST_ADD')

NO_GPU_WARNING = ('--mixed_precision: no GPU found, so nothing runs in '
                  'float16; training runs in float32 with dynamic loss '
                  'scaling')


def wrap_optimizer(optimizer, mixed_precision, num_gpus):
  """Adds dynamic loss scaling to `optimizer` for `--mixed_precision`.

  Args:
    optimizer: a `tf.train.Optimizer`.
    mixed_precision: whether `--mixed_precision` is on.
    num_gpus: GPUs of this process (0 logs the one-line warning).

  Returns:
    `optimizer` itself, or a `MixedPrecisionLossScaleOptimizer` around it.
  """
  if not mixed_precision:
    return optimizer
  if not num_gpus:
    logging.warning(NO_GPU_WARNING)
  _keep_float32(FLOAT32_OPS)
  return tf.train.experimental.MixedPrecisionLossScaleOptimizer(
      optimizer, loss_scale='dynamic')


def _keep_float32(op_types):
  """Adds `op_types` to the rewrite's float32 list (environment variables)."""
  for name in _FLOAT32_LIST_ENV:
    listed = [t for t in os.environ.get(name, '').split(',') if t]
    os.environ[name] = ','.join(listed + [t for t in op_types
                                          if t not in listed])


def configure_session(session_config, mixed_precision=False, xla=False,
                      num_gpus=0):
  """Turns the mixed-precision rewrite and XLA on in `session_config`.

  Args:
    session_config: a `tf.ConfigProto`, changed in place.
    mixed_precision: switch on Grappler's auto_mixed_precision pass.
    xla: JIT-compile the graph (global_jit_level ON_1).
    num_gpus: GPUs of this process; without one XLA needs the CPU JIT flag.

  Returns:
    `session_config`.
  """
  if mixed_precision:
    session_config.graph_options.rewrite_options.auto_mixed_precision = (
        rewriter_config_pb2.RewriterConfig.ON)
  if xla:
    session_config.graph_options.optimizer_options.global_jit_level = (
        tf.OptimizerOptions.ON_1)
    if not num_gpus:
      enable_cpu_jit()
  return session_config


def enable_cpu_jit():
  """Lets XLA auto-cluster CPU ops (`TF_XLA_FLAGS=--tf_xla_cpu_global_jit`).

  Call it before the process's first session: TF 1.15 reads the flag once,
  at the first compilation pass (`tf_compat.enable_xla_cpu_global_jit`).
  """
  tf_compat.enable_xla_cpu_global_jit()
