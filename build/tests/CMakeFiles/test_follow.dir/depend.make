# Empty dependencies file for test_follow.
# This may be replaced when dependencies are built.
