"""Play-data generation: the scripted Crafter play agent and the dataset generator."""
