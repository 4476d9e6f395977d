file(REMOVE_RECURSE
  "CMakeFiles/subguard-feed.dir/feed/sg_follow.c.o"
  "CMakeFiles/subguard-feed.dir/feed/sg_follow.c.o.d"
  "CMakeFiles/subguard-feed.dir/feed/subguard-feed.c.o"
  "CMakeFiles/subguard-feed.dir/feed/subguard-feed.c.o.d"
  "subguard-feed"
  "subguard-feed.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/subguard-feed.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
