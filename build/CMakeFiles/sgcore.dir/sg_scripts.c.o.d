CMakeFiles/sgcore.dir/sg_scripts.c.o: /work/main/build/sg_scripts.c \
 /usr/include/stdc-predef.h /work/main/lib/sg_store.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h
