"""Codebook and goal prior (to be filled by the pre-training issue).

Will hold `generate_codebook.py` (goal embeddings + action history, t-SNE, KMeans, one real window
per code), the codebook reader/writer (`.npz`, and upstream's `centers.pkl`), and the goal prior: a
classifier that predicts from the current frame which code comes next in the play data.
"""
