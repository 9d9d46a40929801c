"""The plane every dataset is drawn on, every view shows and every map is computed over.

Two constants and no imports, so that the lightest modules (the training child's entry, the
exporter's options) can take them without loading numpy.
"""

EXTENT = 6.0  # the plane is [-EXTENT, EXTENT]²: TF Playground's, where its datasets lie (about ±5)
DEFAULT_GRID = 100  # the decision maps' resolution: DEFAULT_GRID × DEFAULT_GRID points over the plane
