"""stepthrough: turn a text-to-image diffusion model into a scroll-driven explainer site."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stepthrough")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"
