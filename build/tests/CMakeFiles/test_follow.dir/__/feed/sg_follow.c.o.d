tests/CMakeFiles/test_follow.dir/__/feed/sg_follow.c.o: \
 /work/main/feed/sg_follow.c /usr/include/stdc-predef.h
