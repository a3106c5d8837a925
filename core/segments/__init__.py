"""Segmentation: pure DataFrame -> DataFrame steps (summary, abc, rfm, loyalty, lifecycle,
inactivity, geography, rules) and the engine that combines them into one membership frame.

Everything here is pure (frames in, frames out, the clock passed as `as_of`) except
`core.segments.run`, which loads from and stores to the mirror. Import `run` explicitly: this
package's import stays free of SQLite so `core.mirror` can use the pure helpers.
"""

from loyalsync.core.segments.engine import build_segments, segment_sizes, stored_members
from loyalsync.core.segments.summary import build_summary, segmentable

__all__ = ["build_segments", "build_summary", "segment_sizes", "segmentable", "stored_members"]
