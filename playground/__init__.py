"""A desktop neural-network playground for teaching how activation functions shape learning."""

__version__ = "0.1.0"
