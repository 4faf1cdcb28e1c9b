"""Stand-in ``processing.gui``."""
