"""The bundle: the one format between the stages, precompute writes it and the builder reads it.

A folder with `manifest.json` (manifest.py) and the files it lists. This package imports nothing
else from stepthrough but the leaf `errors` module.
"""

from stepthrough.bundle.manifest import (
    BUNDLE_FOLDERS,
    MANIFEST,
    SCHEMA_VERSION,
    FileRecord,
    Manifest,
    Projection,
    Trajectory,
    View,
    atomic_write,
    check_bundle,
    file_problem,
    final_picture,
    projection_is_complete,
    read_json,
    read_manifest,
    sha256_file,
    trajectory_is_complete,
    usual_permissions,
    write_manifest,
)

__all__ = [
    "BUNDLE_FOLDERS",
    "MANIFEST",
    "SCHEMA_VERSION",
    "FileRecord",
    "Manifest",
    "Projection",
    "Trajectory",
    "View",
    "atomic_write",
    "check_bundle",
    "file_problem",
    "final_picture",
    "projection_is_complete",
    "read_json",
    "read_manifest",
    "sha256_file",
    "trajectory_is_complete",
    "usual_permissions",
    "write_manifest",
]
