"""Goal encoders: a fixed-length vector for each 16-frame window (MineCLIP's role in Minecraft).

`crafter` is the embedded world's deterministic, versioned encoder; MineCLIP joins it with the
Minecraft issue.
"""
