"""Evaluating classifier checkpoints: once, or each new one in a loop.

`Evaluator(EvalConfig(...))` builds the evaluation graph once (model in
inference mode, one pass over the split) and evaluates any number of
checkpoints with it. Metrics, as Slim names them: `eval/Accuracy` (top-1)
and `eval/Recall_5` (top-5), plus `eval/Top1_error` and `eval/Top5_error`
(1 minus those, as the SE paper reports). Each evaluation prints them and
writes them as summaries to `eval_dir` at the checkpoint's global step.

`evaluation_loop` evaluates every new checkpoint of a directory once, in
step order, skips a checkpoint deleted (rotated away) between listing and
loading, and stops after `timeout` seconds without a new one.

Typical use:

    evaluator = evaluation.Evaluator(evaluation.EvalConfig(
        dataset_name='digits', dataset_split_name='validation',
        dataset_dir='/tmp/digits', model_name='resnet_v1_50',
        attention_module='se_block', eval_image_size=32,
        eval_dir='/tmp/se_resnet/eval'))
    metrics = evaluator.evaluate('/tmp/se_resnet')   # dir = its latest
    metrics['eval/Accuracy']

    evaluation.evaluation_loop(evaluator, '/tmp/se_resnet',
                               eval_interval_secs=60, timeout=3600)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import dataclasses
import math
import os
import time
import typing

from absl import logging
import tensorflow.compat.v1 as tf

from datasets import input_pipeline
from nets import attention
from train_lib import checkpoints
from train_lib import common
from train_lib import errors
from train_lib import finetune
from train_lib import flag_groups

ACCURACY = 'eval/Accuracy'
RECALL_5 = 'eval/Recall_5'
TOP1_ERROR = 'eval/Top1_error'
TOP5_ERROR = 'eval/Top5_error'
# Seconds between 'Evaluation [k/N]' progress lines (and the first and last).
_PROGRESS_SECS = 10


@dataclasses.dataclass
class EvalConfig(object):
  """Everything an `Evaluator` needs, as plain values (Slim's defaults)."""
  master: str = ''
  checkpoint_path: str = '/tmp/tfmodel/'
  eval_dir: str = '/tmp/tfmodel/'
  batch_size: int = 100
  max_num_batches: typing.Optional[int] = None
  num_preprocessing_threads: int = 4
  dataset_name: str = 'imagenet'
  dataset_split_name: str = 'test'
  dataset_dir: typing.Optional[str] = None
  labels_offset: int = 0
  model_name: str = 'inception_v3'
  preprocessing_name: typing.Optional[str] = None
  moving_average_decay: typing.Optional[float] = None
  eval_image_size: typing.Optional[int] = None
  quantize: bool = False
  use_grayscale: bool = False
  skip_bad_records: bool = False
  attention_module: typing.Optional[str] = None
  reduction_ratio: int = attention.DEFAULT_REDUCTION_RATIO
  attention_position: str = attention.STANDARD
  # Not a flag: extra keyword arguments for the network builder.
  network_kwargs: typing.Optional[dict] = flag_groups.not_a_flag()


def _checkpoint_step(checkpoint):
  """The global step stored in `checkpoint`, else its '-N' suffix, else 0."""
  try:
    reader = tf.train.NewCheckpointReader(checkpoint)
    if reader.has_tensor('global_step'):
      return int(reader.get_tensor('global_step'))
  except tf.errors.OpError:
    pass
  suffix = checkpoint.rsplit('-', 1)[-1]
  return int(suffix) if suffix.isdigit() else 0


class Evaluator(object):
  """Evaluates checkpoints of one model on one dataset split."""

  def __init__(self, config):
    """Builds the evaluation graph.

    Args:
      config: an `EvalConfig`.

    Raises:
      errors.UserError: for settings that cannot work.
    """
    if config.quantize:
      raise errors.UserError(
          '--quantize needs tf.contrib.quantize, which TensorFlow 1.15 without '
          'contrib does not have')
    if not config.dataset_dir:
      raise errors.UserError('--dataset_dir is required')
    self._config = config
    dataset = common.get_dataset(config.dataset_name,
                                 config.dataset_split_name, config.dataset_dir)
    self.num_samples = dataset.num_samples
    self._dataset = dataset
    num_classes = common.num_classes_after_offset(dataset.num_classes,
                                                  config.labels_offset)
    network_fn = common.build_network_fn(
        config.model_name, num_classes, is_training=False,
        attention_module=config.attention_module,
        reduction_ratio=config.reduction_ratio,
        attention_position=config.attention_position)
    preprocess_fn = common.get_preprocessing(
        common.preprocessing_name(config.model_name,
                                  config.preprocessing_name),
        is_training=False, use_grayscale=config.use_grayscale)
    self._graph = tf.Graph()
    with self._graph.as_default():
      tf_global_step = tf.train.get_or_create_global_step()
      image_size = config.eval_image_size or network_fn.default_image_size
      with tf.device('/device:CPU:0'):
        ds = input_pipeline.build_dataset(
            dataset, preprocess_fn, config.batch_size, image_size,
            is_training=False,
            num_preprocessing_threads=config.num_preprocessing_threads,
            labels_offset=config.labels_offset, num_epochs=1,
            skip_bad_records=config.skip_bad_records)
        self._iterator = tf.data.make_initializable_iterator(ds)
        images, labels = self._iterator.get_next()
      logits, _ = common.call_network(
          network_fn, images, config.network_kwargs, config.model_name,
          image_size)
      predictions = tf.argmax(logits, 1)
      k = 5
      with tf.variable_scope('eval_metrics') as scope:
        accuracy = tf.metrics.accuracy(labels, predictions)
        recall_5 = tf.metrics.mean(tf.cast(
            tf.nn.in_top_k(logits, labels, k), tf.float32))
        count = tf.get_variable(
            'num_examples', [], tf.int64, initializer=tf.zeros_initializer(),
            trainable=False, collections=[tf.GraphKeys.LOCAL_VARIABLES])
        count_update = tf.assign_add(count, tf.size(labels, out_type=tf.int64))
        metric_vars = tf.get_collection(tf.GraphKeys.LOCAL_VARIABLES,
                                        scope.name)
      self._metric_init = tf.variables_initializer(metric_vars)
      self._update = [accuracy[1], recall_5[1], count_update]
      self._values = collections.OrderedDict([
          (ACCURACY, accuracy[0]), (RECALL_5, recall_5[0])])
      self._count = count

      to_restore = common.variables_to_restore(config.moving_average_decay,
                                               tf_global_step)
      self._to_restore = to_restore
      self._saver = tf.train.Saver(to_restore)
      self._graph.finalize()
    self._writer = None

  @property
  def graph(self):
    return self._graph

  def _check_variables(self, checkpoint):
    """Raises `UserError` if `checkpoint` lacks variables of the model."""
    hint = (' (it has no moving averages: drop --moving_average_decay)'
            if self._config.moving_average_decay else
            ' (check --model_name, --attention_module and --labels_offset)')
    checkpoints.check_variables(self._to_restore, checkpoint, 'evaluate',
                                hint=hint)

  def evaluate(self, checkpoint_path):
    """Evaluates one checkpoint (file, or directory = its latest).

    Returns:
      An ordered dict of the metrics ('eval/Accuracy', 'eval/Recall_5',
      'eval/Top1_error', 'eval/Top5_error'), plus 'global_step' and
      'num_examples'.

    Raises:
      errors.UserError: no checkpoint, or one that does not fit the model.
      tf.errors.NotFoundError: if the checkpoint vanishes while loading.
    """
    checkpoint = finetune.resolve_checkpoint(checkpoint_path)
    self._check_variables(checkpoint)
    config = self._config
    max_batches = config.max_num_batches or int(
        math.ceil(self.num_samples / float(config.batch_size)))
    session_config = tf.ConfigProto(allow_soft_placement=True)
    start = time.time()
    with tf.Session(config.master, graph=self._graph,
                    config=session_config) as sess:
      self._saver.restore(sess, checkpoint)
      sess.run([self._iterator.initializer, self._metric_init])
      batches = 0
      last_report = time.time()
      while batches < max_batches:
        try:
          with common.data_errors_as_user_errors():
            sess.run(self._update)
        except tf.errors.OutOfRangeError:
          break
        batches += 1
        now = time.time()
        if (now - last_report >= _PROGRESS_SECS or batches == max_batches or
            batches == 1):
          last_report = now
          logging.info('Evaluation [%d/%d] %.1f images/s', batches,
                       max_batches, batches * config.batch_size /
                       max(now - start, 1e-9))
      values = sess.run(self._values)
      num_examples = int(sess.run(self._count))
    if not num_examples:
      raise errors.UserError(common.no_records_message(self._dataset))
    step = _checkpoint_step(checkpoint)
    metrics = collections.OrderedDict()
    metrics[ACCURACY] = float(values[ACCURACY])
    metrics[RECALL_5] = float(values[RECALL_5])
    metrics[TOP1_ERROR] = 1.0 - metrics[ACCURACY]
    metrics[TOP5_ERROR] = 1.0 - metrics[RECALL_5]
    for name, value in metrics.items():
      logging.info('%s[%.4f]', name, value)
    print('%s (step %d, %d examples, %.1fs): %s' % (
        checkpoint, step, num_examples, time.time() - start,
        ', '.join('%s=%.4f' % kv for kv in metrics.items())), flush=True)
    self._write_summaries(metrics, step)
    metrics['global_step'] = step
    metrics['num_examples'] = num_examples
    metrics['checkpoint'] = checkpoint
    return metrics

  def _write_summaries(self, metrics, step):
    if not self._config.eval_dir:
      return
    if self._writer is None:
      tf.gfile.MakeDirs(self._config.eval_dir)
      self._writer = tf.summary.FileWriter(self._config.eval_dir)
    summary = tf.Summary(value=[tf.Summary.Value(tag=name, simple_value=value)
                                for name, value in metrics.items()])
    self._writer.add_summary(summary, step)
    self._writer.flush()

  def close(self):
    if self._writer is not None:
      self._writer.close()
      self._writer = None


def list_checkpoints(checkpoint_dir):
  """Checkpoints of `checkpoint_dir` whose files exist, oldest first."""
  try:
    state = tf.train.get_checkpoint_state(checkpoint_dir)
  except (tf.errors.OpError, ValueError) as e:  # state file being rewritten
    logging.warning('Cannot read the checkpoint state of %s: %s',
                    checkpoint_dir, e)
    return []
  if state is None:
    return []
  paths = []
  for path in state.all_model_checkpoint_paths:
    if not os.path.isabs(path):
      path = os.path.join(checkpoint_dir, path)
    if tf.gfile.Exists(path + '.index'):
      paths.append(path)
  return sorted(set(paths), key=_checkpoint_step_from_name)


def _checkpoint_step_from_name(path):
  suffix = path.rsplit('-', 1)[-1]
  return (int(suffix) if suffix.isdigit() else -1, path)


def evaluation_loop(evaluator, checkpoint_dir, eval_interval_secs=60,
                    timeout=None, max_evaluations=None, sleep=time.sleep,
                    clock=time.time):
  """Evaluates each new checkpoint of `checkpoint_dir` once.

  Args:
    evaluator: an `Evaluator`.
    checkpoint_dir: the training directory to watch.
    eval_interval_secs: seconds between looks for new checkpoints.
    timeout: stop after this many seconds without a new checkpoint (None =
      wait forever).
    max_evaluations: stop after this many evaluations (None = no limit).
    sleep: the sleep function (for tests).
    clock: the clock function (for tests).

  Returns:
    The list of metric dicts, one per evaluated checkpoint.
  """
  seen = set()
  results = []
  last_new = clock()
  while True:
    for checkpoint in list_checkpoints(checkpoint_dir):
      if checkpoint in seen:
        continue
      seen.add(checkpoint)
      try:
        results.append(evaluator.evaluate(checkpoint))
      except (tf.errors.NotFoundError, tf.errors.DataLossError,
              errors.UserError) as e:
        if tf.gfile.Exists(checkpoint + '.index'):
          raise
        logging.warning('Checkpoint %s was deleted before it could be '
                        'evaluated (rotated away?); skipping it. (%s)',
                        checkpoint, str(e).split('\n')[0])
        continue
      finally:
        # The timeout counts the wait for the next checkpoint, not the time
        # spent evaluating this one.
        last_new = clock()
      if max_evaluations and len(results) >= max_evaluations:
        return results
    waited = clock() - last_new
    if timeout is not None and waited >= timeout:
      logging.info('No new checkpoint in %s for %.0f s; stopping.',
                   checkpoint_dir, waited)
      return results
    pause = eval_interval_secs
    if timeout is not None:
      pause = min(pause, max(timeout - waited, 0.01))
    sleep(pause)
