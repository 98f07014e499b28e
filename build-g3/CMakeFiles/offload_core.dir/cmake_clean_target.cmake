file(REMOVE_RECURSE
  "liboffload_core.a"
)
