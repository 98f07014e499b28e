file(REMOVE_RECURSE
  "CMakeFiles/test_regions.dir/tests/native/test_regions.cpp.o"
  "CMakeFiles/test_regions.dir/tests/native/test_regions.cpp.o.d"
  "test_regions"
  "test_regions.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/test_regions.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
