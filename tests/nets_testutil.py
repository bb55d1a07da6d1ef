"""Helpers for model tests: reference lists and graph-building shortcuts."""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import json
import os

import tensorflow.compat.v1 as tf
from tensorflow.core.protobuf import rewriter_config_pb2

from nets import nets_factory

REFERENCE_DIR = os.path.join(os.path.dirname(__file__), 'data',
                             'slim_variables')

# Input sizes for the tests that run a model: small, but large enough for each
# model's stride and kernel sizes. Models not listed use 64.
TEST_IMAGE_SIZES = {
    'cifarnet': 32,
    'lenet': 28,
    'nasnet_cifar': 32,
    # Fully convolutional heads: logits must come out 1x1 to be squeezed.
    'alexnet_v2': 195,
    'inception_v1': 193,
    'overfeat': 231,
    'vgg_a': 224,
    'vgg_16': 224,
    'vgg_19': 224,
    # The aux head's 5x5 pool needs a 5x5 map at Mixed_6e / the 17x17 stage.
    'inception_v3': 107,
    'inception_v4': 107,
    'inception_resnet_v2': 107,
    # The aux head's 5x5 pool needs a 5x5 map at 1/16 of the input.
    'nasnet_mobile': 67,
    'nasnet_large': 67,
    'pnasnet_mobile': 67,
    'pnasnet_large': 67,
}


# Sessions for big test graphs: grappler's rewrites cost more time than they
# save on a graph run once (NASNet: 15 s of a 28 s first run).
FAST_SESSION = tf.ConfigProto(graph_options=tf.GraphOptions(
    rewrite_options=rewriter_config_pb2.RewriterConfig(
        disable_meta_optimizer=True)))


def test_image_size(name):
  return TEST_IMAGE_SIZES.get(name, 64)


def load_reference(name):
  """Returns the reference dict of Slim's published model `name`."""
  with open(os.path.join(REFERENCE_DIR, name + '.json')) as f:
    return json.load(f)


def input_channels(name):
  # Slim builds LeNet for MNIST's single channel.
  return 1 if name == 'lenet' else 3


def build(name, num_classes, image_size=None, batch_size=1, is_training=True,
          attention_module=None, reduction_ratio=16, graph=None):
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
        attention_module=attention_module, reduction_ratio=reduction_ratio)
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
