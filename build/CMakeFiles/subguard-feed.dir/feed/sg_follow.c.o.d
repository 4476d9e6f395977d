CMakeFiles/subguard-feed.dir/feed/sg_follow.c.o: \
 /work/main/feed/sg_follow.c /usr/include/stdc-predef.h
