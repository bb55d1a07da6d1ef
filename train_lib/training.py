"""Training an image classifier the way TF-Slim does, on tf.data and hooks.

`train(TrainConfig(...))` is what `train_image_classifier.py` runs. It keeps
Slim's behaviour (flag names and defaults in `TrainConfig`):

* loss: softmax cross-entropy (with label smoothing) on the logits, plus 0.4x
  the same on 'AuxLogits' when the model has them; regularization losses on
  the first clone; the first clone's UPDATE_OPS (batch norm); the train op is
  named 'train_op' and evaluates to 'total_loss';
* learning rate: fixed, exponential (staircase) or polynomial decay with
  `decay_steps = int(num_samples / batch_size [/ replicas_to_aggregate] *
  num_epochs_per_decay)`, optional linear warm-up;
* Slim's seven optimizers (one table, `optimizers`),
  `SyncReplicasOptimizer`, moving averages, `trainable_scopes`,
  warm-starting with `checkpoint_exclude_scopes` and `ignore_missing_vars`
  (see `finetune`).

It replaces Slim's queue runners with a `tf.data` pipeline and Slim's
`learning.train` with a `MonitoredSession` and hooks, which also give:

* resume from the latest checkpoint of `train_dir`, and a loadable
  checkpoint at every moment (TF writes checkpoints to temporary files and
  renames them), so SIGKILL loses only the steps since the last save;
* a NaN/Inf loss stops training with `TrainingDivergedError`, and no
  checkpoint holding a non-finite variable is ever written;
* every `log_every_n_steps` a line `step N: loss=..., lr=..., sec/step,
  images/s`, and TensorBoard summaries of losses, learning rate,
  activations, variables and the SE excitations;
* clones on the CPU when the machine has no GPU, and a one-line error when
  more GPU clones are asked for than there are GPUs;
* `--ps_hosts/--worker_hosts/--job_name` start a `tf.train.Server` in-process;
* `--mixed_precision` and `--xla` (see `accelerate`), and Horovod with
  `--distribution=horovod` (see `hvd`), each hooked in at a few marked lines.

`train()` runs a few named stages: `_check_and_build_inputs` (every check,
and the dataset, network and preprocessing functions, built once),
`_build_graph`, `_warm_start`, `_hooks` and `_run_session`; what it shares
with evaluation and export (the factories and their errors, the choice of
preprocessing, atomic writes) is in `common`.

Typical use:

    from train_lib import training

    training.train(training.TrainConfig(
        train_dir='/tmp/se_resnet', dataset_name='digits',
        dataset_dir='/tmp/digits', model_name='resnet_v1_50',
        attention_module='se_block', train_image_size=32, batch_size=8,
        max_number_of_steps=100))
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import dataclasses
import os
import time
import typing

from absl import logging
import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from datasets import input_pipeline
from deployment import model_deploy
from nets import attention
from train_lib import accelerate
from train_lib import checkpoints
from train_lib import common
from train_lib import errors
from train_lib import finetune
from train_lib import flag_groups
from train_lib import hvd
from train_lib import locking
from train_lib import optimizers
from train_lib import schedule

FLAGS_FILENAME = 'flags.txt'


@dataclasses.dataclass
class TrainConfig(object):
  """Everything `train()` needs, as plain values (Slim's flag defaults)."""
  # Deployment.
  master: str = ''
  num_clones: int = 1
  clone_on_cpu: bool = False
  worker_replicas: int = 1
  num_ps_tasks: int = 0
  task: int = 0
  ps_hosts: typing.Sequence[str] = ()
  worker_hosts: typing.Sequence[str] = ()
  job_name: typing.Optional[str] = None
  # Logging and checkpoints.
  train_dir: str = '/tmp/tfmodel/'
  log_every_n_steps: int = 10
  save_summaries_secs: float = 600
  save_interval_secs: float = 600
  # Optimization.
  weight_decay: float = 0.00004
  batch_norm_decay: typing.Optional[float] = None
  random_seed: typing.Optional[int] = None
  optimizer: str = 'rmsprop'
  adadelta_rho: float = 0.95
  adagrad_initial_accumulator_value: float = 0.1
  adam_beta1: float = 0.9
  adam_beta2: float = 0.999
  opt_epsilon: float = 1.0
  ftrl_learning_rate_power: float = -0.5
  ftrl_initial_accumulator_value: float = 0.1
  ftrl_l1: float = 0.0
  ftrl_l2: float = 0.0
  momentum: float = 0.9
  rmsprop_momentum: float = 0.9
  rmsprop_decay: float = 0.9
  quantize_delay: int = -1
  max_number_of_steps: typing.Optional[int] = None
  # Learning rate.
  learning_rate_decay_type: str = 'exponential'
  learning_rate: float = 0.01
  end_learning_rate: float = 0.0001
  label_smoothing: float = 0.0
  learning_rate_decay_factor: float = 0.94
  num_epochs_per_decay: float = 2.0
  warmup_epochs: float = 0
  sync_replicas: bool = False
  replicas_to_aggregate: int = 1
  moving_average_decay: typing.Optional[float] = None
  # Dataset.
  dataset_name: str = 'imagenet'
  dataset_split_name: str = 'train'
  dataset_dir: typing.Optional[str] = None
  labels_offset: int = 0
  preprocessing_name: typing.Optional[str] = None
  batch_size: int = 32
  train_image_size: typing.Optional[int] = None
  use_grayscale: bool = False
  num_readers: int = 4
  num_preprocessing_threads: int = 4
  skip_bad_records: bool = False
  # Model and attention.
  model_name: str = 'inception_v3'
  attention_module: typing.Optional[str] = None
  reduction_ratio: int = attention.DEFAULT_REDUCTION_RATIO
  attention_position: str = attention.STANDARD
  # Fine-tuning.
  checkpoint_path: typing.Optional[str] = None
  checkpoint_exclude_scopes: typing.Optional[str] = None
  trainable_scopes: typing.Optional[str] = None
  ignore_missing_vars: bool = False
  attention_identity_init: bool = False
  # Acceleration (train_lib/accelerate.py).
  mixed_precision: bool = False
  xla: bool = False
  # Horovod (train_lib/hvd.py).
  distribution: str = 'clones'
  horovod_lr_scaling: str = 'linear'
  # Not flags: the resolved flags to write to train_dir/flags.txt, and extra
  # keyword arguments for the network builder (e.g. {'depth_multiplier':
  # 0.25} for small test models).
  flags_text: typing.Optional[str] = flag_groups.not_a_flag()
  network_kwargs: typing.Optional[dict] = flag_groups.not_a_flag()


TrainResult = dict  # {'global_step': int, 'loss': float, 'checkpoint': str}


# ---------------------------------------------------------------------------
# Learning rate, optimizer, variables to train.
# ---------------------------------------------------------------------------


def learning_rate_decay_steps(num_samples_per_epoch, batch_size,
                              num_epochs_per_decay, sync_replicas=False,
                              replicas_to_aggregate=1):
  """Returns `(steps_per_epoch, decay_steps)` as Slim computes them.

  Steps count one clone's batches, so with several clones each clone goes
  over `num_epochs_per_decay` epochs per decay (Slim's behaviour); with sync
  replicas a step aggregates `replicas_to_aggregate` batches.
  """
  steps_per_epoch = num_samples_per_epoch / batch_size
  if sync_replicas:
    steps_per_epoch /= replicas_to_aggregate
  return steps_per_epoch, int(steps_per_epoch * num_epochs_per_decay)


def configure_learning_rate(global_step, num_samples_per_epoch, batch_size,
                            learning_rate=0.01,
                            learning_rate_decay_type='exponential',
                            learning_rate_decay_factor=0.94,
                            num_epochs_per_decay=2.0,
                            end_learning_rate=0.0001, warmup_epochs=0,
                            sync_replicas=False, replicas_to_aggregate=1):
  """Returns the learning-rate tensor of Slim's schedules.

  Args:
    global_step: the global step tensor.
    num_samples_per_epoch: samples in the training split.
    batch_size: batch per clone.
    learning_rate: initial learning rate.
    learning_rate_decay_type: 'fixed', 'exponential' or 'polynomial'.
    learning_rate_decay_factor: exponential decay factor (staircase).
    num_epochs_per_decay: epochs per decay period.
    end_learning_rate: final rate of polynomial decay (power 1, no cycle).
    warmup_epochs: linear warm-up from 0 over this many epochs.
    sync_replicas: whether updates aggregate `replicas_to_aggregate` batches.
    replicas_to_aggregate: batches per synchronous update.

  Returns:
    A scalar float32 tensor.

  Raises:
    errors.UserError: for an unknown decay type, or a decaying schedule whose
      decay period is shorter than one step.
  """
  steps_per_epoch, decay_steps = learning_rate_decay_steps(
      num_samples_per_epoch, batch_size, num_epochs_per_decay, sync_replicas,
      replicas_to_aggregate)
  if learning_rate_decay_type not in ('fixed', 'exponential', 'polynomial'):
    raise errors.UserError(
        'Unknown learning_rate_decay_type %r; expected one of: exponential, '
        'fixed, polynomial' % (learning_rate_decay_type,))
  if learning_rate_decay_type != 'fixed' and decay_steps < 1:
    raise errors.UserError(
        'The learning rate would decay every %d steps (%d samples / batch %d '
        'x %g epochs per decay); raise --num_epochs_per_decay or use '
        '--learning_rate_decay_type=fixed' %
        (decay_steps, num_samples_per_epoch, batch_size, num_epochs_per_decay))
  if learning_rate_decay_type == 'exponential':
    lr = tf.train.exponential_decay(
        learning_rate, global_step, decay_steps, learning_rate_decay_factor,
        staircase=True, name='exponential_decay_learning_rate')
  elif learning_rate_decay_type == 'fixed':
    lr = tf.constant(learning_rate, name='fixed_learning_rate')
  else:
    lr = tf.train.polynomial_decay(
        learning_rate, global_step, decay_steps, end_learning_rate, power=1.0,
        cycle=False, name='polynomial_decay_learning_rate')
  if warmup_epochs:
    warmup_lr = (learning_rate * tf.cast(global_step, tf.float32) /
                 (steps_per_epoch * warmup_epochs))
    lr = tf.minimum(warmup_lr, lr)
  return lr


def configure_optimizer(learning_rate, optimizer='rmsprop', **hparams):
  """Returns Slim's optimizer `optimizer` (see `train_lib/optimizers.py`).

  Args:
    learning_rate: a float or scalar tensor.
    optimizer: one of `optimizers.names()`.
    **hparams: values of the optimizer flags (`TrainConfig` fields such as
      `adam_beta1`, `opt_epsilon`); unset ones take `TrainConfig`'s default.

  Returns:
    A `tf.train.Optimizer`.

  Raises:
    errors.UserError: for an unknown optimizer name (listing the valid ones).
    TypeError: for a keyword that is no `TrainConfig` field.
  """
  return optimizers.build(optimizer, learning_rate,
                          dataclasses.replace(TrainConfig(), **hparams))


def variables_to_train(trainable_scopes=None):
  """Trainable variables, restricted to `trainable_scopes` (comma list)."""
  scopes = finetune.parse_scopes(trainable_scopes)
  if not scopes:
    return tf.trainable_variables()
  result = []
  for scope in scopes:
    result.extend(tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope))
  if not result:
    raise errors.UserError('--trainable_scopes=%s matches no trainable '
                           'variable' % trainable_scopes)
  return result


# ---------------------------------------------------------------------------
# Devices and cluster.
# ---------------------------------------------------------------------------


def num_local_gpus():
  """Number of GPUs TensorFlow sees on this machine."""
  return len(tf.config.experimental.list_physical_devices('GPU'))


def resolve_clone_on_cpu(num_clones, clone_on_cpu, num_gpus):
  """Decides where clones go given the machine's GPUs.

  Returns:
    True to put the clones on the CPU: when asked, or when there is no GPU.

  Raises:
    errors.UserError: if more GPU clones are asked for than there are GPUs.
  """
  if clone_on_cpu:
    return True
  if num_gpus == 0:
    return True
  if num_clones > num_gpus:
    raise errors.UserError(
        '--num_clones=%d needs %d GPUs but this machine has %d; lower '
        '--num_clones or pass --clone_on_cpu' % (num_clones, num_clones,
                                                 num_gpus))
  return False


def cluster_spec(ps_hosts, worker_hosts):
  """Returns the `tf.train.ClusterSpec` of the hosts, or None if none."""
  ps_hosts = [h for h in ps_hosts or () if h]
  worker_hosts = [h for h in worker_hosts or () if h]
  if not ps_hosts and not worker_hosts:
    return None
  jobs = {'worker': worker_hosts}
  if ps_hosts:
    jobs['ps'] = ps_hosts
  return tf.train.ClusterSpec(jobs)


def _resolve_cluster(config):
  """Checks the cluster flags; returns the config with replicas filled in."""
  cluster = cluster_spec(config.ps_hosts, config.worker_hosts)
  if cluster is None:
    if config.job_name:
      raise errors.UserError('--job_name=%s needs --worker_hosts (and '
                             '--ps_hosts)' % config.job_name)
    return config, None
  if not config.job_name:
    raise errors.UserError('--ps_hosts/--worker_hosts need --job_name '
                           '(one of: ps, worker)')
  num_workers = len(cluster.job_tasks('worker'))
  num_ps = len(cluster.job_tasks('ps')) if 'ps' in cluster.jobs else 0
  if not num_workers:
    raise errors.UserError('--worker_hosts is empty')
  tasks = num_ps if config.job_name == 'ps' else num_workers
  if config.task >= tasks:
    raise errors.UserError('--task=%d is out of range for %d %s hosts' %
                           (config.task, tasks, config.job_name))
  if config.worker_replicas not in (1, num_workers):
    raise errors.UserError('--worker_replicas=%d disagrees with the %d '
                           '--worker_hosts' % (config.worker_replicas,
                                               num_workers))
  if config.num_ps_tasks not in (0, num_ps):
    raise errors.UserError('--num_ps_tasks=%d disagrees with the %d '
                           '--ps_hosts' % (config.num_ps_tasks, num_ps))
  if num_workers > 1 and not num_ps:
    raise errors.UserError('%d workers need at least one --ps_hosts entry' %
                           num_workers)
  config = dataclasses.replace(config, worker_replicas=num_workers,
                               num_ps_tasks=num_ps)
  return config, cluster


def _validate(config):
  """Raises `errors.UserError` for settings that cannot work."""
  if config.quantize_delay is not None and config.quantize_delay >= 0:
    raise errors.UserError(
        'quantized training (--quantize_delay) needs tf.contrib.quantize, '
        'which TensorFlow 1.15 without contrib does not have')
  if not config.dataset_dir:
    raise errors.UserError('--dataset_dir is required')
  optimizers.check_name(config.optimizer)
  if not config.learning_rate > 0:
    raise errors.UserError('--learning_rate=%r must be > 0' %
                           (config.learning_rate,))
  if not 0 <= config.label_smoothing < 1:
    raise errors.UserError('--label_smoothing=%r must be in [0, 1)' %
                           (config.label_smoothing,))
  if config.sync_replicas and config.replicas_to_aggregate > (
      config.worker_replicas):
    raise errors.UserError(
        '--replicas_to_aggregate=%d exceeds --worker_replicas=%d' %
        (config.replicas_to_aggregate, config.worker_replicas))
  if config.mixed_precision and config.sync_replicas:
    # The loss-scale optimizer would put SyncReplicasOptimizer's token
    # queue under a tf.cond that skips non-finite steps.
    raise errors.UserError('--mixed_precision does not combine with '
                           '--sync_replicas')


# ---------------------------------------------------------------------------
# Hooks.
# ---------------------------------------------------------------------------


class _DivergenceHook(tf.train.SessionRunHook):
  """Stops training with `TrainingDivergedError` on a NaN or Inf loss.

  It must come before the checkpoint hook, so that the step that produced
  the bad loss is never saved.
  """

  def __init__(self, loss, global_step, train_dir):
    self._loss = loss
    self._global_step = global_step
    self._train_dir = train_dir

  def before_run(self, run_context):
    return tf.train.SessionRunArgs([self._loss, self._global_step])

  def after_run(self, run_context, run_values):
    loss, step = run_values.results
    if not np.isfinite(loss):
      latest = tf.train.latest_checkpoint(self._train_dir)
      raise errors.TrainingDivergedError(
          'Training diverged: loss is %s at step %d. Nothing from this step '
          'was saved; the latest checkpoint is %s. Lower --learning_rate (or '
          'check the data), then re-run to resume from it.' %
          (loss, step, latest or 'none'))


class _FiniteVariablesListener(tf.train.CheckpointSaverListener):
  """Refuses to save a checkpoint holding a NaN or Inf variable."""

  def __init__(self, variables, train_dir):
    self._names = [v.op.name for v in variables]
    with tf.name_scope('finite_check'):
      self._finite = tf.stack(
          [tf.reduce_all(tf.is_finite(v)) for v in variables]) if variables \
          else tf.constant([], tf.bool)
    self._train_dir = train_dir

  def before_save(self, session, global_step_value):
    finite = session.run(self._finite)
    if not np.all(finite):
      bad = [n for n, ok in zip(self._names, finite) if not ok]
      latest = tf.train.latest_checkpoint(self._train_dir)
      raise errors.TrainingDivergedError(
          'Training diverged: %d variables hold NaN or Inf at step %d (first: '
          '%s); not saving them. The latest checkpoint is %s. Lower '
          '--learning_rate, then re-run to resume from it.' %
          (len(bad), global_step_value, bad[0], latest or 'none'))


class _CheckpointSaverHook(tf.train.CheckpointSaverHook):
  """`CheckpointSaverHook` without the text `graph.pbtxt`.

  The stock hook writes the whole graph as text at start, which takes longer
  than many training steps for a large model; the graph still goes to the
  event file (TensorBoard's graph tab) and to each checkpoint's `.meta`.
  """

  def after_create_session(self, session, coord):
    global_step = session.run(self._global_step_tensor)
    self._summary_writer.add_graph(tf.get_default_graph())
    # The checkpoint saved here is the state at step `global_step`.
    self._save(session, global_step)
    self._timer.update_last_triggered_step(global_step)


class _ProgressHook(tf.train.SessionRunHook):
  """Logs step, loss, learning rate, sec/step and images/s every n steps."""

  def __init__(self, step_after, loss, learning_rate, every_n_steps,
               images_per_step):
    self._fetches = [step_after, loss, learning_rate]
    self._every_n = every_n_steps
    self._images_per_step = images_per_step
    self._last_time = None
    self._last_step = None
    self.last_step = None

  def before_run(self, run_context):
    if self._last_time is None:
      self._last_time = time.time()
    return tf.train.SessionRunArgs(self._fetches)

  def after_run(self, run_context, run_values):
    step, loss, lr = run_values.results
    self.last_step = int(step)
    if self._last_step is None:
      self._last_step = step - 1
    if step % self._every_n == 0:
      now = time.time()
      steps = max(step - self._last_step, 1)
      sec_per_step = (now - self._last_time) / steps
      logging.info('step %d: loss = %.4f, lr = %.6g, %.3f sec/step, %.1f '
                   'images/s', step, loss, lr, sec_per_step,
                   self._images_per_step / max(sec_per_step, 1e-9))
      self._last_time = now
      self._last_step = step


# ---------------------------------------------------------------------------
# Graph.
# ---------------------------------------------------------------------------


def _add_summaries(end_points, first_clone_scope, learning_rate):
  """Adds Slim's summaries plus one histogram per attention gate."""
  for name, tensor in end_points.items():
    if attention.is_gate_end_point(name):
      tf.summary.histogram(attention.gate_summary_tag(name), tensor)
    else:
      tf.summary.histogram('activations/' + name, tensor)
      tf.summary.scalar('sparsity/' + name, tf.nn.zero_fraction(tensor))
  for loss in tf.get_collection(tf.GraphKeys.LOSSES, first_clone_scope):
    tf.summary.scalar('losses/%s' % loss.op.name, loss)
  for variable in slim.get_model_variables():
    tf.summary.histogram('variables/' + variable.op.name, variable)
  tf.summary.scalar('learning_rate', learning_rate)


def make_train_dir(train_dir):
  """Creates `train_dir` if needed; raises `UserError` if it cannot be used."""
  if '://' in train_dir:
    tf.gfile.MakeDirs(train_dir)
    return
  parent = train_dir
  while parent and not os.path.exists(parent):
    parent = os.path.dirname(parent.rstrip(os.sep))
  if parent and not os.path.isdir(parent):
    raise errors.UserError('--train_dir=%s: %s is a file, not a directory' %
                           (train_dir, parent))
  try:
    os.makedirs(train_dir, exist_ok=True)
  except OSError as e:
    raise errors.UserError('--train_dir=%s cannot be created: %s' %
                           (train_dir, e.strerror or e))
  if not os.access(train_dir, os.W_OK | os.X_OK):
    raise errors.UserError('--train_dir=%s is not writable' % train_dir)


# ---------------------------------------------------------------------------
# The stages of train(), in order.
# ---------------------------------------------------------------------------

_Inputs = collections.namedtuple('_Inputs', [
    'replica',  # hvd.Replica, or None unless --distribution=horovod
    'cluster',  # tf.train.ClusterSpec of --ps_hosts/--worker_hosts, or None
    'dataset',  # the DatasetSplit (None for a parameter server)
    'train_split',  # the part of it this process reads (a Horovod shard)
    'num_classes',  # dataset classes - labels_offset
    'network_fn',  # builds the model in training mode, with weight decay
    'preprocess_fn',  # training preprocessing
])

_Model = collections.namedtuple('_Model', [
    'global_step',  # the global step variable
    'total_loss',  # scalar: the clones' losses plus regularization
    'train_tensor',  # runs one step; evaluates to total_loss ('train_op')
    'step_after',  # the global step after the step ('step_after')
    'learning_rate',  # scalar tensor
    'optimizer',  # the (wrapped) optimizer; SyncReplicasOptimizer has a hook
    'summary_op',  # every summary, merged
])


def _check_and_build_inputs(config):
  """Stage 1: checks `config`; builds the dataset, network and preprocessing.

  Every setting that can be wrong is checked here, before the training
  directory, its lock, a server or a graph exists, so that a bad setting is
  the only line the user sees. The network and preprocessing functions build
  nothing until they are called, so the ones made here are the ones
  `_build_graph` uses.

  Args:
    config: a `TrainConfig`.

  Returns:
    `(config, inputs)`: the config with the cluster sizes filled in and
    Horovod's learning-rate scaling applied, and an `_Inputs` (with no
    dataset, network or preprocessing for a parameter server, which reads no
    data).

  Raises:
    errors.UserError: for settings that cannot work.
  """
  # Horovod: None unless --distribution=horovod (train_lib/hvd.py).
  replica = hvd.start(config.distribution)
  if replica:
    config = replica.resolve_config(config, config.horovod_lr_scaling)
  config, cluster = _resolve_cluster(config)
  _validate(config)
  if config.job_name == 'ps':
    return config, _Inputs(replica, cluster, None, None, 0, None, None)
  dataset = common.get_dataset(config.dataset_name, config.dataset_split_name,
                               config.dataset_dir)
  num_classes = common.num_classes_after_offset(dataset.num_classes,
                                                config.labels_offset)
  network_fn = common.build_network_fn(
      config.model_name, num_classes, weight_decay=config.weight_decay,
      is_training=True, attention_module=config.attention_module,
      reduction_ratio=config.reduction_ratio,
      batch_norm_decay=config.batch_norm_decay,
      attention_position=config.attention_position)
  preprocess_fn = common.get_preprocessing(
      common.preprocessing_name(config.model_name, config.preprocessing_name),
      is_training=True, use_grayscale=config.use_grayscale)
  train_split = replica.shard(dataset) if replica else dataset
  return config, _Inputs(replica, cluster, dataset, train_split, num_classes,
                         network_fn, preprocess_fn)


def _checkpoint_to_resume(train_dir, is_chief):
  """The checkpoint of `train_dir` to resume from, or None to start afresh.

  The chief (holding the lock) first removes what killed saves left, then
  takes the newest checkpoint that reads back whole; other workers take
  the latest the chief wrote.
  """
  if is_chief:
    checkpoints.remove_stale_temp_dirs(train_dir)
    return checkpoints.restorable(train_dir)
  return tf.train.latest_checkpoint(train_dir)


def _build_clones(config, inputs, deploy_config):
  """The input pipeline and `num_clones` clones of the model and its losses.

  Returns:
    The clones of `model_deploy.create_clones`; each one's outputs are its
    end points.
  """
  image_size = config.train_image_size or inputs.network_fn.default_image_size
  with tf.device(deploy_config.inputs_device()):
    ds = input_pipeline.build_dataset(
        inputs.train_split, inputs.preprocess_fn, config.batch_size,
        image_size, is_training=True, num_readers=config.num_readers,
        num_preprocessing_threads=config.num_preprocessing_threads,
        labels_offset=config.labels_offset,
        skip_bad_records=config.skip_bad_records, seed=config.random_seed)
    iterator = tf.data.make_one_shot_iterator(ds)

  def clone_fn():
    """One clone: its own batch, the network and its losses."""
    with tf.device(deploy_config.inputs_device()):
      images, labels = iterator.get_next()  # [batch, size, size, C], [batch]
    logits, end_points = common.call_network(
        inputs.network_fn, images, config.network_kwargs, config.model_name,
        image_size)
    onehot = tf.one_hot(labels, inputs.num_classes)
    if 'AuxLogits' in end_points:
      tf.losses.softmax_cross_entropy(
          onehot, end_points['AuxLogits'],
          label_smoothing=config.label_smoothing, weights=0.4,
          scope='aux_loss')
    tf.losses.softmax_cross_entropy(
        onehot, logits, label_smoothing=config.label_smoothing, weights=1.0)
    return end_points

  return model_deploy.create_clones(deploy_config, clone_fn)


def _learning_rate_and_optimizer(config, global_step, num_samples):
  """Logs the schedule; returns Slim's learning rate and `--optimizer`."""
  schedule.log(schedule.describe(
      num_samples, config.batch_size, config.num_clones,
      config.num_epochs_per_decay, config.warmup_epochs,
      config.max_number_of_steps, config.sync_replicas,
      config.replicas_to_aggregate), config.learning_rate_decay_type,
               config.num_epochs_per_decay, config.warmup_epochs)
  learning_rate = configure_learning_rate(
      global_step, num_samples, config.batch_size,
      learning_rate=config.learning_rate,
      learning_rate_decay_type=config.learning_rate_decay_type,
      learning_rate_decay_factor=config.learning_rate_decay_factor,
      num_epochs_per_decay=config.num_epochs_per_decay,
      end_learning_rate=config.end_learning_rate,
      warmup_epochs=config.warmup_epochs,
      sync_replicas=config.sync_replicas,
      replicas_to_aggregate=config.replicas_to_aggregate)
  return learning_rate, optimizers.build(config.optimizer, learning_rate,
                                         config)


def _build_graph(config, inputs, clone_on_cpu, num_gpus):
  """Stage 2: the training graph (in the default graph).

  Clones of the model on their own batches, their losses, the moving
  averages, the learning rate and optimizer (wrapped for sync replicas,
  `--mixed_precision` and Horovod, in that order), the train op and the
  summaries.

  Returns:
    A `_Model`.
  """
  if config.random_seed is not None:
    tf.set_random_seed(config.random_seed)
  deploy_config = model_deploy.DeploymentConfig(
      num_clones=config.num_clones, clone_on_cpu=clone_on_cpu,
      replica_id=config.task, num_replicas=config.worker_replicas,
      num_ps_tasks=config.num_ps_tasks)
  with tf.device(deploy_config.variables_device()):
    global_step = tf.train.get_or_create_global_step()

  clones = _build_clones(config, inputs, deploy_config)
  first_clone_scope = clones[0].scope
  update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, first_clone_scope)

  if config.moving_average_decay:
    moving_average_variables = slim.get_model_variables()
    variable_averages = tf.train.ExponentialMovingAverage(
        config.moving_average_decay, global_step)
  else:
    moving_average_variables, variable_averages = None, None

  with tf.device(deploy_config.optimizer_device()):
    learning_rate, optimizer = _learning_rate_and_optimizer(
        config, global_step, inputs.dataset.num_samples)
  if config.sync_replicas:
    # The chief's queue runner applies the moving averages.
    optimizer = tf.train.SyncReplicasOptimizer(
        opt=optimizer, replicas_to_aggregate=config.replicas_to_aggregate,
        total_num_replicas=config.worker_replicas,
        variable_averages=variable_averages,
        variables_to_average=moving_average_variables)
  elif config.moving_average_decay:
    update_ops.append(variable_averages.apply(moving_average_variables))
  # Dynamic loss scaling for --mixed_precision (train_lib/accelerate.py).
  optimizer = accelerate.wrap_optimizer(optimizer, config.mixed_precision,
                                        num_gpus)
  if inputs.replica:  # Gradients averaged over the Horovod ranks.
    optimizer = inputs.replica.wrap_optimizer(optimizer)

  total_loss, clones_gradients = model_deploy.optimize_clones(
      clones, optimizer, var_list=variables_to_train(config.trainable_scopes))
  grad_updates = optimizer.apply_gradients(clones_gradients,
                                           global_step=global_step)
  update_ops.append(grad_updates)
  update_op = tf.group(*update_ops)
  with tf.control_dependencies([update_op]):
    train_tensor = tf.identity(total_loss, name='train_op')
    step_after = tf.identity(global_step.read_value(), name='step_after')

  _add_summaries(clones[0].outputs, first_clone_scope, learning_rate)
  tf.summary.scalar('losses/total_loss', total_loss)
  return _Model(global_step, total_loss, train_tensor, step_after,
                learning_rate, optimizer, tf.summary.merge_all())


def _warm_start(config, restore_from, is_chief):
  """Stage 3: checks the checkpoint to resume from, or plans the warm start.

  A checkpoint in `train_dir` wins: it must hold every variable of this
  graph (else the flags changed since it was written), and
  `--checkpoint_path` is then ignored. Without one, the chief warm-starts
  the model variables from `--checkpoint_path` and/or starts the attention
  gates near identity (`train_lib/finetune.py`).

  Must run in the training graph, after `_build_graph`.

  Returns:
    `init_fn(session)` for the scaffold, or None.

  Raises:
    errors.UserError: the checkpoint does not fit the model.
  """
  if restore_from:
    logging.info('Resuming from %s', restore_from)
    checkpoints.check_variables(
        tf.global_variables(), restore_from, 'resume',
        hint=' (check --model_name, --attention_module, --dataset_name, '
        '--labels_offset and --optimizer against %s, or use a new '
        '--train_dir)' % os.path.join(config.train_dir, FLAGS_FILENAME))
    if config.checkpoint_path:
      logging.info('Ignoring --checkpoint_path=%s because %s already has a '
                   'checkpoint', config.checkpoint_path, config.train_dir)
    return None
  if not is_chief or not (config.checkpoint_path or
                          config.attention_identity_init):
    return None
  plan = None
  if config.checkpoint_path:
    plan = finetune.plan_warm_start(
        slim.get_model_variables(), config.checkpoint_path,
        exclude_scopes=config.checkpoint_exclude_scopes,
        ignore_missing_vars=config.ignore_missing_vars)
    logging.info(finetune.plan_summary(plan))
  return finetune.make_init_fn(
      plan, identity_init=config.attention_identity_init,
      variables=slim.get_model_variables(), log_fn=logging.info)


def _scaffold(init_fn, summary_op):
  """The session scaffold: the warm start, the saver, the summaries."""
  saver = tf.train.Saver(sharded=True, max_to_keep=5,
                         keep_checkpoint_every_n_hours=10000.0,
                         save_relative_paths=True)
  return tf.train.Scaffold(
      init_fn=(lambda _, sess: init_fn(sess)) if init_fn else None,
      saver=saver, summary_op=summary_op)


def _hooks(config, replica, model, scaffold, is_chief):
  """Stage 4: the session hooks, in the order they must run.

  Horovod's broadcast, sync replicas, the step limit, the NaN guard (before
  the checkpoint hook, so a diverged step is never saved), the progress
  lines, and on the chief the summaries and the checkpoints (refusing to
  save a non-finite variable).

  Returns:
    `(hooks, progress)`; `progress.last_step` is the last step run.
  """
  images_per_step = config.batch_size * config.num_clones
  hooks = []
  if replica:  # Every rank starts from rank 0's variables.
    hooks.extend(replica.hooks())
    images_per_step *= replica.size
  if config.sync_replicas:
    hooks.append(model.optimizer.make_session_run_hook(is_chief))
  if config.max_number_of_steps:
    hooks.append(tf.train.StopAtStepHook(
        last_step=config.max_number_of_steps))
  # With Horovod the guard watches the ranks' mean loss, so that all of
  # them stop at the same step.
  hooks.append(_DivergenceHook(
      replica.average(model.total_loss) if replica else model.total_loss,
      model.global_step, config.train_dir))
  progress = _ProgressHook(model.step_after, model.total_loss,
                           model.learning_rate, config.log_every_n_steps,
                           images_per_step)
  hooks.append(progress)
  if is_chief:
    hooks.append(tf.train.SummarySaverHook(
        save_secs=config.save_summaries_secs, output_dir=config.train_dir,
        scaffold=scaffold))
    float_vars = [v for v in tf.global_variables()
                  if v.dtype.base_dtype.is_floating]
    hooks.append(_CheckpointSaverHook(
        config.train_dir, save_secs=config.save_interval_secs,
        scaffold=scaffold,
        listeners=[_FiniteVariablesListener(float_vars, config.train_dir)]))
  return hooks, progress


def _session_config(config, replica, server, num_gpus):
  """The session's ConfigProto: placement, acceleration, Horovod's GPU.

  Raises:
    errors.UserError: a Horovod rank without a GPU of its own.
  """
  session_config = tf.ConfigProto(allow_soft_placement=True)
  accelerate.configure_session(session_config, config.mixed_precision,
                               config.xla, num_gpus)
  if replica:
    replica.configure_session(session_config, num_gpus)
  if server is not None:
    session_config.device_filters.extend(
        ['/job:ps', '/job:worker/task:%d' % config.task])
  return session_config


# How long closing the session waits for queue-runner threads. The only one
# we start is --sync_replicas' token queue runner on the chief, and after the
# last step it is blocked taking gradients that no worker will send: with
# MonitoredSession's default of 120 s every synchronous chief idled two
# minutes before exiting. Closing the session cancels that wait anyway.
_STOP_GRACE_SECS = 5


def _run_session(config, dataset, model, hooks, progress, session_creator):
  """Stage 5: runs training steps until a hook stops them.

  Returns:
    `(step, loss)`: the global step reached and the last loss (None if no
    step ran).

  Raises:
    errors.UserError: no record of the split could be read, or a record
      failed the pipeline's checks.
    errors.TrainingDivergedError: from the NaN guard.
  """
  loss = None
  with tf.train.MonitoredSession(session_creator=session_creator,
                                 hooks=hooks,
                                 stop_grace_period_secs=_STOP_GRACE_SECS) as sess:
    step = sess.run_step_fn(
        lambda step_context: step_context.session.run(model.global_step))
    if config.max_number_of_steps and step >= config.max_number_of_steps:
      logging.info('Global step %d already reached --max_number_of_steps=%d',
                   step, config.max_number_of_steps)
    else:
      try:
        with common.data_errors_as_user_errors():
          while not sess.should_stop():
            loss = sess.run(model.train_tensor)
      except tf.errors.OutOfRangeError:
        raise errors.UserError(common.no_records_message(dataset))
      step = progress.last_step if progress.last_step is not None else step
  return step, loss


def train(config):
  """Trains (or serves as a parameter server) as `config` says.

  The stages: `_check_and_build_inputs` (every check, and the dataset,
  network and preprocessing, built once), then for a parameter server only
  its server; else the training directory and its lock, `_build_graph`,
  `_warm_start`, `_hooks`, `flags.txt` (written only once every check has
  passed) and `_run_session`.

  Args:
    config: a `TrainConfig`.

  Returns:
    A dict with the final 'global_step', the last 'loss' (or None) and the
    latest 'checkpoint' of `train_dir`; None for a parameter server (which
    only returns if its server stops).

  Raises:
    errors.UserError: for settings that cannot work (see the messages).
    errors.TrainingDivergedError: when the loss or a variable turns NaN/Inf.
  """
  config, inputs = _check_and_build_inputs(config)
  server = None
  if inputs.cluster is not None:
    server = tf.train.Server(inputs.cluster, job_name=config.job_name,
                             task_index=config.task,
                             config=tf.ConfigProto(allow_soft_placement=True))
    if config.job_name == 'ps':
      logging.info('Parameter server %d of %s serving', config.task,
                   ','.join(config.ps_hosts))
      server.join()
      return None
  master = server.target if server is not None else config.master
  replica = inputs.replica
  is_chief = replica.is_chief if replica else config.task == 0
  num_gpus = num_local_gpus()
  clone_on_cpu = resolve_clone_on_cpu(config.num_clones, config.clone_on_cpu,
                                      num_gpus)
  if clone_on_cpu and not config.clone_on_cpu:
    logging.info('No GPU found: running %d clone(s) on the CPU',
                 config.num_clones)

  make_train_dir(config.train_dir)
  lock = locking.TrainDirLock(config.train_dir) if is_chief else None
  try:
    restore_from = _checkpoint_to_resume(config.train_dir, is_chief)
    with tf.Graph().as_default():
      model = _build_graph(config, inputs, clone_on_cpu, num_gpus)
      init_fn = _warm_start(config, restore_from, is_chief)
      scaffold = _scaffold(init_fn, model.summary_op)
      hooks, progress = _hooks(config, replica, model, scaffold, is_chief)
      session_config = _session_config(config, replica, server, num_gpus)
      # Every check passed: only now does this run's flags.txt replace the
      # one that describes the checkpoints in train_dir.
      if is_chief and config.flags_text is not None:
        common.atomic_write(os.path.join(config.train_dir, FLAGS_FILENAME),
                            config.flags_text)
      if is_chief or replica:  # Horovod ranks each initialize, then broadcast.
        creator = tf.train.ChiefSessionCreator(
            scaffold=scaffold, master=master, config=session_config,
            checkpoint_filename_with_path=restore_from)
      else:
        creator = tf.train.WorkerSessionCreator(
            scaffold=scaffold, master=master, config=session_config)
      step, loss = _run_session(config, inputs.dataset, model, hooks,
                                progress, creator)
    logging.info('Training stopped at step %d', step)
    return {'global_step': int(step),
            'loss': None if loss is None else float(loss),
            'checkpoint': tf.train.latest_checkpoint(config.train_dir)}
  finally:
    if lock is not None:
      lock.release()
