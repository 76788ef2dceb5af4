"""The bundle: the one format between the stages, precompute writes it and the builder reads it.

`manifest.py`: what a bundle holds (types, versioned reading and writing, verification);
`ids.py`: trajectory and projection ids, fingerprints, file hashes; `lock.py`: one writer at a
time per bundle or site folder (the one atomic writer is the leaf module `stepthrough.atomic`).
`hashes.py`: file hashes remembered with their files' times, so a rebuild need not read every file.
`formats.py`: the formats a bundle's files may have (WebP, PNG, JSON, .npy), known by their bytes;
`validate.py`: the ranges and lengths a manifest's values must have beyond their types.
This package imports nothing else from stepthrough but the leaf modules `errors`, `cache`, `atomic` and
`recorder` (the registry it reads recordings through).
"""

from stepthrough.bundle.ids import Job, sha256_file
from stepthrough.bundle.lock import folder_lock
from stepthrough.bundle.manifest import (
    BUNDLE_FOLDERS,
    MANIFEST,
    READABLE_SCHEMAS,
    SCHEMA_VERSION,
    FileRecord,
    Manifest,
    ProjectionFile,
    Schedule,
    Trajectory,
    View,
    bundle_file,
    check_bundle,
    derived_id,
    file_problem,
    final_picture,
    manifest_digest,
    plain_path_problem,
    projection_is_complete,
    read_json,
    read_manifest,
    schedule_key,
    trajectory_is_complete,
    unsafe_entry,
    write_manifest,
)

__all__ = [
    "BUNDLE_FOLDERS",
    "MANIFEST",
    "READABLE_SCHEMAS",
    "SCHEMA_VERSION",
    "FileRecord",
    "Job",
    "Manifest",
    "ProjectionFile",
    "Schedule",
    "Trajectory",
    "View",
    "bundle_file",
    "check_bundle",
    "derived_id",
    "file_problem",
    "final_picture",
    "folder_lock",
    "manifest_digest",
    "plain_path_problem",
    "projection_is_complete",
    "read_json",
    "read_manifest",
    "schedule_key",
    "sha256_file",
    "trajectory_is_complete",
    "unsafe_entry",
    "write_manifest",
]
