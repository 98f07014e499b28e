file(REMOVE_RECURSE
  "CMakeFiles/test_disk_callbacks.dir/tests/native/test_disk_callbacks.cpp.o"
  "CMakeFiles/test_disk_callbacks.dir/tests/native/test_disk_callbacks.cpp.o.d"
  "test_disk_callbacks"
  "test_disk_callbacks.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/test_disk_callbacks.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
