# Empty dependencies file for subguard.
# This may be replaced when dependencies are built.
