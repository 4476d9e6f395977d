file(REMOVE_RECURSE
  "CMakeFiles/subguard.dir/milter/sg_log.c.o"
  "CMakeFiles/subguard.dir/milter/sg_log.c.o.d"
  "CMakeFiles/subguard.dir/milter/sg_milter.c.o"
  "CMakeFiles/subguard.dir/milter/sg_milter.c.o.d"
  "CMakeFiles/subguard.dir/milter/sg_runtime.c.o"
  "CMakeFiles/subguard.dir/milter/sg_runtime.c.o.d"
  "CMakeFiles/subguard.dir/milter/subguard.c.o"
  "CMakeFiles/subguard.dir/milter/subguard.c.o.d"
  "subguard"
  "subguard.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/subguard.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
