"""Episode storage (shared by Crafter and Minecraft), generation and train/val sampling."""
