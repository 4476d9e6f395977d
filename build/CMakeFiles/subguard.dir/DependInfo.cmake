
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/milter/sg_log.c" "CMakeFiles/subguard.dir/milter/sg_log.c.o" "gcc" "CMakeFiles/subguard.dir/milter/sg_log.c.o.d"
  "/work/main/milter/sg_milter.c" "CMakeFiles/subguard.dir/milter/sg_milter.c.o" "gcc" "CMakeFiles/subguard.dir/milter/sg_milter.c.o.d"
  "/work/main/milter/sg_runtime.c" "CMakeFiles/subguard.dir/milter/sg_runtime.c.o" "gcc" "CMakeFiles/subguard.dir/milter/sg_runtime.c.o.d"
  "/work/main/milter/subguard.c" "CMakeFiles/subguard.dir/milter/subguard.c.o" "gcc" "CMakeFiles/subguard.dir/milter/subguard.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/CMakeFiles/sgredis.dir/DependInfo.cmake"
  "/work/main/build/CMakeFiles/sgcore.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
