"""All Inception classifiers in one namespace, as TF-Slim's `nets.inception`.

Code written against TF-Slim imports `from nets import inception` and calls
`inception.inception_v3(...)`, `inception.inception_v4_base(...)` and so on;
this module re-exports each builder, its `*_base` feature extractor and its
`*_arg_scope` from the per-model modules, unchanged.

References:
  [1] Szegedy et al., Going Deeper with Convolutions, arXiv:1409.4842.
  [2] Ioffe and Szegedy, Batch Normalization, arXiv:1502.03167.
  [3] Szegedy et al., Rethinking the Inception Architecture for Computer
      Vision, arXiv:1512.00567.
  [4] Szegedy et al., Inception-v4, Inception-ResNet and the Impact of
      Residual Connections on Learning, arXiv:1602.07261.

Typical use:

    from nets import inception

    with slim.arg_scope(inception.inception_v3_arg_scope()):
      logits, end_points = inception.inception_v3(images, num_classes=1001)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

# pylint: disable=unused-import
from nets.inception_resnet_v2 import inception_resnet_v2
from nets.inception_resnet_v2 import inception_resnet_v2_arg_scope
from nets.inception_resnet_v2 import inception_resnet_v2_base
from nets.inception_v1 import inception_v1
from nets.inception_v1 import inception_v1_arg_scope
from nets.inception_v1 import inception_v1_base
from nets.inception_v2 import inception_v2
from nets.inception_v2 import inception_v2_arg_scope
from nets.inception_v2 import inception_v2_base
from nets.inception_v3 import inception_v3
from nets.inception_v3 import inception_v3_arg_scope
from nets.inception_v3 import inception_v3_base
from nets.inception_v4 import inception_v4
from nets.inception_v4 import inception_v4_arg_scope
from nets.inception_v4 import inception_v4_base
# pylint: enable=unused-import
