
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/lib/sg_config.c" "CMakeFiles/sgcore.dir/lib/sg_config.c.o" "gcc" "CMakeFiles/sgcore.dir/lib/sg_config.c.o.d"
  "/work/main/lib/sg_engine.c" "CMakeFiles/sgcore.dir/lib/sg_engine.c.o" "gcc" "CMakeFiles/sgcore.dir/lib/sg_engine.c.o.d"
  "/work/main/lib/sg_login.c" "CMakeFiles/sgcore.dir/lib/sg_login.c.o" "gcc" "CMakeFiles/sgcore.dir/lib/sg_login.c.o.d"
  "/work/main/lib/sg_logparse.c" "CMakeFiles/sgcore.dir/lib/sg_logparse.c.o" "gcc" "CMakeFiles/sgcore.dir/lib/sg_logparse.c.o.d"
  "/work/main/lib/sg_store.c" "CMakeFiles/sgcore.dir/lib/sg_store.c.o" "gcc" "CMakeFiles/sgcore.dir/lib/sg_store.c.o.d"
  "/work/main/build/sg_scripts.c" "CMakeFiles/sgcore.dir/sg_scripts.c.o" "gcc" "CMakeFiles/sgcore.dir/sg_scripts.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
