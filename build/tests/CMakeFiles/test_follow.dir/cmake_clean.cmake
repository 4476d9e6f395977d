file(REMOVE_RECURSE
  "CMakeFiles/test_follow.dir/__/feed/sg_follow.c.o"
  "CMakeFiles/test_follow.dir/__/feed/sg_follow.c.o.d"
  "CMakeFiles/test_follow.dir/unit/test_follow.c.o"
  "CMakeFiles/test_follow.dir/unit/test_follow.c.o.d"
  "test_follow"
  "test_follow.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_follow.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
