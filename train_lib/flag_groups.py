"""Command-line flags of the scripts, grouped by concern.

The flag names and defaults are TF-Slim's, so existing command lines and
flag files keep working; SE-Slim adds `--attention_module`,
`--reduction_ratio`, `--attention_position`, `--attention_identity_init`
(alias `--se_identity_init`), the cluster flags (`--ps_hosts`,
`--worker_hosts`, `--job_name`), `--mixed_precision`, `--xla`,
`--distribution` and `--horovod_lr_scaling`. Each `define_*` function
defines one group; `--helpfull` lists the flags under the group's heading.
Flags whose choices are known at import (models, datasets, optimizers,
attention modules) are enums, so absl rejects a bad value with a message
listing the valid ones.

Each flag has one source of truth: the flag and the config field of the
same name (`training.TrainConfig`, `evaluation.EvalConfig`) must agree in
name and default (tests/test_config_flags.py checks every field against the
flags `define_train_script_flags` / `define_eval_script_flags` define), and
`config_from_flags` raises on a field without a flag unless the field is
declared `not_a_flag()`. Every `define_*` takes `flag_values` (default
`FLAGS`), so tests define the scripts' flags into a fresh `FlagValues`.

Scripts read `FLAGS` only in their `run()` and hand plain values to the
library (`config_from_flags`). `run_script` is every script's boundary: a
bad flag is one line and exit status 2 (`parse_flags`), a `UserError` one
line and status 1.

Typical use (in a script):

    from absl import flags
    from train_lib import flag_groups

    flag_groups.declare_key_flags(flag_groups.define_train_script_flags())

    def run():
      training.train(flag_groups.config_from_flags(training.TrainConfig))

    if __name__ == '__main__':
      flag_groups.run_script(run, __file__)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import dataclasses
import os
import sys

from absl import app
from absl import flags
from absl import logging

from datasets import dataset_factory
from nets import attention
from nets import nets_factory
from train_lib import errors
from train_lib import hvd
from train_lib import optimizers

FLAGS = flags.FLAGS

LR_DECAY_TYPES = ('exponential', 'fixed', 'polynomial')

_CONTRIB_QUANTIZE = (
    'tf.contrib.quantize is not available in TensorFlow 1.15 without contrib '
    '(SE-Slim does not use tf.contrib)')


def _group(title, flag_values):
  """Returns the kwargs that file a flag under `title` in --helpfull."""
  return dict(module_name=title, flag_values=flag_values)


def define_model_flags(default_model='inception_v3', flag_values=FLAGS):
  """Model and attention flags (train, eval, export). Returns their names."""
  g = _group('Model and attention', flag_values)
  flags.DEFINE_enum('model_name', default_model, nets_factory.names(),
                    'Name of the architecture (a Slim model name).', **g)
  flags.DEFINE_enum(
      'attention_module', None, attention.flag_choices(),
      'Attention module on every block of the model: se_block '
      '(Squeeze-and-Excitation), cbam_block (CBAM) or eca_block (ECA-Net). '
      'Unset or none = the published model, whose variables match Slim\'s '
      'checkpoints.', **g)
  flags.DEFINE_integer(
      'reduction_ratio', attention.DEFAULT_REDUCTION_RATIO,
      'Reduction ratio r of the SE and CBAM channel MLP: its bottleneck has '
      'max(1, C // r) units. Positive integer; the papers use 16.',
      lower_bound=1, **g)
  flags.DEFINE_enum(
      'attention_position', attention.STANDARD, list(attention.POSITIONS),
      'Where a ResNet unit applies the module (SE paper, Sec. 6.5): standard '
      '(residual branch, before the add), pre (before the residual branch), '
      'post (after the add) or identity (on the shortcut).', **g)
  return ['model_name', 'attention_module', 'reduction_ratio',
          'attention_position']


def define_data_flags(split_default, batch_default, image_size_flag,
                      train=False, flag_values=FLAGS):
  """Dataset and input-pipeline flags. Returns their names.

  Args:
    split_default: default of --dataset_split_name ('train' or 'test').
    batch_default: default of --batch_size (32 train, 100 eval).
    image_size_flag: 'train_image_size' or 'eval_image_size'.
    train: whether to add the training-only flag --num_readers.
    flag_values: where to define them (absl's `FLAGS` unless a test's).
  """
  g = _group('Dataset', flag_values)
  flags.DEFINE_enum('dataset_name', 'imagenet', dataset_factory.names(),
                    'Name of the dataset.', **g)
  flags.DEFINE_string('dataset_split_name', split_default,
                      'Split of the dataset to read.', **g)
  flags.DEFINE_string(
      'dataset_dir', None,
      'Directory holding the dataset\'s TFRecords (required; see '
      'download_and_convert_data.py).', **g)
  flags.DEFINE_integer(
      'labels_offset', 0,
      'Subtracted from every label and from the number of classes. Use 1 to '
      'train or evaluate a 1000-class model (VGG, ResNet v1 checkpoints) on '
      'ImageNet TFRecords whose label 0 is "background".', lower_bound=0, **g)
  flags.DEFINE_string(
      'preprocessing_name', None,
      'Preprocessing to use; unset = the one the model was trained with.', **g)
  flags.DEFINE_integer('batch_size', batch_default,
                       'Images per batch (per clone when training).',
                       lower_bound=1, **g)
  flags.DEFINE_integer(image_size_flag, None,
                       'Image side; unset = the model\'s default size.',
                       lower_bound=1, **g)
  flags.DEFINE_bool('use_grayscale', False,
                    'Convert images to grayscale in preprocessing.', **g)
  flags.DEFINE_integer('num_preprocessing_threads', 4,
                       'Parallel preprocessing calls.', lower_bound=1, **g)
  flags.DEFINE_bool(
      'skip_bad_records', False,
      'Skip records that fail to decode instead of stopping.', **g)
  names = ['dataset_name', 'dataset_split_name', 'dataset_dir',
           'labels_offset', 'preprocessing_name', 'batch_size',
           image_size_flag, 'use_grayscale', 'num_preprocessing_threads',
           'skip_bad_records']
  if train:
    flags.DEFINE_integer('num_readers', 4,
                         'Parallel readers of the TFRecord files.',
                         lower_bound=1, **g)
    names += ['num_readers']
  return names


def define_deployment_flags(flag_values=FLAGS):
  """Clones, replicas, parameter servers and cluster flags. Returns names."""
  g = _group('Deployment (clones, replicas, cluster)', flag_values)
  flags.DEFINE_string('master', '',
                      'Address of the TensorFlow master ("" = in-process; '
                      'set automatically with --job_name).', **g)
  flags.DEFINE_integer(
      'num_clones', 1,
      'Model clones per replica: each clone gets its own batch of '
      '--batch_size on its own GPU (or the CPU); gradients and losses are '
      'averaged over clones. Without a GPU the clones run on the CPU.',
      lower_bound=1, **g)
  flags.DEFINE_bool('clone_on_cpu', False, 'Put all clones on the CPU.', **g)
  flags.DEFINE_integer('worker_replicas', 1,
                       'Number of worker replicas (tasks of job "worker").',
                       lower_bound=1, **g)
  flags.DEFINE_integer(
      'num_ps_tasks', 0,
      'Number of parameter-server tasks; 0 keeps the variables local.',
      lower_bound=0, **g)
  flags.DEFINE_integer('task', 0,
                       'Task id of this replica; task 0 is the chief.',
                       lower_bound=0, **g)
  flags.DEFINE_list(
      'ps_hosts', [],
      'Comma-separated host:port of the parameter servers. With '
      '--worker_hosts and --job_name, this process starts its tf.train.Server '
      'itself.', **g)
  flags.DEFINE_list('worker_hosts', [],
                    'Comma-separated host:port of the workers.', **g)
  flags.DEFINE_enum('job_name', None, ['ps', 'worker'],
                    'Job of this process in the cluster of --ps_hosts and '
                    '--worker_hosts; ps processes serve variables forever.',
                    **g)
  return ['master', 'num_clones', 'clone_on_cpu', 'worker_replicas',
          'num_ps_tasks', 'task', 'ps_hosts', 'worker_hosts', 'job_name']


def define_optimization_flags(flag_values=FLAGS):
  """Optimizer flags. Returns their names."""
  g = _group('Optimization', flag_values)
  flags.DEFINE_float('weight_decay', 0.00004,
                     'L2 weight decay of the model\'s layers.', **g)
  flags.DEFINE_float(
      'batch_norm_decay', None,
      'Decay of the batch-norm moving averages that evaluation uses. Unset = '
      'the model\'s published default (0.997-0.9997), which suits long runs; '
      'for runs of a few thousand steps from scratch use 0.99, or the moving '
      'variances still remember their initial 1.0 and inference-mode accuracy '
      'collapses. Models without batch norm reject it.', **g)
  flags.DEFINE_enum('optimizer', 'rmsprop', optimizers.names(),
                    'Optimizer, and the flags it reads: %s.' %
                    optimizers.describe(), **g)
  flags.DEFINE_float('adadelta_rho', 0.95, 'Adadelta decay rate.', **g)
  flags.DEFINE_float('adagrad_initial_accumulator_value', 0.1,
                     'Adagrad initial accumulator value.', **g)
  flags.DEFINE_float('adam_beta1', 0.9, 'Adam beta1.', **g)
  flags.DEFINE_float('adam_beta2', 0.999, 'Adam beta2.', **g)
  flags.DEFINE_float('opt_epsilon', 1.0,
                     'Epsilon of adadelta, adam and rmsprop.', **g)
  flags.DEFINE_float('ftrl_learning_rate_power', -0.5,
                     'FTRL learning rate power.', **g)
  flags.DEFINE_float('ftrl_initial_accumulator_value', 0.1,
                     'FTRL initial accumulator value.', **g)
  flags.DEFINE_float('ftrl_l1', 0.0, 'FTRL L1 regularization strength.', **g)
  flags.DEFINE_float('ftrl_l2', 0.0, 'FTRL L2 regularization strength.', **g)
  flags.DEFINE_float('momentum', 0.9, 'Momentum of the momentum optimizer.',
                     **g)
  flags.DEFINE_float('rmsprop_momentum', 0.9, 'RMSProp momentum.', **g)
  flags.DEFINE_float('rmsprop_decay', 0.9, 'RMSProp decay.', **g)
  flags.DEFINE_integer(
      'quantize_delay', -1,
      'Not supported: Slim\'s quantized training needs %s. Must stay -1.' %
      _CONTRIB_QUANTIZE, **g)
  flags.register_validator(
      'quantize_delay', lambda v: v == -1,
      message='quantized training is unavailable: %s; leave --quantize_delay '
      'at -1' % _CONTRIB_QUANTIZE, flag_values=flag_values)
  flags.DEFINE_integer(
      'random_seed', None,
      'Seed of the weight initialization, dropout and the input shuffles, '
      'for runs that repeat (on the same machine and thread count; CPU '
      'kernels are deterministic there, GPU ones need not be). Unset = a new '
      'draw each run, as in Slim.', **g)
  flags.DEFINE_integer('max_number_of_steps', None,
                       'Stop at this global step (unset = train forever).',
                       lower_bound=1, **g)
  return ['weight_decay', 'batch_norm_decay', 'random_seed', 'optimizer',
          'adadelta_rho',
          'adagrad_initial_accumulator_value', 'adam_beta1', 'adam_beta2',
          'opt_epsilon', 'ftrl_learning_rate_power',
          'ftrl_initial_accumulator_value', 'ftrl_l1', 'ftrl_l2', 'momentum',
          'rmsprop_momentum', 'rmsprop_decay', 'quantize_delay',
          'max_number_of_steps']


def define_learning_rate_flags(flag_values=FLAGS):
  """Learning-rate schedule, label smoothing, sync replicas, EMA flags."""
  g = _group('Learning rate', flag_values)
  flags.DEFINE_enum('learning_rate_decay_type', 'exponential', LR_DECAY_TYPES,
                    'How the learning rate decays.', **g)
  flags.DEFINE_float('learning_rate', 0.01, 'Initial learning rate.', **g)
  flags.DEFINE_float('end_learning_rate', 0.0001,
                     'Final learning rate of polynomial decay.', **g)
  flags.DEFINE_float('label_smoothing', 0.0,
                     'Label smoothing of the softmax cross-entropy.', **g)
  flags.DEFINE_float('learning_rate_decay_factor', 0.94,
                     'Exponential decay factor (staircase).', **g)
  flags.DEFINE_float(
      'num_epochs_per_decay', 2.0,
      'Epochs between decays; counted per clone and, with --sync_replicas, '
      'per aggregated update, as Slim does.', **g)
  flags.DEFINE_float(
      'warmup_epochs', 0,
      'Linear warm-up of the learning rate from 0 over this many epochs.', **g)
  flags.DEFINE_bool('sync_replicas', False,
                    'Aggregate gradients of the workers synchronously '
                    '(tf.train.SyncReplicasOptimizer).', **g)
  flags.DEFINE_integer('replicas_to_aggregate', 1,
                       'Gradients to collect before each synchronous update.',
                       lower_bound=1, **g)
  flags.DEFINE_float(
      'moving_average_decay', None,
      'If set, keep an exponential moving average of the model variables '
      'with this decay (evaluate it with eval\'s --moving_average_decay).', **g)
  return ['learning_rate_decay_type', 'learning_rate', 'end_learning_rate',
          'label_smoothing', 'learning_rate_decay_factor',
          'num_epochs_per_decay', 'warmup_epochs', 'sync_replicas',
          'replicas_to_aggregate', 'moving_average_decay']


def define_finetune_flags(flag_values=FLAGS):
  """Warm-start flags. Returns their names."""
  g = _group('Fine-tuning', flag_values)
  flags.DEFINE_string(
      'checkpoint_path', None,
      'Checkpoint (file or directory = its latest) to warm-start the model '
      'variables from. Ignored when --train_dir already has a checkpoint '
      '(training resumes from that). SE variables missing from it (a non-SE '
      'checkpoint) start fresh.', **g)
  flags.DEFINE_string(
      'checkpoint_exclude_scopes', None,
      'Comma-separated variable-name prefixes (or globs such as */se/*) not '
      'to restore, e.g. the new classification head.', **g)
  flags.DEFINE_string(
      'trainable_scopes', None,
      'Comma-separated scopes to train; unset = all trainable variables.',
      **g)
  flags.DEFINE_bool(
      'ignore_missing_vars', False,
      'Start variables missing from --checkpoint_path fresh instead of '
      'failing.', **g)
  flags.DEFINE_bool(
      'attention_identity_init', False,
      'Start every new attention gate near identity (0.9999 for every input; '
      'SE: excitation fc2 weights 0 and bias logit(0.9999)), so a fine-tuned '
      'attention net first computes what the pretrained net did. Not for '
      'eca_block, which has no bias.', **g)
  # The flag's name before CBAM and ECA joined SE; flag files still use it.
  flags.DEFINE_alias('se_identity_init', 'attention_identity_init',
                     flag_values=flag_values)
  return ['checkpoint_path', 'checkpoint_exclude_scopes', 'trainable_scopes',
          'ignore_missing_vars', 'attention_identity_init']


def define_logging_flags(flag_values=FLAGS):
  """Train-dir, logging, summary and checkpoint flags. Returns names."""
  g = _group('Logging and checkpoints', flag_values)
  flags.DEFINE_string('train_dir', '/tmp/tfmodel/',
                      'Where checkpoints, event logs and flags.txt go.', **g)
  flags.DEFINE_integer(
      'log_every_n_steps', 10,
      'Log step, loss, learning rate, sec/step and images/s this often.',
      lower_bound=1, **g)
  flags.DEFINE_integer('save_summaries_secs', 600,
                       'Seconds between TensorBoard summaries.',
                       lower_bound=1, **g)
  flags.DEFINE_integer('save_interval_secs', 600,
                       'Seconds between checkpoints.', lower_bound=1, **g)
  return ['train_dir', 'log_every_n_steps', 'save_summaries_secs',
          'save_interval_secs']


def define_acceleration_flags(flag_values=FLAGS):
  """Mixed-precision and XLA flags (train_lib/accelerate.py). Returns names."""
  g = _group('Acceleration (mixed precision, XLA)', flag_values)
  flags.DEFINE_bool(
      'mixed_precision', False,
      'TensorFlow\'s automatic mixed-precision graph rewrite with dynamic '
      'loss scaling: on a GPU, convolutions and matmuls run in float16; '
      'variables, batch norm statistics and the SE gate stay float32. Without '
      'a GPU it trains in float32 (with the loss scaling) and warns once. '
      'Checkpoints evaluate without the flag.', **g)
  flags.DEFINE_bool(
      'xla', False,
      'JIT-compile the training graph with XLA (global_jit_level ON_1; on a '
      'CPU-only machine also TF_XLA_FLAGS=--tf_xla_cpu_global_jit).', **g)
  return ['mixed_precision', 'xla']


def define_distribution_flags(flag_values=FLAGS):
  """Horovod flags (train_lib/hvd.py). Returns their names."""
  g = _group('Distribution (Horovod)', flag_values)
  flags.DEFINE_enum(
      'distribution', 'clones', hvd.DISTRIBUTIONS,
      'clones: Slim\'s in-graph clones (--num_clones) and ps/worker '
      'replicas. horovod: data-parallel training over the processes of '
      '`horovodrun -np N python train_image_classifier.py '
      '--distribution=horovod ...`, one per GPU (needs `make horovod`).', **g)
  flags.DEFINE_enum(
      'horovod_lr_scaling', 'linear', hvd.LR_SCALINGS,
      'With --distribution=horovod: linear multiplies --learning_rate and '
      '--end_learning_rate by the number of ranks (the global batch is ranks '
      'x --batch_size); none keeps them.', **g)
  return ['distribution', 'horovod_lr_scaling']


def define_eval_flags(loop=False, flag_values=FLAGS):
  """Evaluation flags (checkpoint, eval_dir, batches, EMA). Returns names."""
  g = _group('Evaluation', flag_values)
  flags.DEFINE_string('master', '', 'Address of the TensorFlow master.', **g)
  flags.DEFINE_string(
      'checkpoint_path', '/tmp/tfmodel/',
      'Checkpoint file, or a directory (its latest checkpoint%s).' %
      ('; the loop watches it for new ones' if loop else ''), **g)
  flags.DEFINE_string('eval_dir', '/tmp/tfmodel/',
                      'Where the metric summaries are written.', **g)
  flags.DEFINE_integer(
      'max_num_batches', None,
      'Batches to evaluate; unset = one pass over the split.',
      lower_bound=1, **g)
  flags.DEFINE_float(
      'moving_average_decay', None,
      'If set, evaluate the moving averages of the weights (train with the '
      'same --moving_average_decay).', **g)
  flags.DEFINE_bool(
      'quantize', False,
      'Not supported: needs %s. Must stay false.' % _CONTRIB_QUANTIZE, **g)
  flags.register_validator(
      'quantize', lambda v: not v,
      message='--quantize is unavailable: %s' % _CONTRIB_QUANTIZE,
      flag_values=flag_values)
  names = ['master', 'checkpoint_path', 'eval_dir', 'max_num_batches',
           'moving_average_decay', 'quantize']
  if loop:
    flags.DEFINE_float('eval_interval_secs', 60,
                       'Seconds between looks for new checkpoints.',
                       lower_bound=0, **g)
    flags.DEFINE_float(
        'timeout', None,
        'Stop after this many seconds without a new checkpoint (unset = '
        'wait forever).', lower_bound=0, **g)
    flags.DEFINE_integer('max_evaluations', None,
                         'Stop after this many evaluations (unset = no '
                         'limit).', lower_bound=1, **g)
    names += ['eval_interval_secs', 'timeout', 'max_evaluations']
  return names


def require_flag(name, hint, flag_values=FLAGS):
  """Makes flag `name` required, with a one-line message naming `hint`."""
  flags.register_validator(
      name, lambda v: v is not None and v != '',
      message='--%s is required: %s' % (name, hint), flag_values=flag_values)


_DATASET_DIR_HINT = ('the directory of the dataset\'s TFRecords (see '
                     'download_and_convert_data.py)')


def define_train_script_flags(flag_values=FLAGS):
  """Every flag of `train_image_classifier.py` (`TrainConfig`'s fields).

  Returns:
    Their names.
  """
  names = (define_deployment_flags(flag_values) +
           define_logging_flags(flag_values) +
           define_optimization_flags(flag_values) +
           define_learning_rate_flags(flag_values) +
           define_data_flags('train', 32, 'train_image_size', train=True,
                             flag_values=flag_values) +
           define_model_flags(flag_values=flag_values) +
           define_finetune_flags(flag_values) +
           define_acceleration_flags(flag_values) +
           define_distribution_flags(flag_values))
  require_flag('dataset_dir', _DATASET_DIR_HINT, flag_values)
  return names


def define_eval_script_flags(loop=False, flag_values=FLAGS):
  """Every flag of `eval_image_classifier[_loop].py` (`EvalConfig`'s fields).

  Args:
    loop: add the loop's own flags (`LOOP_FLAGS`, not `EvalConfig` fields).
    flag_values: where to define them.

  Returns:
    Their names.
  """
  names = (define_eval_flags(loop, flag_values) +
           define_data_flags('test', 100, 'eval_image_size',
                             flag_values=flag_values) +
           define_model_flags(flag_values=flag_values))
  require_flag('dataset_dir', _DATASET_DIR_HINT, flag_values)
  return names


# Flags of eval_image_classifier_loop.py that configure the loop (arguments
# of `evaluation.evaluation_loop`), not the `Evaluator`.
LOOP_FLAGS = ('eval_interval_secs', 'timeout', 'max_evaluations')


def define_export_dataset_flags(flag_values=FLAGS):
  """The dataset flags of the export scripts: which classes the model has.

  Returns:
    Their names.
  """
  g = _group('Export', flag_values)
  flags.DEFINE_enum('dataset_name', 'imagenet', dataset_factory.names(),
                    'Dataset whose number of classes the model has.', **g)
  flags.DEFINE_string('dataset_dir', '',
                      'Dataset directory (needed only for datasets whose '
                      'classes come from converted metadata).', **g)
  flags.DEFINE_integer('labels_offset', 0,
                       'Subtracted from the number of classes (1 for '
                       '1000-class ImageNet models).', lower_bound=0, **g)
  return ['dataset_name', 'dataset_dir', 'labels_offset']


def declare_key_flags(names):
  """Declares `names` key flags of the calling script (shown by --help)."""
  # absl files the main script's flags under sys.argv[0].
  module_name = sys.argv[0] if sys.argv else '__main__'
  for name in names:
    FLAGS.register_key_flag_for_module(module_name, FLAGS[name])


def parse_flags(argv):
  """`flags_parser` for `app.run`: one-line message and exit 2 on bad flags."""
  prog = os.path.basename(argv[0]) if argv else 'script'
  try:
    rest = FLAGS(argv)
  except flags.Error as e:
    sys.stderr.write('%s: error: %s (see --helpfull)\n' %
                     (prog, ' '.join(str(e).split('\n'))))
    sys.exit(2)
  if len(rest) > 1:
    # One line, not app.UsageError's whole help text.
    sys.stderr.write('%s: error: unexpected argument(s): %s (flags are '
                     '--name=value; see --helpfull)\n' %
                     (prog, ' '.join(rest[1:])))
    sys.exit(2)
  return rest


# The dataclass field metadata key of `not_a_flag`.
_NOT_A_FLAG = 'not_a_flag'


def not_a_flag(default=None):
  """A config field that no flag sets (`config_from_flags` leaves it).

  Use as `network_kwargs: dict = flag_groups.not_a_flag()`; the script or
  library caller passes it as an override.
  """
  return dataclasses.field(default=default, metadata={_NOT_A_FLAG: True})


def is_flag_field(field):
  """True unless the dataclass `field` was declared with `not_a_flag`."""
  return not field.metadata.get(_NOT_A_FLAG, False)


def config_from_flags(config_class, flag_values=None, **overrides):
  """Builds `config_class` (a dataclass) from the flags of the same names.

  Every field takes the value of the flag of its name, except the fields in
  `overrides` and those declared with `not_a_flag` (which keep their default
  unless overridden). A field with neither a flag nor an override is a
  mistake in the code (a field added without its flag, or a renamed flag),
  reported before anything runs instead of silently using the default.

  Args:
    config_class: a dataclass whose fields are named like flags.
    flag_values: the parsed flags (default: absl's `FLAGS`).
    **overrides: values for fields that are not flags or need conversion.

  Returns:
    An instance of `config_class`.

  Raises:
    ValueError: naming the first field that has no flag.
  """
  flag_values = FLAGS if flag_values is None else flag_values
  values = {}
  for field in dataclasses.fields(config_class):
    if field.name in overrides:
      values[field.name] = overrides[field.name]
    elif not is_flag_field(field):
      continue
    elif field.name in flag_values:
      values[field.name] = flag_values[field.name].value
    else:
      raise ValueError(
          '%s.%s has no flag --%s: define the flag (train_lib/flag_groups.py), '
          'pass the field as an override, or declare it with '
          'flag_groups.not_a_flag()' % (config_class.__name__, field.name,
                                        field.name))
  return config_class(**values)


def run_script(run, script_file):
  """Runs a script: parses the flags, then `run()` at the error boundary.

  Bad flags or stray arguments end the script with one line and status 2
  (`parse_flags`); an error the user can fix, raised by `run()`, with one
  line and status 1 (`errors.exit_on_user_error`); anything else keeps its
  traceback. Logs at INFO level.

  Args:
    run: callable without arguments; what it returns is ignored.
    script_file: the script's `__file__`, for the message prefix.
  """
  prog = os.path.basename(script_file)

  def main(argv):
    del argv  # parse_flags has refused any stray argument.
    logging.set_verbosity(logging.INFO)
    errors.exit_on_user_error(run, prog)

  try:
    app.run(main, flags_parser=parse_flags)
  except SystemExit as e:
    # Status 2 (a bad flag) or 1 (a user error, or --help): reported already.
    if isinstance(e.code, int) and e.code != 0:
      errors.exit_at_once(e.code)
    raise
