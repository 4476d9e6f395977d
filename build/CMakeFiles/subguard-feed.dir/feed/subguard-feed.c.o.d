CMakeFiles/subguard-feed.dir/feed/subguard-feed.c.o: \
 /work/main/feed/subguard-feed.c /usr/include/stdc-predef.h
