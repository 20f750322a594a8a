"""vramkit."""
