"""Goal encoders: a fixed-length vector for each 16-frame window.

`crafter` is the embedded world's deterministic, versioned encoder; `mineclip` is MineCLIP's attn
variant (the paper's goal embedding in Minecraft), with its own model code.
"""
