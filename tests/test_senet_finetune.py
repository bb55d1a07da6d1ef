"""Fine-tuning from converted SE-ResNet-50 weights, end to end, offline.

A seeded random state dict in timm's layout stands in for the downloaded
file: tools/convert_senet_weights.py turns it into a Slim checkpoint, which
train_image_classifier.py fine-tunes on the digits records with a new
10-class head (--checkpoint_exclude_scopes), eval_image_classifier.py
evaluates, and the SavedModel export takes the converted checkpoint as is.
Small images (64 x 64) and three steps keep it to a couple of minutes.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os
import re

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tests import test_train_util as util
from tools import senet_weights
from train_lib import export

NAME = 'se_resnet50'
# Script timeouts are generous: a loaded 2-core machine runs them ten times
# slower than a quiet one (convert ~20 s, train ~60 s, eval ~30 s there).


def _read(prefix, name):
  return tf.train.load_checkpoint(prefix).get_tensor(name)


@pytest.mark.long
def test_convert_finetune_evaluate_export(tmp_path):
  weights = str(tmp_path / 'model.safetensors')
  senet_weights.write_safetensors(weights,
                                  senet_weights.seeded_state_dict(NAME, 5))
  prefix = str(tmp_path / 'converted' / 'model.ckpt')
  proc = util.run_script('tools/convert_senet_weights.py', [
      '--input=%s' % weights, '--model_name=%s' % NAME,
      '--output=%s' % prefix], timeout=900)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert ('se_resnet50: mapped 331 tensors from %s (conv 53, bn 212, se 64, '
          'logits 2, skipped 0) -> %s' % (weights, prefix)) in proc.stdout
  assert sorted(os.listdir(str(tmp_path / 'converted'))) == [
      'model.ckpt.data-00000-of-00001', 'model.ckpt.index']

  train_dir = str(tmp_path / 'train')
  common = ['--model_name=%s' % NAME, '--dataset_name=digits',
            '--dataset_dir=%s' % util.digits_dir()]
  proc = util.run_script('train_image_classifier.py', common + [
      '--train_dir=%s' % train_dir, '--train_image_size=64',
      '--checkpoint_path=%s' % prefix,
      '--checkpoint_exclude_scopes=%s/logits' % NAME,
      '--batch_size=4', '--max_number_of_steps=3', '--log_every_n_steps=1',
      '--num_readers=1', '--learning_rate=0.001'], timeout=900)
  assert proc.returncode == 0, proc.stderr[-3000:]
  # 331 variables: all but the new head's two come from the conversion.
  assert 'restored 329 variables, excluded 2, newly initialised 0' in (
      proc.stderr)
  final = tf.train.latest_checkpoint(train_dir)
  assert final.endswith('model.ckpt-3')
  # The trunk starts from the converted weights and moves only a little.
  start = _read(prefix, NAME + '/conv1/weights')
  end = _read(final, NAME + '/conv1/weights')
  assert 0 < np.abs(end - start).max() < 0.05 * np.abs(start).max()
  assert _read(final, NAME + '/logits/weights').shape == (1, 1, 2048, 10)

  proc = util.run_script('eval_image_classifier.py', common + [
      '--checkpoint_path=%s' % train_dir, '--eval_dir=%s' % (tmp_path / 'ev'),
      '--dataset_split_name=validation', '--eval_image_size=64',
      '--batch_size=10', '--max_num_batches=1'], timeout=900)
  assert proc.returncode == 0, proc.stderr[-3000:]
  match = re.search(r'model\.ckpt-3 \(step 3, 10 examples.*eval/Accuracy='
                    r'([0-9.]+)', proc.stdout)
  assert match and 0.0 <= float(match.group(1)) <= 1.0, proc.stdout

  # The converted 1000-class checkpoint exports as it is.
  export_dir = str(tmp_path / 'export')
  export.export_saved_model(NAME, 1000, prefix, export_dir, image_size=64)
  with tf.Graph().as_default(), tf.Session() as sess:
    tf.saved_model.loader.load(sess, ['serve'], export_dir)
    probs = sess.run('probabilities:0',
                     {'image_bytes:0': util.digits_png_bytes(count=2)})
  assert probs.shape == (2, 1000)
  np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
