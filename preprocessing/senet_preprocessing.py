"""Preprocessing of the released SENet ImageNet weights (PyTorch ports).

What timm's and Cadene's ports of the SENet weights [1] expect: RGB scaled to
[0, 1], then normalised per channel with the ImageNet mean
(0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225). Evaluation resizes the
shorter side to `floor(size / 0.875)` (256 for 224) with bilinear
interpolation and takes the central `size x size` crop (timm's `crop_pct`
0.875, `interpolation='bilinear'`). The resize is antialiased, as PIL's
bilinear filter that timm's evaluation uses is when it shrinks; plain
`resize_bilinear` would alias on large photos.

Training (fine-tuning) takes a random crop of 8% to 100% of the area with
aspect ratio in [3/4, 4/3], resizes it to the output size and flips it at
random (the random-size cropping of [1], Sec. 6.1), with the same
normalisation.

References:
  [1] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.

Typical use:

    from preprocessing import senet_preprocessing
    image = senet_preprocessing.preprocess_image(uint8_image, 224, 224)
    # float32 [224, 224, 3], about [-2.1, 2.6]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import math

import tensorflow as tf_api  # for compat.v2's antialiased resize
import tensorflow.compat.v1 as tf

from preprocessing import inception_preprocessing

MEAN_RGB = (0.485, 0.456, 0.406)
STD_RGB = (0.229, 0.224, 0.225)
CROP_FRACTION = 0.875


def normalize(image):
  """`(image / 255 - MEAN_RGB) / STD_RGB` for a float [H, W, 3] in 0..255."""
  return ((image / 255.0 - tf.constant(MEAN_RGB, dtype=image.dtype)) /
          tf.constant(STD_RGB, dtype=image.dtype))


def _to_rgb(image):
  """Single-channel images (e.g. MNIST, digits) are repeated to RGB."""
  if image.get_shape().as_list()[-1] == 1:
    return tf.image.grayscale_to_rgb(image)
  return image


def _resize(image, size):
  # The v1 resize has no antialias; compat.v2's has, on TF 1.15 and 2.x.
  resized = tf_api.compat.v2.image.resize(image, size, method='bilinear',
                                          antialias=True)
  return tf.cast(resized, tf.float32)


def preprocess_for_eval(image, output_height, output_width,
                        crop_fraction=CROP_FRACTION):
  """Shorter side to `floor(min(h, w) / crop_fraction)`, central crop.

  Args:
    image: uint8 tensor [H, W, 3] (or [H, W, 1], repeated to RGB).
    output_height: crop height.
    output_width: crop width.
    crop_fraction: share of the resized shorter side the crop keeps.

  Returns:
    float32 [output_height, output_width, 3], normalised.
  """
  side = int(math.floor(min(output_height, output_width) / crop_fraction))
  image = _to_rgb(image)
  shape = tf.shape(image)
  height = tf.cast(shape[0], tf.float64)
  width = tf.cast(shape[1], tf.float64)
  scale = side / tf.minimum(height, width)
  # The shorter side becomes exactly `side`; the other keeps the aspect.
  new_height = tf.maximum(tf.cast(tf.round(height * scale), tf.int32), side)
  new_width = tf.maximum(tf.cast(tf.round(width * scale), tf.int32), side)
  image = _resize(tf.cast(image, tf.float32), tf.stack([new_height,
                                                        new_width]))
  top = (new_height - output_height) // 2
  left = (new_width - output_width) // 2
  image = tf.slice(image, tf.stack([top, left, 0]),
                   [output_height, output_width, 3])
  image.set_shape([output_height, output_width, 3])
  return normalize(image)


def preprocess_for_train(image, output_height, output_width):
  """Random-size crop (8-100% of the area), resize, flip; normalised.

  Args:
    image: uint8 tensor [H, W, 3] (or [H, W, 1], repeated to RGB).
    output_height: output height.
    output_width: output width.

  Returns:
    float32 [output_height, output_width, 3].
  """
  image = _to_rgb(image)
  whole = tf.constant([0.0, 0.0, 1.0, 1.0], dtype=tf.float32, shape=[1, 1, 4])
  crop, _ = inception_preprocessing.distorted_bounding_box_crop(
      image, whole, min_object_covered=0.0, aspect_ratio_range=(3. / 4, 4. / 3),
      area_range=(0.08, 1.0))
  image = _resize(tf.cast(crop, tf.float32), [output_height, output_width])
  image = tf.image.random_flip_left_right(image)
  image.set_shape([output_height, output_width, 3])
  return normalize(image)


def preprocess_image(image, output_height, output_width, is_training=False,
                     use_grayscale=False, **kwargs):
  """Preprocesses one RGB image for the released SENet weights.

  Args:
    image: uint8 tensor [H, W, 3].
    output_height: output height.
    output_width: output width.
    is_training: random-size crop and flip instead of the central crop.
    use_grayscale: not supported (the weights take RGB); must be False.
    **kwargs: `crop_fraction` (evaluation only).

  Returns:
    float32 [output_height, output_width, 3].

  Raises:
    ValueError: if `use_grayscale` is set.
  """
  if use_grayscale:
    raise ValueError('senet preprocessing takes RGB only (the released '
                     'weights do); use_grayscale=True is not supported')
  if is_training:
    return preprocess_for_train(image, output_height, output_width)
  return preprocess_for_eval(image, output_height, output_width, **kwargs)
