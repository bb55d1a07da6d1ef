"""ImageNet converter on a tiny generated ILSVRC-2012 tree."""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import glob
import io
import os
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
from PIL import Image

from datasets import dataset_factory
from datasets import dataset_utils
from datasets import imagenet
from tests import dataset_testutil as dtu

# Its tests share module fixtures or cached builds: one worker runs them all
# (make test uses --dist loadgroup).
pytestmark = pytest.mark.xdist_group('test_converters_imagenet')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYNSETS = ['n01440764', 'n01443537', 'n01484850']
TEXTS = {'n01440764': 'tench, Tinca tinca',
         'n01443537': 'goldfish, Carassius auratus',
         'n01484850': 'great white shark, white shark'}


def _smooth(h, w, seed):
  rng = np.random.RandomState(seed)
  base = rng.randint(30, 220, size=3)
  ramp = np.linspace(0, 30, w)[None, :, None]
  return np.clip(base + ramp + np.zeros((h, w, 3)), 0, 255).astype(np.uint8)


def _write(path, data):
  if not os.path.isdir(os.path.dirname(path)):
    os.makedirs(os.path.dirname(path))
  with open(path, 'wb') as f:
    f.write(data)


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
  """train: 6 images over 3 synsets (one PNG, one CMYK, one gray, one broken);
  validation: 3 flat images + label file; synsets, metadata, boxes."""
  src = str(tmp_path_factory.mktemp('ilsvrc'))
  kinds = {}
  rgb = _smooth(20, 24, 0)
  jpeg = dtu.encode_jpeg(rgb, quality=90)
  _write(os.path.join(src, 'train', SYNSETS[0], 'n01440764_1.JPEG'), jpeg)
  kinds['n01440764_1.JPEG'] = ('jpeg', jpeg)
  png_pixels = _smooth(16, 18, 1)
  _write(os.path.join(src, 'train', SYNSETS[0], 'n01440764_2.JPEG'),
         dtu.encode_png(png_pixels))  # A PNG named .JPEG, as in ILSVRC.
  kinds['n01440764_2.JPEG'] = ('png', png_pixels)
  cmyk = dtu.encode_jpeg(_smooth(12, 14, 2), mode='CMYK', quality=95)
  _write(os.path.join(src, 'train', SYNSETS[1], 'n01443537_1.JPEG'), cmyk)
  kinds['n01443537_1.JPEG'] = ('cmyk', np.asarray(
      Image.open(io.BytesIO(cmyk)).convert('RGB')))
  gray = dtu.encode_jpeg(_smooth(10, 10, 3), mode='L')
  _write(os.path.join(src, 'train', SYNSETS[1], 'n01443537_2.JPEG'), gray)
  kinds['n01443537_2.JPEG'] = ('jpeg', gray)
  other = dtu.encode_jpeg(_smooth(9, 11, 4))
  _write(os.path.join(src, 'train', SYNSETS[2], 'n01484850_1.JPEG'), other)
  kinds['n01484850_1.JPEG'] = ('jpeg', other)
  _write(os.path.join(src, 'train', SYNSETS[2], 'n01484850_2.JPEG'),
         jpeg[:len(jpeg) // 3])  # Truncated: reported and skipped.
  val_labels = [SYNSETS[2], SYNSETS[0], SYNSETS[1]]
  for i in range(3):
    name = 'ILSVRC2012_val_%08d.JPEG' % (i + 1)
    data = dtu.encode_jpeg(_smooth(8, 8, 10 + i))
    _write(os.path.join(src, 'validation', name), data)
    kinds[name] = ('jpeg', data)
  _write(os.path.join(src, imagenet.VALIDATION_LABELS_FILE),
         ('\n'.join(val_labels) + '\n').encode())
  _write(os.path.join(src, imagenet.SYNSETS_FILE),
         ('\n'.join(SYNSETS) + '\n').encode())
  _write(os.path.join(src, imagenet.METADATA_FILE), ''.join(
      '%s\t%s\n' % kv for kv in sorted(TEXTS.items())).encode())
  _write(os.path.join(src, imagenet.BOUNDING_BOX_FILE),
         b'n01440764_1.JPEG,0.1,0.2,0.5,0.6\n'
         b'n01440764_1.JPEG,0.0,0.0,1.2,1.0\n')
  return src, kinds, dict(zip(['ILSVRC2012_val_%08d.JPEG' % (i + 1)
                               for i in range(3)], val_labels))


def _parse(path):
  out = []
  for raw in tf.io.tf_record_iterator(path):
    out.append(tf.train.Example.FromString(raw).features.feature)
  return out


def test_imagenet_tree_to_records(tree, tmp_path):
  src, kinds, val_labels = tree
  sys.path.insert(0, ROOT)
  import download_and_convert_data as cli
  out = str(tmp_path / 'records')
  # Through the CLI's flag plumbing; 2 worker processes.
  cli.convert('imagenet', out, source_dir=src, train_shards=2,
              validation_shards=3, num_workers=2)
  names = sorted(os.path.basename(p) for p in glob.glob(out + '/*-*'))
  assert names == ['train-00000-of-00002', 'train-00001-of-00002',
                   'validation-00000-of-00003', 'validation-00001-of-00003',
                   'validation-00002-of-00003']
  assert dataset_utils.read_label_file(out) == {
      0: 'background', 1: TEXTS[SYNSETS[0]], 2: TEXTS[SYNSETS[1]],
      3: TEXTS[SYNSETS[2]]}
  records = {}
  for path in glob.glob(out + '/*-*'):
    for f in _parse(path):
      filename = f['image/filename'].bytes_list.value[0].decode()
      records[filename] = (os.path.basename(path).split('-')[0], f)
  # 5 usable train images (the truncated one is skipped) + 3 validation.
  assert sorted(records) == sorted(kinds)
  with tf.Graph().as_default():
    encoded = tf.placeholder(tf.string)
    decoded = tf.image.decode_jpeg(encoded, channels=3)
    with tf.Session() as sess:
      for filename, (split, f) in records.items():
        synset = f['image/class/synset'].bytes_list.value[0].decode()
        label = f['image/class/label'].int64_list.value[0]
        assert label == SYNSETS.index(synset) + 1
        if split == 'validation':
          assert synset == val_labels[filename]
        else:
          assert filename.startswith(synset)
        assert f['image/class/text'].bytes_list.value[0].decode() == TEXTS[
            synset]
        assert f['image/format'].bytes_list.value[0] == b'JPEG'
        assert f['image/colorspace'].bytes_list.value[0] == b'RGB'
        data = f['image/encoded'].bytes_list.value[0]
        assert data[:3] == b'\xff\xd8\xff'  # Every record is a JPEG.
        pixels = sess.run(decoded, {encoded: data})
        assert pixels.shape == (f['image/height'].int64_list.value[0],
                                f['image/width'].int64_list.value[0], 3)
        kind, source = kinds[filename]
        if kind == 'jpeg':
          assert data == source  # Good JPEGs are stored byte-for-byte.
        else:  # PNG and CMYK re-encoded as RGB JPEG (quality 100).
          assert np.abs(pixels.astype(int) - source.astype(int)).max() <= 6
  boxed = records['n01440764_1.JPEG'][1]
  np.testing.assert_allclose(boxed['image/object/bbox/xmin'].float_list.value,
                             [0.1, 0.0])
  np.testing.assert_allclose(boxed['image/object/bbox/xmax'].float_list.value,
                             [0.5, 1.0])  # 1.2 clipped to 1
  np.testing.assert_allclose(boxed['image/object/bbox/ymin'].float_list.value,
                             [0.2, 0.0])
  assert list(boxed['image/object/bbox/label'].int64_list.value) == [1, 1]
  assert list(boxed['image/object/class/label'].int64_list.value) == [1, 1]
  assert not records['n01443537_1.JPEG'][1][
      'image/object/bbox/xmin'].float_list.value
  split = dataset_factory.get_dataset('imagenet', 'train', out)
  assert (split.num_samples, split.num_classes) == (5, 1001)
  assert dataset_utils.read_metadata(out)['skipped'] == 1
  assert not glob.glob(os.path.join(out, '.*'))  # No temporaries left.


def test_imagenet_shard_defaults_are_slims():
  assert (imagenet.TRAIN_SHARDS, imagenet.VALIDATION_SHARDS) == (1024, 128)
  sys.path.insert(0, ROOT)
  import download_and_convert_data as cli
  assert cli.FLAGS['train_shards'].default == 1024
  assert cli.FLAGS['validation_shards'].default == 128


def test_imagenet_bad_inputs(tree, tmp_path):
  src, _, _ = tree
  with pytest.raises(ValueError, match=r'--train_shards=0 must be a positive'):
    imagenet.run(str(tmp_path / 'o'), src, train_shards=0)
  with pytest.raises(ValueError, match='lacks train/; expected'):
    imagenet.run(str(tmp_path / 'o'), str(tmp_path))
  os.makedirs(str(tmp_path / 'x' / 'train'))
  os.makedirs(str(tmp_path / 'x' / 'validation'))
  with pytest.raises(ValueError, match=imagenet.VALIDATION_LABELS_FILE):
    imagenet.run(str(tmp_path / 'o'), str(tmp_path / 'x'))


def test_imagenet_validation_already_in_synset_folders(tree, tmp_path):
  """Slim's preprocess_imagenet_validation_data.py layout: no label file."""
  src, _, val_labels = tree
  sorted_src = tmp_path / 'sorted'
  for sub in ('train', 'validation'):
    (sorted_src / sub).mkdir(parents=True)
  for synset in SYNSETS:  # One train image per synset is enough here.
    (sorted_src / 'train' / synset).mkdir()
  for name, synset in val_labels.items():
    (sorted_src / 'validation' / synset).mkdir(exist_ok=True)
    with open(os.path.join(src, 'validation', name), 'rb') as f:
      (sorted_src / 'validation' / synset / name).write_bytes(f.read())
  synsets, splits = imagenet.find_images(str(sorted_src))
  assert synsets == SYNSETS
  assert sorted((os.path.basename(p), s) for p, s in splits['validation']) == (
      sorted(val_labels.items()))
