# Empty compiler generated dependencies file for test_redis.
# This may be replaced when dependencies are built.
