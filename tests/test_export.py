"""Tests of train_lib.export: inference GraphDef and SavedModel.

The SavedModel is loaded and run in a fresh Python process on real encoded
PNG images, and its probabilities are compared with the same checkpoint run
in-process through the evaluation preprocessing.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import nets_factory
from preprocessing import preprocessing_factory
from tests import test_train_util as util
from train_lib import errors
from train_lib import export

tf.disable_eager_execution()

_PREDICT = r'''
import base64, json, sys
import tensorflow.compat.v1 as tf
export_dir, images = sys.argv[1], json.loads(sys.stdin.read())
with tf.Session(graph=tf.Graph()) as sess:
  meta = tf.saved_model.loader.load(sess, ['serve'], export_dir)
  sig = meta.signature_def['serving_default']
  feed = {sig.inputs['image_bytes'].name:
          [base64.b64decode(i) for i in images]}
  probs, classes = sess.run([sig.outputs['probabilities'].name,
                             sig.outputs['classes'].name], feed)
print(json.dumps({'probabilities': probs.tolist(),
                  'classes': classes.tolist()}))
'''


class InferenceGraphTest(tf.test.TestCase):

  def test_se_graph_has_input_and_se_ops(self):
    out = os.path.join(tempfile.mkdtemp(), 'graph.pb')
    node = export.export_inference_graph(
        'resnet_v1_50', 10, out, image_size=32, attention_module='se_block')
    self.assertTrue(node.startswith('resnet_v1_50/predictions/'), node)
    graph_def = tf.GraphDef()
    with open(out, 'rb') as f:
      graph_def.ParseFromString(f.read())
    nodes = {n.name: n for n in graph_def.node}
    self.assertIn(nodes[node].op, ('Softmax', 'Reshape'))
    self.assertEqual(nodes['input'].op, 'Placeholder')
    shape = [d.size for d in nodes['input'].attr['shape'].shape.dim]
    self.assertEqual(shape, [-1, 32, 32, 3])
    self.assertIn('resnet_v1_50/block1/unit_1/bottleneck_v1/se/fc2/Sigmoid',
                  nodes)
    self.assertFalse(any(n.op == 'Placeholder' and n.name != 'input'
                         for n in graph_def.node))

  def test_num_classes_and_errors(self):
    self.assertEqual(export.dataset_num_classes('imagenet', '', 1), 1000)
    self.assertEqual(export.dataset_num_classes('flowers'), 5)
    with self.assertRaisesRegex(errors.UserError, 'output_file'):
      export.export_inference_graph('resnet_v1_50', 10, '')


@pytest.mark.long
class SavedModelTest(tf.test.TestCase):

  def test_export_and_predict_in_fresh_process(self):
    ckpt_dir = tempfile.mkdtemp()
    util.write_model_checkpoint(
        os.path.join(ckpt_dir, 'model.ckpt-3'), 'resnet_v1_50', step=3,
        attention_module='se_block', network_kwargs=util.SMALL_RESNET, seed=3)
    tf.train.update_checkpoint_state(ckpt_dir,
                                     os.path.join(ckpt_dir, 'model.ckpt-3'))
    export_dir = os.path.join(tempfile.mkdtemp(), '1')
    export.export_saved_model(
        'resnet_v1_50', 10, ckpt_dir, export_dir, image_size=32,
        attention_module='se_block', network_kwargs=util.SMALL_RESNET)
    self.assertTrue(os.path.exists(os.path.join(export_dir,
                                                'saved_model.pb')))
    with self.assertRaisesRegex(errors.UserError, 'already exists'):
      export.export_saved_model('resnet_v1_50', 10, ckpt_dir, export_dir)

    images = util.digits_png_bytes(count=3)
    import base64  # pylint: disable=g-import-not-at-top
    proc = subprocess.run(
        [sys.executable, '-c', _PREDICT, export_dir],
        input=json.dumps([base64.b64encode(i).decode('ascii')
                          for i in images]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, timeout=240,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
    self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    probs = np.array(served['probabilities'])
    self.assertEqual(probs.shape, (3, 10))
    self.assertAllClose(probs.sum(axis=1), np.ones(3), atol=1e-5)
    self.assertEqual(served['classes'], list(np.argmax(probs, axis=1)))

    # The same checkpoint in-process, through the evaluation preprocessing.
    with tf.Graph().as_default():
      network_fn = nets_factory.get_network_fn(
          'resnet_v1_50', 10, attention_module='se_block')
      preprocess = preprocessing_factory.get_preprocessing('resnet_v1_50')
      batch = tf.stack([preprocess(tf.image.decode_png(i, channels=3), 32, 32)
                        for i in images])
      logits, _ = network_fn(batch, **util.SMALL_RESNET)
      saver = tf.train.Saver(slim.get_model_variables())
      with self.session() as sess:
        saver.restore(sess, os.path.join(ckpt_dir, 'model.ckpt-3'))
        expected = sess.run(tf.nn.softmax(logits))
    self.assertAllClose(probs, expected, rtol=1e-4, atol=1e-5)


if __name__ == '__main__':
  tf.test.main()
