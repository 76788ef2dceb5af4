"""What a recorder is: something a widget needs of a trajectory beyond its frames (attention maps,
a step's tensors), declared by the widget (`Widget.recorders`) and read by the plan, so that no
stage names the widgets that need more. A recorder owns its manifest entry: its type, the pictures
it names and its checks; the bundle reads and checks a trajectory's entries through the registry
here (`register`, filled by `stepthrough.widgets`), never by importing a widget. A leaf module: it
imports nothing from stepthrough."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from stepthrough.bundle.ids import Job
    from stepthrough.bundle.manifest import Manifest, Trajectory
    from stepthrough.bundle.validate import Problems


class Recorder(ABC):
    """One kind of recording: `name` is the trajectory's manifest entry that holds it, `entry` its
    type (a dataclass of typed fields, as the bundle's own types are)."""

    name: ClassVar[str]
    entry: ClassVar[type]
    loop: ClassVar[tuple[str, ...]] = ()  # what it reads from the sampler's loop, besides x_t and x̂0
    # True: recorded for every trajectory where the model offers it, so that a section added later
    # needs no render; False: only for the trajectories of sections that ask for it.
    everywhere: ClassVar[bool] = False

    def wants(self, job: Job) -> bool:
        """Whether this job has anything to record (a blend has no words of its own, say)."""
        return True

    def offered(self, model: dict[str, Any]) -> bool:
        """Whether the model (the manifest's `model` record) can give it."""
        return True

    def present(self, trajectory: Trajectory) -> bool:
        """Whether the trajectory's manifest entry holds it."""
        return self.of(trajectory) is not None

    def of(self, trajectory: Trajectory) -> Any:
        """The trajectory's entry of this recording (an `entry`), or None."""
        return trajectory.records.get(self.name)

    def pictures(self, entry: Any) -> dict[str, tuple[str, tuple[int, int]]]:
        """Every picture the entry names: its key below the entry ("file", "latent.file") → (the file
        in the bundle, the (width, height) its header must say)."""
        return {}

    def check(self, found: Problems, at: str, entry: Any, trajectory: Trajectory, manifest: Manifest) -> None:
        """Add to `found` a line for each value of the entry (at key `at`) that is out of range or
        disagrees with its trajectory: the bundle is untrusted, and its types alone say too little."""

    @abstractmethod
    def write(self, rendered: Any, trajectory_id: str, store: Callable[[str, bytes], None]) -> Any:
        """Store what the render (precompute.capture.Rendered) holds of it, each file through
        `store(path in the bundle, bytes)`; return its manifest entry, or None when there is none.
        Every recorder has its own: a recorder that cannot be written cannot be instantiated."""


_REGISTERED: dict[str, Recorder] = {}


def register(*recorders: Recorder) -> tuple[Recorder, ...]:
    """Make the bundle read these recorders' entries (stepthrough/widgets/__init__.py lists them)."""
    for recorder in recorders:
        _REGISTERED[recorder.name] = recorder
    return recorders


def registered() -> dict[str, Recorder]:
    """Every registered recorder by name, in the order registered: the entries a manifest may hold."""
    return _REGISTERED
