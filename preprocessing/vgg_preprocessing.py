"""VGG preprocessing, as TF-Slim defines it (also used for ResNet v1).

Training: resize so the smaller side is a random integer in [256, 512]
(aspect ratio kept, bilinear), take a random crop of the output size, random
horizontal flip. Evaluation: resize the smaller side to 256, central crop.
Both then subtract the ImageNet RGB means (123.68, 116.78, 103.94) on the
0..255 scale; there is no rescaling.

Typical use:

    from preprocessing import vgg_preprocessing
    image = vgg_preprocessing.preprocess_image(uint8_image, 224, 224)
    # float32 [224, 224, 3], roughly in [-124, 152]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf

R_MEAN = 123.68
G_MEAN = 116.78
B_MEAN = 103.94
# Mean of a grayscale image made with tf.image.rgb_to_grayscale's weights.
GRAY_MEAN = 0.2989 * R_MEAN + 0.5870 * G_MEAN + 0.1140 * B_MEAN
RESIZE_SIDE_MIN = 256
RESIZE_SIDE_MAX = 512


def _smaller_side_to(image, side):
  """Bilinear resize keeping aspect ratio so min(H, W) == side."""
  shape = tf.shape(image)
  height = tf.cast(shape[0], tf.float32)
  width = tf.cast(shape[1], tf.float32)
  side_f = tf.cast(side, tf.float32)
  scale = side_f / tf.minimum(height, width)
  new_height = tf.cast(tf.round(height * scale), tf.int32)
  new_width = tf.cast(tf.round(width * scale), tf.int32)
  # Rounding may miss `side` by one on the smaller axis; pin it exactly.
  height_is_smaller = height <= width
  side_i = tf.cast(side, tf.int32)
  new_height = tf.where_v2(height_is_smaller, side_i, new_height)
  new_width = tf.where_v2(height_is_smaller, new_width, side_i)
  resized = tf.image.resize_bilinear(tf.expand_dims(image, 0),
                                     tf.stack([new_height, new_width]),
                                     align_corners=False)
  resized = tf.squeeze(resized, [0])
  resized.set_shape([None, None, image.get_shape()[-1]])
  return resized


def _central_crop(image, height, width):
  shape = tf.shape(image)
  top = (shape[0] - height) // 2
  left = (shape[1] - width) // 2
  crop = tf.slice(image, tf.stack([top, left, 0]),
                  tf.stack([height, width, -1]))
  crop.set_shape([height, width, image.get_shape()[-1]])
  return crop


def mean_image_subtraction(image, means=(R_MEAN, G_MEAN, B_MEAN)):
  """Subtracts per-channel means; 1-channel images use `GRAY_MEAN`.

  Args:
    image: float tensor [H, W, C] with C == len(means), or C == 1.
    means: per-channel means.

  Returns:
    float32 [H, W, C].

  Raises:
    ValueError: the channel count is known and matches neither.
  """
  channels = image.get_shape().as_list()[-1]
  if channels == 1:
    return image - GRAY_MEAN
  if channels is not None and channels != len(means):
    raise ValueError('vgg mean subtraction needs %d or 1 channels, got %d' %
                     (len(means), channels))
  return image - tf.constant(means, dtype=image.dtype)


def preprocess_for_train(image, output_height, output_width,
                         resize_side_min=RESIZE_SIDE_MIN,
                         resize_side_max=RESIZE_SIDE_MAX, use_grayscale=False):
  """Random-scale, random crop, flip, mean subtraction; float32 [h, w, C]."""
  side = tf.random_uniform([], minval=resize_side_min,
                           maxval=resize_side_max + 1, dtype=tf.int32)
  image = _smaller_side_to(tf.cast(image, tf.float32), side)
  channels = image.get_shape().as_list()[-1] or tf.shape(image)[-1]
  image = tf.image.random_crop(image, [output_height, output_width, channels])
  image = tf.image.random_flip_left_right(image)
  if use_grayscale:
    image = tf.image.rgb_to_grayscale(image)
  return mean_image_subtraction(image)


def preprocess_for_eval(image, output_height, output_width,
                        resize_side=RESIZE_SIDE_MIN, use_grayscale=False):
  """Smaller side to 256, central crop, mean subtraction; float32 [h, w, C]."""
  image = _smaller_side_to(tf.cast(image, tf.float32), resize_side)
  image = _central_crop(image, output_height, output_width)
  if use_grayscale:
    image = tf.image.rgb_to_grayscale(image)
  return mean_image_subtraction(image)


def preprocess_image(image, output_height, output_width, is_training=False,
                     use_grayscale=False, **kwargs):
  """Preprocesses one image for VGG / ResNet v1.

  Args:
    image: uint8 tensor [H, W, C].
    output_height: output height.
    output_width: output width.
    is_training: training augmentation instead of the evaluation crop.
    use_grayscale: convert RGB to one channel (minus `GRAY_MEAN`).
    **kwargs: `resize_side_min`/`resize_side_max` (training) or
      `resize_side` (evaluation).

  Returns:
    float32 [output_height, output_width, C'].
  """
  if is_training:
    return preprocess_for_train(image, output_height, output_width,
                                use_grayscale=use_grayscale, **kwargs)
  return preprocess_for_eval(image, output_height, output_width,
                             use_grayscale=use_grayscale, **kwargs)
