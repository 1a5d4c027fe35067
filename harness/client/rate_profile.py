"""An offered rate that changes over time (a ramp), and the arrival times it implies.

The rate is piecewise linear through the scenario's `ramp` points and constant after the last.
Arrival times come from inverting the cumulative intensity Λ(t) = ∫₀ᵗ rate: the n-th constant
arrival is at Λ⁻¹(n), Poisson arrivals at Λ⁻¹(E₁ + … + Eₙ) with Eᵢ ~ Exp(1) (the time-change
theorem), so both shapes stay exact whatever the ramp, with no thinning and no drift.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Segment:
    start: float
    end: float  # math.inf for the last, constant segment
    rate0: float
    slope: float  # rate per second, 0 on the last segment
    mass0: float  # Λ(start)

    def mass(self, t: float) -> float:
        dt = t - self.start
        return self.mass0 + self.rate0 * dt + 0.5 * self.slope * dt * dt

    def time_of(self, mass: float) -> float:
        """The t in this segment with Λ(t) = mass (mass within the segment's range)."""
        target = mass - self.mass0
        if self.slope == 0.0:
            return self.start + target / self.rate0
        # 0.5·s·x² + r0·x − target = 0; the root with x ≥ 0, written to avoid cancellation.
        root = math.sqrt(max(self.rate0 * self.rate0 + 2.0 * self.slope * target, 0.0))
        return self.start + 2.0 * target / (self.rate0 + root)


class RateProfile:
    """rate(t) through (time, rate) points: linear between them, constant after the last."""

    def __init__(self, points: Sequence[tuple[float, float]]) -> None:
        if not points or points[0][0] != 0.0:
            raise ValueError("a rate profile starts at time 0")
        segments: list[_Segment] = []
        mass = 0.0
        for (t0, r0), (t1, r1) in itertools.pairwise(points):
            if t1 <= t0:
                raise ValueError("rate profile times must increase")
            segment = _Segment(t0, t1, r0, (r1 - r0) / (t1 - t0), mass)
            segments.append(segment)
            mass = segment.mass(t1)
        last_t, last_rate = points[-1]
        segments.append(_Segment(last_t, math.inf, last_rate, 0.0, mass))
        self._segments = tuple(segments)

    @classmethod
    def constant(cls, rate: float) -> RateProfile:
        return cls([(0.0, rate)])

    def rate(self, t: float) -> float:
        for segment in self._segments:
            if t < segment.end:
                return segment.rate0 + segment.slope * (t - segment.start)
        return self._segments[-1].rate0

    def mass(self, t: float) -> float:
        """Λ(t): the expected number of arrivals in [0, t)."""
        for segment in self._segments:
            if t <= segment.end:
                return segment.mass(t)
        return self._segments[-1].mass(t)

    def time_of(self, mass: float) -> float | None:
        """Λ⁻¹(mass): when the mass-th arrival falls due; None if the rate never gets there."""
        for segment in self._segments:
            if segment.end == math.inf:
                return segment.time_of(mass) if segment.rate0 > 0 else None
            if mass <= segment.mass(segment.end):
                if segment.rate0 == 0.0 and segment.slope == 0.0:
                    continue  # a zero-rate stretch holds no mass
                return segment.time_of(mass)
        return None

    @property
    def peak(self) -> float:
        return max(
            max(s.rate0, s.rate0 + s.slope * (s.end - s.start)) if s.end != math.inf else s.rate0
            for s in self._segments
        )
