file(REMOVE_RECURSE
  "CMakeFiles/test_login.dir/unit/test_login.c.o"
  "CMakeFiles/test_login.dir/unit/test_login.c.o.d"
  "test_login"
  "test_login.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_login.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
