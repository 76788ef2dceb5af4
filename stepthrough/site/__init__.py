"""Stage 2: content + bundle + templates → static site. Never imports torch."""
