"""What a recorder is: something a widget needs of a trajectory beyond its frames (attention maps,
a step's tensors), declared by the widget (`Widget.recorders`) and read by the plan, so that no
stage names the widgets that need more. A leaf module: it imports nothing from stepthrough."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from stepthrough.bundle.ids import Job
    from stepthrough.bundle.manifest import Trajectory


class Recorder(ABC):
    """One kind of recording: `name` is the trajectory's manifest entry that holds it."""

    name: ClassVar[str]
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
        return getattr(trajectory, self.name) is not None

    @abstractmethod
    def write(self, rendered: Any, trajectory_id: str, store: Callable[[str, bytes], None]) -> Any:
        """Store what the render (precompute.capture.Rendered) holds of it, each file through
        `store(path in the bundle, bytes)`; return its manifest entry, or None when there is none.
        Every recorder has its own: a recorder that cannot be written cannot be instantiated."""
