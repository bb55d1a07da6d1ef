"""Tests for deployment.model_deploy: devices, clones, combined losses/gradients."""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from deployment import model_deploy

tf.disable_eager_execution()


class DeploymentConfigTest(tf.test.TestCase):

  def test_defaults_single_gpu(self):
    config = model_deploy.DeploymentConfig()
    self.assertEqual(config.clone_device(0), '/device:GPU:0')
    self.assertEqual(config.clone_scope(0), '')
    self.assertEqual(config.variables_device(), '/device:CPU:0')
    self.assertEqual(config.inputs_device(), '/device:CPU:0')
    self.assertEqual(config.optimizer_device(), '/device:CPU:0')
    self.assertIsNone(config.caching_device())
    self.assertEqual(config.ps_device, '')
    self.assertEqual(config.worker_device, '')

  def test_multi_gpu_devices_and_scopes(self):
    config = model_deploy.DeploymentConfig(num_clones=4)
    self.assertEqual([config.clone_device(i) for i in range(4)],
                     ['/device:GPU:%d' % i for i in range(4)])
    self.assertEqual([config.clone_scope(i) for i in range(4)],
                     ['clone_%d' % i for i in range(4)])
    with self.assertRaisesRegex(ValueError, 'clone_index'):
      config.clone_device(4)

  def test_clone_on_cpu(self):
    config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
    self.assertEqual(config.clone_device(0), '/device:CPU:0')
    self.assertEqual(config.clone_device(1), '/device:CPU:0')

  def test_ps_devices_round_robin(self):
    config = model_deploy.DeploymentConfig(num_clones=2, replica_id=1,
                                           num_replicas=2, num_ps_tasks=2)
    self.assertEqual(config.clone_device(1), '/job:worker/device:GPU:1')
    self.assertEqual(config.inputs_device(), '/job:worker/device:CPU:0')
    self.assertEqual(config.optimizer_device(), '/job:worker/device:CPU:0')
    self.assertEqual(config.ps_device, '/job:ps')
    self.assertIsNotNone(config.caching_device())
    with tf.Graph().as_default():
      with tf.device(config.variables_device()):
        a = tf.Variable(1.0, name='a')
        b = tf.Variable(1.0, name='b')
        c = tf.Variable(1.0, name='c')
        not_a_var = tf.constant(1.0)
      self.assertEqual(a.device, '/job:ps/task:0/device:CPU:0')
      self.assertEqual(b.device, '/job:ps/task:1/device:CPU:0')
      self.assertEqual(c.device, '/job:ps/task:0/device:CPU:0')
      self.assertEqual(not_a_var.device, '')

  def test_validation(self):
    with self.assertRaisesRegex(ValueError, 'num_ps_tasks'):
      model_deploy.DeploymentConfig(num_replicas=2)
    with self.assertRaisesRegex(ValueError, 'replica_id'):
      model_deploy.DeploymentConfig(num_replicas=2, num_ps_tasks=1,
                                    replica_id=2)
    with self.assertRaisesRegex(ValueError, 'num_clones'):
      model_deploy.DeploymentConfig(num_clones=0)


def _linear_model_fn(inputs, labels, reg=0.0):
  """y = x W + b with a squared loss and an optional L2 regularizer."""
  predictions = slim.fully_connected(
      inputs, 1, activation_fn=None, scope='linear',
      weights_initializer=tf.constant_initializer(0.5),
      weights_regularizer=slim.l2_regularizer(reg) if reg else None)
  # A batch-norm-like update op, to check UPDATE_OPS of the first clone only.
  counter = slim.model_variable('counter', shape=[], trainable=False,
                                initializer=tf.zeros_initializer())
  tf.add_to_collection(tf.GraphKeys.UPDATE_OPS,
                       tf.assign_add(counter, 1.0))
  tf.losses.mean_squared_error(labels, predictions)
  return predictions


class CloneTest(tf.test.TestCase):

  def _data(self):
    rng = np.random.RandomState(0)
    x = rng.randn(8, 3).astype(np.float32)
    y = rng.randn(8, 1).astype(np.float32)
    return x, y

  def test_two_clones_share_unprefixed_variables(self):
    with tf.Graph().as_default():
      x, y = self._data()
      config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
      clones = model_deploy.create_clones(
          config, _linear_model_fn, [tf.constant(x), tf.constant(y)])
      self.assertEqual(len(clones), 2)
      self.assertEqual([c.scope for c in clones], ['clone_0/', 'clone_1/'])
      self.assertEqual([c.device for c in clones], ['/device:CPU:0'] * 2)
      names = sorted(v.op.name for v in tf.global_variables())
      self.assertEqual(names, ['counter', 'linear/biases', 'linear/weights'])
      for v in tf.global_variables():
        self.assertEqual(v.device, '/device:CPU:0')
      self.assertTrue(clones[0].outputs.op.name.startswith('clone_0/'))
      self.assertTrue(clones[1].outputs.op.name.startswith('clone_1/'))
      self.assertEqual(len(tf.get_collection(tf.GraphKeys.LOSSES)), 2)

  def test_gradients_and_losses_are_averaged_over_clones(self):
    """Two clones on halves of a batch == one clone on the whole batch."""
    x, y = self._data()
    reg = 0.1

    def run(num_clones):
      with tf.Graph().as_default():
        config = model_deploy.DeploymentConfig(num_clones=num_clones,
                                               clone_on_cpu=True)
        halves = np.split(np.arange(8), num_clones)
        inputs = [(tf.constant(x[h]), tf.constant(y[h])) for h in halves]
        it = iter(inputs)

        def model_fn():
          xi, yi = next(it)
          return _linear_model_fn(xi, yi, reg=reg)

        clones = model_deploy.create_clones(config, model_fn)
        opt = tf.train.GradientDescentOptimizer(1.0)
        total_loss, grads_and_vars = model_deploy.optimize_clones(clones, opt)
        self.assertEqual(total_loss.op.name, 'total_loss')
        self.assertEqual(
            len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)), 1)
        with self.session() as sess:
          sess.run(tf.global_variables_initializer())
          loss, grads = sess.run(
              [total_loss, [g for g, _ in grads_and_vars]])
        return loss, grads, [v.op.name for _, v in grads_and_vars]

    loss1, grads1, names1 = run(1)
    loss2, grads2, names2 = run(2)
    self.assertEqual(names1, names2)
    self.assertEqual(names1, ['linear/weights', 'linear/biases'])
    # The averaged loss of equal halves equals the loss on the full batch,
    # and the regularization loss is counted once (first clone only).
    w = 0.5 * np.ones([3, 1])
    expected = np.mean((x.dot(w) - y) ** 2) + reg * 0.5 * np.sum(w ** 2)
    self.assertAllClose(loss1, expected, rtol=1e-5)
    self.assertAllClose(loss2, expected, rtol=1e-5)
    for g1, g2 in zip(grads1, grads2):
      self.assertAllClose(g1, g2, rtol=1e-5, atol=1e-6)

  def test_deploy_train_op_runs_first_clone_update_ops(self):
    with tf.Graph().as_default():
      x, y = self._data()
      config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
      model = model_deploy.deploy(
          config, _linear_model_fn, [tf.constant(x), tf.constant(y)],
          optimizer=tf.train.GradientDescentOptimizer(0.1),
          summarize_gradients=True)
      self.assertEqual(model.train_op.op.name, 'train_op')
      self.assertEqual(model.total_loss.op.name, 'total_loss')
      self.assertIsNotNone(model.summary_op)
      self.assertEqual(len(model.clones), 2)
      counter = [v for v in tf.global_variables()
                 if v.op.name == 'counter'][0]
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        loss0 = sess.run(model.total_loss)
        losses = [sess.run(model.train_op) for _ in range(5)]
        self.assertEqual(sess.run(tf.train.get_global_step()), 5)
        # Only the first clone's update op runs: +1 per step, not +2.
        self.assertEqual(sess.run(counter), 5.0)
        sess.run(model.summary_op)
      self.assertAllClose(losses[0], loss0)
      self.assertLess(losses[-1], losses[0])

  def test_deploy_without_optimizer(self):
    with tf.Graph().as_default():
      x, y = self._data()
      config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
      model = model_deploy.deploy(config, _linear_model_fn,
                                  [tf.constant(x), tf.constant(y)])
      self.assertIsNone(model.train_op)
      self.assertEqual(model.total_loss.op.name, 'total_loss')


if __name__ == '__main__':
  tf.test.main()
