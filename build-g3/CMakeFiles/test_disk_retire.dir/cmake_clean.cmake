file(REMOVE_RECURSE
  "CMakeFiles/test_disk_retire.dir/tests/native/test_disk_retire.cpp.o"
  "CMakeFiles/test_disk_retire.dir/tests/native/test_disk_retire.cpp.o.d"
  "test_disk_retire"
  "test_disk_retire.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/test_disk_retire.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
