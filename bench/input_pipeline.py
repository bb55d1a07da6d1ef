r"""Benchmark: images/s of read + decode + preprocess in the tf.data pipeline.

Writes small synthetic record sets to a temporary directory (JPEGs of 500x375
for inception at 224, 32x32 PNGs for cifarnet at 32), runs
`datasets.input_pipeline.build_dataset` in training mode with 1 and 2
threads (num_readers = num_preprocessing_threads = threads), and prints a
Markdown table. No model runs; this is the input side alone.

Usage:

    python bench/input_pipeline.py --num_images=1024
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import io
import os
import shutil
import sys
import tempfile
import time

import numpy as np
from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
# pylint: disable=g-import-not-at-top,wrong-import-position
import tf_compat  # before TensorFlow: quiets it and, on TF 2, makes it TF 1
import tensorflow.compat.v1 as tf
from datasets import dataset_factory
from datasets import dataset_utils
from datasets import input_pipeline
from preprocessing import preprocessing_factory

FLAGS = flags.FLAGS
flags.DEFINE_integer('num_images', 1024, 'Images timed per configuration '
                     '(after a warm-up of 2 batches).')
flags.DEFINE_integer('batch_size', 32, 'Batch size.')
flags.DEFINE_string('threads', '1,2', 'Comma list of thread counts.')

# (preprocessing, image size, source height, width, encoding)
CONFIGS = [('inception', 224, 375, 500, 'jpeg'),
           ('cifarnet', 32, 32, 32, 'png')]
_UNIQUE_IMAGES = 256  # Records per set; the pipeline repeats them.


def _write_records(directory, height, width, encoding, num_shards=4):
  from PIL import Image
  rng = np.random.RandomState(0)
  examples = []
  for i in range(_UNIQUE_IMAGES):
    # Smooth content compresses like a photo; noise would not.
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([(x * (i % 7 + 1)) % 256, (y * 3 + i) % 256,
                       np.full_like(x, rng.randint(256))], -1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format='JPEG' if encoding == 'jpeg'
                                 else 'PNG', quality=90)
    examples.append(dataset_utils.image_to_tfexample(
        buf.getvalue(), encoding.encode(), height, width,
        i % 10).SerializeToString())
  files = dataset_utils.write_sharded(
      examples, directory, 'bench_%(split)s_%(shard)05d-of-%(num)05d',
      'train', num_shards)
  return dataset_factory.DatasetSplit(
      name='bench', split_name='train', dataset_dir=directory,
      file_pattern='bench_train_*', files=files, num_samples=len(examples),
      num_classes=10, labels_to_names=None, channels=3)


def measure(split, preprocessing, size, threads, num_images, batch_size):
  """Returns images/s of the training pipeline for one configuration."""
  with tf.Graph().as_default():
    fn = preprocessing_factory.get_preprocessing(preprocessing,
                                                 is_training=True)
    ds = input_pipeline.build_dataset(
        split, fn, batch_size=batch_size, image_size=size, is_training=True,
        num_readers=threads, num_preprocessing_threads=threads, seed=0)
    images, _ = tf.data.make_one_shot_iterator(ds).get_next()
    # Reduce to a scalar so fetching to Python does not dominate the timing.
    done = tf.reduce_sum(images[:, 0, 0, 0])
    config = tf.ConfigProto(intra_op_parallelism_threads=threads,
                            inter_op_parallelism_threads=threads)
    with tf.Session(config=config) as sess:
      for _ in range(2):
        sess.run(done)
      batches = max(1, -(-num_images // batch_size))
      start = time.time()
      for _ in range(batches):
        sess.run(done)
      return batches * batch_size / (time.time() - start)


def main(argv):
  del argv
  threads = [int(t) for t in FLAGS.threads.split(',')]
  root = tempfile.mkdtemp(prefix='bench_input_pipeline_')
  try:
    rows = []
    for preprocessing, size, height, width, encoding in CONFIGS:
      directory = os.path.join(root, preprocessing)
      os.makedirs(directory)
      split = _write_records(directory, height, width, encoding)
      for t in threads:
        rate = measure(split, preprocessing, size, t, FLAGS.num_images,
                       FLAGS.batch_size)
        rows.append((preprocessing, size, '%dx%d %s' % (width, height,
                                                        encoding.upper()),
                     t, rate))
  finally:
    shutil.rmtree(root, ignore_errors=True)
  print('| preprocessing | output size | source images | threads | images/s |')
  print('|---|---|---|---|---|')
  for preprocessing, size, source, t, rate in rows:
    print('| %s | %d | %s | %d | %.0f |' % (preprocessing, size, source, t,
                                             rate))


if __name__ == '__main__':
  app.run(main)
