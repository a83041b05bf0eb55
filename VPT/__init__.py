"""The VPT policy architecture (to be filled by the pre-training issue).

Will hold the ImpalaCNN, the masked-attention transformer over a memory of past frames, the action
and value heads, the Minecraft action mapping, and `.model` / `.weights` I/O. Imports nothing from
the rest of the project.
"""
