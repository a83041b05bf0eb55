"""Train/validation split files: one episode directory per line."""
