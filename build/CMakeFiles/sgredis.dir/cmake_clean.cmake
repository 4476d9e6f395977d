file(REMOVE_RECURSE
  "CMakeFiles/sgredis.dir/redis/sg_redis.c.o"
  "CMakeFiles/sgredis.dir/redis/sg_redis.c.o.d"
  "libsgredis.a"
  "libsgredis.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/sgredis.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
