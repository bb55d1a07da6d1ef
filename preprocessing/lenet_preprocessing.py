"""LeNet preprocessing, as TF-Slim defines it: crop/pad, then (x - 128) / 128.

Training and evaluation are the same (no augmentation).

Typical use:

    from preprocessing import lenet_preprocessing
    image = lenet_preprocessing.preprocess_image(uint8_image, 28, 28)
    # float32 [28, 28, C], values in [-1, 127/128]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf


def preprocess_image(image, output_height, output_width, is_training=False,
                     use_grayscale=False):
  """Preprocesses one image for LeNet.

  Args:
    image: uint8 (or float in 0..255) tensor [H, W, C].
    output_height: output height.
    output_width: output width.
    is_training: unused (LeNet has no augmentation); kept for the common
      signature.
    use_grayscale: convert RGB input to one channel first.

  Returns:
    float32 [output_height, output_width, C'] with (x - 128) / 128.
  """
  del is_training
  image = tf.cast(image, tf.float32)
  if use_grayscale:
    image = tf.image.rgb_to_grayscale(image)
  image = tf.image.resize_with_crop_or_pad(image, output_height, output_width)
  return (image - 128.0) / 128.0
