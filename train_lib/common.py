"""What training, evaluation and export share, each in one place.

* the factories (`get_dataset`, `build_network_fn`, `get_preprocessing`),
  whose `ValueError`s (unknown names, bad hyper-parameters) become
  `errors.UserError`s, the one-line errors of the scripts
  (`value_errors_as_user_errors`);
* which preprocessing a model uses (`preprocessing_name`: the flag, else the
  one the model was trained with, as Slim chooses it);
* building the network on a batch (`call_network`: an input too small for
  the model is the user's error, not a NaN later), and the errors of the
  input pipeline while a session runs (`data_errors_as_user_errors`,
  `no_records_message`);
* what a checkpoint restores into the model (`variables_to_restore`: the
  model variables, or their moving averages as Slim's eval does with
  `--moving_average_decay`);
* writing a file or a directory so that it appears whole or not at all
  (`atomic_path`, `atomic_write`: a temporary name beside it, then a rename).

Typical use:

    dataset = common.get_dataset('digits', 'train', '/tmp/digits')
    network_fn = common.build_network_fn('resnet_v1_50', 10,
                                         attention_module='se_block')
    preprocess_fn = common.get_preprocessing(
        common.preprocessing_name('resnet_v1_50', None), is_training=False)
    saver = tf.train.Saver(common.variables_to_restore(0.9999))
    common.atomic_write('/tmp/run/flags.txt', text)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import contextlib
import os

import tensorflow.compat.v1 as tf
import tf_slim as slim

from datasets import dataset_factory
from datasets import input_pipeline
from nets import attention
from nets import nets_factory
from preprocessing import preprocessing_factory
from train_lib import errors


# ---------------------------------------------------------------------------
# Errors.
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def value_errors_as_user_errors():
  """Re-raises a `ValueError` of the block as `errors.UserError`.

  The factories of datasets, networks and preprocessing report unknown
  names and bad values as `ValueError`s whose message lists the valid
  choices; those are the user's to fix. A `UserError` (itself a
  `ValueError`) passes through unchanged, keeping its subclass.
  """
  try:
    yield
  except errors.UserError:
    raise
  except ValueError as e:
    raise errors.UserError(str(e))


@contextlib.contextmanager
def data_errors_as_user_errors():
  """Re-raises a failed data check of the input pipeline as `UserError`.

  `input_pipeline` reports undecodable records and labels out of range as
  `InvalidArgumentError`s with a marked message; any other
  `InvalidArgumentError` is a bug and keeps its traceback.
  """
  try:
    yield
  except tf.errors.InvalidArgumentError as e:
    message = input_pipeline.data_error_message(e)
    if message is None:
      raise
    raise errors.UserError(message)


def no_records_message(split):
  """The error for a split of which no record could be read and decoded."""
  files = list(split.files)
  return ('No record of split %r of dataset %r could be read and decoded: its '
          '%d record file(s) (%s%s) are empty or every record is bad; re-run '
          'download_and_convert_data.py --dataset_name=%s' %
          (split.split_name, split.name, len(files), ', '.join(files[:3]),
           ', ...' if len(files) > 3 else '', split.name))


# ---------------------------------------------------------------------------
# Dataset, network and preprocessing.
# ---------------------------------------------------------------------------


def check_dataset_dir(dataset_dir):
  """Raises `errors.UserError` unless `dataset_dir` is a directory."""
  if '://' in dataset_dir:
    return
  if not os.path.exists(dataset_dir):
    raise errors.UserError('--dataset_dir=%s does not exist; create it with '
                           'download_and_convert_data.py' % dataset_dir)
  if not os.path.isdir(dataset_dir):
    raise errors.UserError('--dataset_dir=%s is not a directory' %
                           dataset_dir)


def get_dataset(name, split_name, dataset_dir):
  """`dataset_factory.get_dataset` with its ValueErrors as `UserError`s.

  An unknown dataset name, or a split the dataset never has, is reported
  first; then a `dataset_dir` that is missing or not a directory, before
  the factory reads anything from it.
  """
  module = dataset_factory.datasets_map.get(name)
  fixed_splits = getattr(module, 'SPLITS_TO_SIZES', None)
  if module is not None and (fixed_splits is None or
                             split_name in fixed_splits):
    check_dataset_dir(dataset_dir)
  with value_errors_as_user_errors():
    return dataset_factory.get_dataset(name, split_name, dataset_dir)


def num_classes_after_offset(num_classes, labels_offset):
  """`num_classes - labels_offset`; a `UserError` if no class is left."""
  left = num_classes - labels_offset
  if left < 1:
    raise errors.UserError('--labels_offset=%d leaves no class of the %d' %
                           (labels_offset, num_classes))
  return left


def build_network_fn(model_name, num_classes, weight_decay=0.0,
                     is_training=False, attention_module=None,
                     reduction_ratio=attention.DEFAULT_REDUCTION_RATIO,
                     batch_norm_decay=None,
                     attention_position=attention.STANDARD):
  """`nets_factory.get_network_fn` with its ValueErrors as `UserError`s.

  The returned function builds no graph until it is called, so it can be
  made (and its settings checked) before the graph exists.
  """
  with value_errors_as_user_errors():
    return nets_factory.get_network_fn(
        model_name, num_classes, weight_decay=weight_decay,
        is_training=is_training, attention_module=attention_module or None,
        reduction_ratio=reduction_ratio, batch_norm_decay=batch_norm_decay,
        attention_position=attention_position)


def preprocessing_name(model_name, name=None):
  """The preprocessing to use: `name` if set, else the model's own.

  Args:
    model_name: a model name (`nets_factory.names()`).
    name: `--preprocessing_name`; None or '' means the model's own.

  Returns:
    A name for `preprocessing_factory.get_preprocessing`.

  Raises:
    errors.UserError: for an unknown model, or a model without a default
      preprocessing when `name` is unset.
  """
  if name:
    return name
  with value_errors_as_user_errors():
    default = nets_factory.preprocessing_name(model_name)
  if not default:
    raise errors.UserError('%s has no default preprocessing; pass '
                           '--preprocessing_name' % model_name)
  return default


def get_preprocessing(name, is_training, use_grayscale=False):
  """`preprocessing_factory.get_preprocessing`, errors as `UserError`s."""
  with value_errors_as_user_errors():
    return preprocessing_factory.get_preprocessing(
        name, is_training=is_training, use_grayscale=use_grayscale)


def call_network(network_fn, images, network_kwargs, model_name, image_size):
  """Builds the network on `images`; an input it cannot take is a UserError.

  A too small input either fails while the graph is built or leaves a
  feature map with no pixels (whose mean is NaN: it would look like
  divergence), so both are reported as the image size.

  Args:
    network_fn: from `build_network_fn`.
    images: `[batch, image_size, image_size, channels]` float32.
    network_kwargs: extra keyword arguments of the builder (or None).
    model_name: for the message.
    image_size: for the message.

  Returns:
    `(logits, end_points)`; logits are `[batch, num_classes]`.
  """
  hint = ('--train_image_size/--eval_image_size=%s is too small for %s '
          '(its default is %s)' % (image_size, model_name,
                                   getattr(network_fn, 'default_image_size',
                                           '?')))
  try:
    logits, end_points = network_fn(images, **(network_kwargs or {}))
  except ValueError as e:
    if 'size' in str(e) or 'dimension' in str(e).lower():
      raise errors.UserError('%s: %s' % (hint, str(e).split('\n')[0]))
    raise
  for name, tensor in sorted(end_points.items()):
    if not hasattr(tensor, 'shape') or tensor.shape.ndims != 4:
      continue
    if 0 in tensor.shape.as_list()[1:3]:
      raise errors.UserError('%s: end point %s has no pixels (shape %s)' %
                             (hint, name, tensor.shape.as_list()))
  return logits, end_points


# ---------------------------------------------------------------------------
# Checkpoints and files.
# ---------------------------------------------------------------------------


def variables_to_restore(moving_average_decay=None, global_step=None):
  """Checkpoint name -> model variable, for a `tf.train.Saver` to restore.

  Call after the model is built. With `moving_average_decay` each model
  variable is restored from its exponential moving average (the name
  `tf.train.ExponentialMovingAverage.variables_to_restore` gives it, e.g.
  `.../weights/ExponentialMovingAverage`), as Slim's eval script does; the
  decay itself does not change the names.

  Args:
    moving_average_decay: the training run's `--moving_average_decay`, or
      None to restore the variables themselves.
    global_step: the averages' `num_updates` (Slim passes the global step).

  Returns:
    A dict from checkpoint name to `tf.Variable`.
  """
  model_variables = slim.get_model_variables()
  if not moving_average_decay:
    return {v.op.name: v for v in model_variables}
  averages = tf.train.ExponentialMovingAverage(moving_average_decay,
                                               global_step)
  return averages.variables_to_restore(model_variables)


def _remove(path):
  if tf.gfile.IsDirectory(path):
    tf.gfile.DeleteRecursively(path)
  elif tf.gfile.Exists(path):
    tf.gfile.Remove(path)


@contextlib.contextmanager
def atomic_path(path, overwrite=True):
  """Yields a temporary name beside `path`, renamed to `path` on success.

  Whatever is written under the temporary name (a file, or a directory such
  as a SavedModel) appears under `path` whole or not at all: a reader never
  sees a half-written one, and a crash leaves `path` as it was. A temporary
  left by a crash is replaced; on an exception the temporary is removed.

  Args:
    path: the final file or directory name (local or a `tf.gfile` URL).
    overwrite: replace an existing file at `path` (directories are never
      replaced).

  Yields:
    The temporary name, `path + '.tmp'`.
  """
  tmp = path.rstrip('/') + '.tmp'
  _remove(tmp)
  try:
    yield tmp
    tf.gfile.Rename(tmp, path, overwrite=overwrite)
  finally:
    _remove(tmp)


def atomic_write(path, data, binary=False):
  """Writes `data` (str, or bytes with `binary`) to `path` atomically.

  Creates the parent directory if needed.
  """
  dirname = os.path.dirname(path)
  if dirname:
    tf.gfile.MakeDirs(dirname)
  with atomic_path(path) as tmp:
    with tf.gfile.GFile(tmp, 'wb' if binary else 'w') as f:
      f.write(data)
