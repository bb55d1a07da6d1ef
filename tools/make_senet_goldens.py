r"""Writes tests/data/senet/<model>.json: timm's logits on seeded weights.

For each released SENet (`tools/senet_weights.MODELS`) this builds timm's own
model (`legacy_seresnet50`, ...), loads `senet_weights.seeded_state_dict`
(random weights and BN statistics from a fixed numpy seed, in timm's key
layout; `load_state_dict(strict=True)` checks that layout against timm), runs
it in eval mode on `senet_weights.seeded_images` at each of
`GOLDEN_SIZES`, and writes the logits and timm's key/shape manifest. The
weights are not written: the test regenerates them from the seed.

It needs torch and timm, which the project does not: build a side venv
(never the project's .venv / .venv-tf2, and not part of `make test`):

    python3.11 -m venv /work/venv-torch
    # On this machine pip takes these two from local files (no CUDA download):
    /work/venv-torch/bin/pip install torch==2.14.1 torchvision==0.29.1
    /work/venv-torch/bin/pip install timm          # 1.0.31 made the goldens
    /work/venv-torch/bin/python tools/make_senet_goldens.py

Flags: --models (comma-separated, default all five), --output_dir.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import argparse
import json
import os
import sys

import numpy as np
import timm
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools import senet_weights  # pylint: disable=g-import-not-at-top

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def golden(model_name):
  """Returns the golden dict of one model."""
  model = timm.create_model(senet_weights.TIMM_NAMES[model_name],
                            pretrained=False, num_classes=1000)
  model.eval()
  reference = model.state_dict()
  manifest = [[k, list(v.shape)] for k, v in reference.items()]
  weights = senet_weights.seeded_state_dict(
      model_name, senet_weights.GOLDEN_WEIGHTS_SEED)
  ours = [k for k in reference if not k.endswith('.num_batches_tracked')]
  if ours != list(weights):
    raise SystemExit('%s: timm keys differ from senet_weights\' layout: %s' %
                     (model_name, sorted(set(ours) ^ set(weights))[:5]))
  state = {k: torch.from_numpy(v) for k, v in weights.items()}
  for k, v in reference.items():
    if k not in state:
      state[k] = v  # the BN counters
  model.load_state_dict(state, strict=True)
  runs = []
  with torch.no_grad():
    for size in senet_weights.GOLDEN_SIZES:
      images = senet_weights.seeded_images(size)
      logits = model(torch.from_numpy(images.transpose(0, 3, 1, 2))).numpy()
      runs.append({'size': size, 'batch': int(images.shape[0]),
                   'logits': [[float('%.9g' % x) for x in row]
                              for row in logits.astype(np.float64)]})
      print('%s at %d: logits std %.4g, max |logit| %.4g' %
            (model_name, size, logits.std(), np.abs(logits).max()))
  return {
      'model': model_name,
      'timm_model': senet_weights.TIMM_NAMES[model_name],
      'made_by': 'tools/make_senet_goldens.py with torch %s, timm %s' %
                 (torch.__version__, timm.__version__),
      'weights_seed': senet_weights.GOLDEN_WEIGHTS_SEED,
      'input_seed': senet_weights.GOLDEN_INPUT_SEED,
      'runs': runs,
      'manifest': manifest,
  }


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--models', default=','.join(senet_weights.MODELS))
  parser.add_argument('--output_dir',
                      default=os.path.join(_REPO, 'tests', 'data', 'senet'))
  args = parser.parse_args()
  torch.manual_seed(0)
  os.makedirs(args.output_dir, exist_ok=True)
  for name in args.models.split(','):
    senet_weights.check_model_name(name)
    data = golden(name)
    path = os.path.join(args.output_dir, name + '.json')
    with open(path + '.tmp', 'w') as f:
      json.dump(data, f, separators=(',', ':'))
      f.write('\n')
    os.replace(path + '.tmp', path)
    print('wrote', os.path.relpath(path, _REPO))


if __name__ == '__main__':
  main()
