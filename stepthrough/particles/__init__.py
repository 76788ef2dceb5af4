"""A tiny 2-D diffusion model over point clouds of named shapes, for the reverse-process particles widget.

`shapes` draws the training data, `model` and `train` (torch) learn the noise predictor,
`sample` (numpy only) runs it: the builder and the page's script use the same weights.
"""
