"""Command-line tests: bad flags, flag files, and one run of each script.

Each bad flag must end the script with a non-zero status and a single line
on stderr that names the valid choices, without a traceback.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import glob
import os
import tempfile

import numpy as np
import tensorflow.compat.v1 as tf
from absl.testing import parameterized

from nets import attention
from nets import nets_factory
from tests import test_train_util as util

tf.disable_eager_execution()

TRAIN = 'train_image_classifier.py'
EVAL = 'eval_image_classifier.py'
LOOP = 'eval_image_classifier_loop.py'
EXPORT = 'export_inference_graph.py'
SAVED_MODEL = 'export_saved_model.py'

_DATA = ['--dataset_dir=/nonexistent']


class BadFlagsTest(parameterized.TestCase):

  def _check_one_line_error(self, script, args, *expected, fresh=False):
    proc = util.run_script(script, args, timeout=120, fresh=fresh)
    self.assertNotEqual(proc.returncode, 0)
    lines = proc.stderr.strip().splitlines()
    self.assertEqual(len(lines), 1, proc.stderr[-3000:])
    self.assertNotIn('Traceback', proc.stderr)
    for text in expected:
      self.assertIn(text, lines[0])
    return lines[0]

  @parameterized.named_parameters(
      ('train_model', TRAIN, ['--model_name=resnet_v9'] + _DATA,
       'value should be one of <', 'resnet_v1_50|'),
      ('train_dataset', TRAIN, ['--dataset_name=cifar100'] + _DATA,
       '<cifar10|digits|flowers|image_folder|imagenet|mnist>'),
      ('train_optimizer', TRAIN, ['--optimizer=lamb'] + _DATA,
       '<adadelta|adagrad|adam|ftrl|momentum|rmsprop|sgd>'),
      ('train_attention', TRAIN, ['--attention_module=cbam'] + _DATA,
       '<%s>' % '|'.join(attention.flag_choices())),
      ('train_missing_dataset_dir', TRAIN, [], '--dataset_dir is required'),
      ('train_reduction_ratio', TRAIN, ['--reduction_ratio=0'] + _DATA,
       '--reduction_ratio=0'),
      ('train_quantize', TRAIN, ['--quantize_delay=100'] + _DATA,
       'tf.contrib.quantize'),
      ('eval_model', EVAL, ['--model_name=resnet_v9'] + _DATA,
       'resnet_v1_50|'),
      ('eval_missing_dataset_dir', EVAL, [], '--dataset_dir is required'),
      ('loop_attention', LOOP, ['--attention_module=cbam'] + _DATA,
       '<%s>' % '|'.join(attention.flag_choices())),
      ('export_model', EXPORT, ['--model_name=resnet_v9',
                                '--output_file=/tmp/x.pb'], 'resnet_v1_50|'),
      ('saved_model_missing_export_dir', SAVED_MODEL,
       ['--checkpoint_path=/tmp/x'], '--export_dir is required'),
  )
  def test_bad_flag(self, script, args, *expected):
    self._check_one_line_error(script, args, *expected)

  @parameterized.parameters(TRAIN, EVAL)
  def test_one_line_from_a_fresh_interpreter(self, script):
    # The cases above run forked from a process that imported TensorFlow
    # once (tests/script_server.py); here the script imports it itself, so
    # TF's start-up notes would show up on stderr if tf_compat let them by.
    self._check_one_line_error(script, ['--model_name=resnet_v9'] + _DATA,
                               'resnet_v1_50|', fresh=True)

  def test_runtime_user_errors_are_one_line(self):
    # A model that takes no attention module: the factory's message.
    line = self._check_one_line_error(
        TRAIN, ['--model_name=mobilenet_v1', '--attention_module=se_block',
                '--dataset_name=digits', '--dataset_dir=%s' %
                util.digits_dir(), '--train_dir=%s' % tempfile.mkdtemp()],
        'mobilenet_v1 does not support attention_module')
    self.assertIn('resnet_v1_50', line)
    self._check_one_line_error(
        EVAL, ['--model_name=resnet_v1_50', '--dataset_name=digits',
               '--dataset_dir=/nonexistent'],
        "Unknown split_name 'test' for dataset 'digits'; expected one of: "
        'train, validation')


class FlagFileTest(parameterized.TestCase):

  @parameterized.parameters(*sorted(
      glob.glob(os.path.join(util.REPO, 'configs', '*.flags'))))
  def test_recipe_parses(self, path):
    proc = util.run_script(TRAIN, ['--flagfile=%s' % path,
                                   '--dataset_dir=/data', '--only_check_args'],
                           timeout=120)
    self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])


class ScriptsEndToEndTest(tf.test.TestCase):
  """Train, eval and export through the command line (small MobileNet)."""

  def test_train_eval_export(self):
    train_dir = tempfile.mkdtemp()
    common = ['--model_name=%s' % util.SMALL_MODEL, '--dataset_name=digits',
              '--dataset_dir=%s' % util.digits_dir()]
    proc = util.run_script(TRAIN, common + [
        '--train_dir=%s' % train_dir, '--train_image_size=32',
        '--batch_size=4', '--max_number_of_steps=3', '--log_every_n_steps=1',
        '--num_readers=1', '--optimizer=adam'])
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn('step 3: loss = ', proc.stderr)
    self.assertEqual(tf.train.latest_checkpoint(train_dir),
                     os.path.join(train_dir, 'model.ckpt-3'))
    # flags.txt holds the resolved flags and is itself a valid flag file.
    flags_txt = os.path.join(train_dir, 'flags.txt')
    with open(flags_txt) as f:
      text = f.read()
    self.assertIn('--max_number_of_steps=3\n', text)
    self.assertIn('--optimizer=adam\n', text)
    proc = util.run_script(TRAIN, ['--flagfile=%s' % flags_txt,
                                   '--only_check_args'], timeout=120)
    self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])

    eval_dir = tempfile.mkdtemp()
    proc = util.run_script(EVAL, common + [
        '--checkpoint_path=%s' % train_dir, '--eval_dir=%s' % eval_dir,
        '--dataset_split_name=validation', '--eval_image_size=32',
        '--batch_size=20', '--max_num_batches=2'])
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn('model.ckpt-3 (step 3, 40 examples', proc.stdout)
    self.assertIn('eval/Accuracy=', proc.stdout)
    scalars = util.event_scalars(eval_dir)
    self.assertEqual(scalars['eval/Recall_5'][0][0], 3)
    accuracy = scalars['eval/Accuracy'][0][1]
    self.assertAllClose(scalars['eval/Top1_error'][0][1], 1 - accuracy)

    graph = os.path.join(tempfile.mkdtemp(), 'graph.pbtxt')
    proc = util.run_script(EXPORT, [
        '--model_name=%s' % util.SMALL_MODEL, '--dataset_name=digits',
        '--image_size=32', '--batch_size=1', '--write_text_graphdef',
        '--output_file=%s' % graph])
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    with open(graph) as f:
      self.assertIn('name: "input"', f.read())

    export_dir = os.path.join(tempfile.mkdtemp(), 'export')
    proc = util.run_script(SAVED_MODEL, common + [
        '--checkpoint_path=%s' % train_dir, '--image_size=32',
        '--export_dir=%s' % export_dir])
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertTrue(os.path.exists(os.path.join(export_dir,
                                                'saved_model.pb')))


if __name__ == '__main__':
  tf.test.main()
