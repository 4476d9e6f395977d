file(REMOVE_RECURSE
  "CMakeFiles/sgcore.dir/lib/sg_config.c.o"
  "CMakeFiles/sgcore.dir/lib/sg_config.c.o.d"
  "CMakeFiles/sgcore.dir/lib/sg_engine.c.o"
  "CMakeFiles/sgcore.dir/lib/sg_engine.c.o.d"
  "CMakeFiles/sgcore.dir/lib/sg_login.c.o"
  "CMakeFiles/sgcore.dir/lib/sg_login.c.o.d"
  "CMakeFiles/sgcore.dir/lib/sg_logparse.c.o"
  "CMakeFiles/sgcore.dir/lib/sg_logparse.c.o.d"
  "CMakeFiles/sgcore.dir/lib/sg_store.c.o"
  "CMakeFiles/sgcore.dir/lib/sg_store.c.o.d"
  "CMakeFiles/sgcore.dir/sg_scripts.c.o"
  "CMakeFiles/sgcore.dir/sg_scripts.c.o.d"
  "libsgcore.a"
  "libsgcore.pdb"
  "sg_scripts.c"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/sgcore.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
