"""Segmentation: pure DataFrame -> DataFrame steps (summary, abc, rfm, loyalty, lifecycle,
inactivity, geography, rules) and the engine that combines them into one membership frame.

Everything here is pure (frames in, frames out, the clock passed as `as_of`); running a
segmentation over the mirror (load, build, store) is orchestration and lives in
`sync/segment.py`. `settings.py` holds the `segmentation:` config types, so these modules never
import the config loader (which imports them to validate rules and segment names).
"""

from loyalsync.core.segments.engine import build_segments, segment_sizes, stored_members
from loyalsync.core.segments.summary import build_summary, segmentable

__all__ = ["build_segments", "build_summary", "segment_sizes", "segmentable", "stored_members"]
