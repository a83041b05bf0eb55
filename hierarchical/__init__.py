"""High-level RL over the codebook (to be filled by the high-level RL issue).

Will hold the vectorised high-level environment (frozen low-level policy with classifier-free
guidance, goal prior, KL reward), the high-level policy, the PPO subclass, evaluation and the
experiment runner.
"""
