"""MobileNet v2, v3 and EdgeTPU: one table-driven builder for the family.

`mobilenet.py` holds the generic builder, `conv_blocks.py` the layers it
stacks (the inverted residual `expanded_conv`, v3's `squeeze_excite`), and
`mobilenet_v2.py` / `mobilenet_v3.py` the architecture tables and the public
builders registered in `nets_factory`. MobileNet v1 lives in
`nets/mobilenet_v1.py`, as in TF-Slim.
"""
