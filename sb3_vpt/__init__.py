"""Stable-Baselines3 glue for recurrent VPT-style policies (to be filled by the high-level RL issue).

Will hold the policy base class, a rollout buffer that carries transformer memory, and the logging
callback used by `ppo_highlevel.py`.
"""
