file(REMOVE_RECURSE
  "CMakeFiles/test_host_copy_free.dir/tests/native/test_host_copy_free.cpp.o"
  "CMakeFiles/test_host_copy_free.dir/tests/native/test_host_copy_free.cpp.o.d"
  "test_host_copy_free"
  "test_host_copy_free.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/test_host_copy_free.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
