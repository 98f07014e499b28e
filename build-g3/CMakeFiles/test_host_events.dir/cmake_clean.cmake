file(REMOVE_RECURSE
  "CMakeFiles/test_host_events.dir/tests/native/test_host_events.cpp.o"
  "CMakeFiles/test_host_events.dir/tests/native/test_host_events.cpp.o.d"
  "test_host_events"
  "test_host_events.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/test_host_events.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
