# Empty dependencies file for test_logparse.
# This may be replaced when dependencies are built.
