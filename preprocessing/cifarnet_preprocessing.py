"""CifarNet preprocessing, as TF-Slim defines it.

Training: pad 4 pixels of zeros on each side, take a random crop of the output
size, random horizontal flip, random brightness (max delta 63 on the 0..255
scale) and contrast (0.2 .. 1.8), then per-image standardization.
Evaluation: crop or pad to the output size, then per-image standardization.
Pixel values stay on the 0..255 scale until standardization, as in Slim.

Typical use:

    from preprocessing import cifarnet_preprocessing
    image = cifarnet_preprocessing.preprocess_image(uint8_image, 32, 32,
                                                    is_training=True)
    # float32 [32, 32, 3], zero mean and unit variance per image
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf

_PADDING = 4


def preprocess_for_train(image, output_height, output_width, padding=_PADDING,
                         use_grayscale=False):
  """Random crop/flip/brightness/contrast; returns float32 [h, w, C]."""
  image = tf.cast(image, tf.float32)
  if use_grayscale:
    image = tf.image.rgb_to_grayscale(image)
  channels = image.get_shape().as_list()[-1] or tf.shape(image)[-1]
  if padding > 0:
    image = tf.pad(image, [[padding, padding], [padding, padding], [0, 0]])
  image = tf.image.random_crop(image, [output_height, output_width, channels])
  image = tf.image.random_flip_left_right(image)
  image = tf.image.random_brightness(image, max_delta=63)
  image = tf.image.random_contrast(image, lower=0.2, upper=1.8)
  return tf.image.per_image_standardization(image)


def preprocess_for_eval(image, output_height, output_width,
                        use_grayscale=False):
  """Central crop or pad; returns float32 [h, w, C], standardized."""
  image = tf.cast(image, tf.float32)
  if use_grayscale:
    image = tf.image.rgb_to_grayscale(image)
  image = tf.image.resize_with_crop_or_pad(image, output_height, output_width)
  return tf.image.per_image_standardization(image)


def preprocess_image(image, output_height, output_width, is_training=False,
                     use_grayscale=False, **kwargs):
  """Preprocesses one image for CifarNet.

  Args:
    image: uint8 tensor [H, W, C].
    output_height: output height.
    output_width: output width.
    is_training: training augmentation instead of the evaluation crop.
    use_grayscale: convert RGB input to one channel first.
    **kwargs: `padding` (training only, default 4).

  Returns:
    float32 [output_height, output_width, C'].
  """
  if is_training:
    return preprocess_for_train(image, output_height, output_width,
                                use_grayscale=use_grayscale, **kwargs)
  return preprocess_for_eval(image, output_height, output_width,
                             use_grayscale=use_grayscale)
