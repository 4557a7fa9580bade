"""Pure grouping logic: numpy in, decisions and metrics out. Knows no HTTP or SQL."""

from clustering.centroid import CentroidGrouper
from clustering.online import Decision, Item, OnlineGrouper

__all__ = ["CentroidGrouper", "Decision", "Item", "OnlineGrouper"]
