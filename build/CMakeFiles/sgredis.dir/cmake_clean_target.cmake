file(REMOVE_RECURSE
  "libsgredis.a"
)
