CMakeFiles/sgcore.dir/lib/sg_logparse.c.o: /work/main/lib/sg_logparse.c \
 /usr/include/stdc-predef.h
