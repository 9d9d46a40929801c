"""A desktop neural-network playground for teaching how activation functions shape learning.

Importing it changes nothing in the process: the entry points call playground.runtime.configure_process().
"""

__version__ = "0.1.0"
