file(REMOVE_RECURSE
  "CMakeFiles/test_redis.dir/integration/test_redis.c.o"
  "CMakeFiles/test_redis.dir/integration/test_redis.c.o.d"
  "test_redis"
  "test_redis.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_redis.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
