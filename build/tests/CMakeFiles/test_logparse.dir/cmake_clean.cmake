file(REMOVE_RECURSE
  "CMakeFiles/test_logparse.dir/unit/test_logparse.c.o"
  "CMakeFiles/test_logparse.dir/unit/test_logparse.c.o.d"
  "test_logparse"
  "test_logparse.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_logparse.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
