"""The `Target` seam: everything above it (steps, features) is the same whichever target runs."""
from .target import (Acknowledgement, Capability, Outcome, Target, TargetFault,
                     CapabilityMissing)

__all__ = ["Acknowledgement", "Capability", "Outcome", "Target", "TargetFault", "CapabilityMissing"]
