# Empty dependencies file for sgredis.
# This may be replaced when dependencies are built.
