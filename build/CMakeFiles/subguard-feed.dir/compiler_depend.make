# Empty compiler generated dependencies file for subguard-feed.
# This may be replaced when dependencies are built.
