"""The goal-conditioned low level (STEVE-1 style) and everything about the play data.

`steve1.data`: episode storage, sampling files and play-data generation; `steve1.goal_encoders`:
goal embeddings of 16-frame windows; the policy and its trainer arrive with the pre-training issue.
"""
