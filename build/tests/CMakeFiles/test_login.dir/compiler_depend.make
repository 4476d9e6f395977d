# Empty compiler generated dependencies file for test_login.
# This may be replaced when dependencies are built.
