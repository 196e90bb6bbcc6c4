"""wsquake: a reliability harness for the AugmentOS / MentraOS smart-glasses cloud."""

__version__ = "0.1.0"
