"""Helpers for model tests: reference lists and graph-building shortcuts."""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import json
import os

import numpy as np
import tensorflow.compat.v1 as tf
from tensorflow.core.protobuf import rewriter_config_pb2

from nets import nets_factory

REFERENCE_DIR = os.path.join(os.path.dirname(__file__), 'data',
                             'slim_variables')

# Sessions for big test graphs: grappler's rewrites cost more time than they
# save on a graph run once (NASNet: 15 s of a 28 s first run).
FAST_SESSION = tf.ConfigProto(graph_options=tf.GraphOptions(
    rewrite_options=rewriter_config_pb2.RewriterConfig(
        disable_meta_optimizer=True)))


def load_reference(name):
  """Returns the reference dict of Slim's published model `name`."""
  with open(os.path.join(REFERENCE_DIR, name + '.json')) as f:
    return json.load(f)


def with_classes(shape, ref_classes, num_classes):
  """`shape` with a trailing class dimension `ref_classes` set to `num_classes`."""
  if shape and shape[-1] == ref_classes:
    return shape[:-1] + [num_classes]
  return shape


def reference_param_count(name, num_classes):
  """Trainable parameters of Slim's published `name` with `num_classes` classes.

  The reference's total (built with its own class count, e.g. 1001) less the
  rows of its logits layer(s) that `num_classes` does not have.

  Raises:
    ValueError: the reference has no variable with a class dimension.
  """
  ref = load_reference(name)
  class_rows = sum(
      np.prod(s) - np.prod(with_classes(s, ref['num_classes'], num_classes))
      for _, s in ref['variables'])
  if not any(s and s[-1] == ref['num_classes'] for _, s in ref['variables']):
    raise ValueError('%s: no variable of the reference has its %d classes' %
                     (name, ref['num_classes']))
  return ref['total_params'] - class_rows


def input_channels(name):
  # Slim builds LeNet for MNIST's single channel.
  return 1 if name == 'lenet' else 3


def build(name, num_classes, image_size=None, batch_size=1, is_training=True,
          attention_module=None, reduction_ratio=16, graph=None,
          attention_position='standard'):
  """Builds `name` in `graph` (new by default) the way Slim's training does.

  A global step is created first, as `train_image_classifier.py` does, since
  some models (NASNet's drop path) read it.

  Returns:
    (graph, images placeholder, logits, end_points)
  """
  graph = graph or tf.Graph()
  spec = nets_factory.get_model_spec(name)
  size = image_size or spec.default_image_size
  with graph.as_default():
    tf.train.get_or_create_global_step()
    network_fn = nets_factory.get_network_fn(
        name, num_classes, weight_decay=0.0, is_training=is_training,
        attention_module=attention_module, reduction_ratio=reduction_ratio,
        attention_position=attention_position)
    images = tf.placeholder(tf.float32,
                            [batch_size, size, size, input_channels(name)],
                            name='images')
    logits, end_points = network_fn(images)
  return graph, images, logits, end_points


def model_variables(graph):
  """`[(name, shape)]` of the graph's global variables but the global step."""
  with graph.as_default():
    return [(v.op.name, v.shape.as_list()) for v in tf.global_variables()
            if v.op.name != 'global_step']


def trainable_param_count(graph):
  with graph.as_default():
    return sum(v.shape.num_elements() for v in tf.trainable_variables())
