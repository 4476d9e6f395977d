
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/feed/sg_follow.c" "CMakeFiles/subguard-feed.dir/feed/sg_follow.c.o" "gcc" "CMakeFiles/subguard-feed.dir/feed/sg_follow.c.o.d"
  "/work/main/feed/subguard-feed.c" "CMakeFiles/subguard-feed.dir/feed/subguard-feed.c.o" "gcc" "CMakeFiles/subguard-feed.dir/feed/subguard-feed.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/CMakeFiles/sgredis.dir/DependInfo.cmake"
  "/work/main/build/CMakeFiles/sgcore.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
