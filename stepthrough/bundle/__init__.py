"""The bundle: the one format between the stages, precompute writes it and the builder reads it.

`manifest.py`: what a bundle holds (types, versioned reading and writing, verification);
`ids.py`: trajectory and projection ids, fingerprints, file hashes; `atomic.py`: the one atomic
writer, for bundles and sites alike. This package imports nothing else from stepthrough but the
leaf `errors` module.
"""

from stepthrough.bundle.atomic import atomic_file, atomic_folder, atomic_write
from stepthrough.bundle.ids import Job, sha256_file
from stepthrough.bundle.manifest import (
    BUNDLE_FOLDERS,
    MANIFEST,
    SCHEMA_VERSION,
    AttentionMaps,
    FileRecord,
    Manifest,
    Projection,
    Trajectory,
    View,
    check_bundle,
    file_problem,
    final_picture,
    projection_is_complete,
    read_json,
    read_manifest,
    trajectory_is_complete,
    write_manifest,
)

__all__ = [
    "BUNDLE_FOLDERS",
    "MANIFEST",
    "SCHEMA_VERSION",
    "AttentionMaps",
    "FileRecord",
    "Job",
    "Manifest",
    "Projection",
    "Trajectory",
    "View",
    "atomic_file",
    "atomic_folder",
    "atomic_write",
    "check_bundle",
    "file_problem",
    "final_picture",
    "projection_is_complete",
    "read_json",
    "read_manifest",
    "sha256_file",
    "trajectory_is_complete",
    "write_manifest",
]
