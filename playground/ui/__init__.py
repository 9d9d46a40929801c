"""The layer that imports Qt: the window, its panels and views, the workers, export's frame renderer."""
