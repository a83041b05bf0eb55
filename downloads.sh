#!/usr/bin/env bash
# Official Minecraft weights (VPT 2x, MineCLIP attn, STEVE-1) will be fetched here by the Minecraft
# issue. The Crafter pipeline needs no downloads: its pre-trained models ship in downloads/crafter/.
echo "downloads.sh: the Minecraft downloads are not implemented yet in this version." >&2
echo "Crafter needs nothing from here; see README.md." >&2
exit 1
