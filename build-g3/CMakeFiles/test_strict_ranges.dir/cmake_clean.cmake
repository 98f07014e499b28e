file(REMOVE_RECURSE
  "CMakeFiles/test_strict_ranges.dir/tests/native/test_strict_ranges.cpp.o"
  "CMakeFiles/test_strict_ranges.dir/tests/native/test_strict_ranges.cpp.o.d"
  "test_strict_ranges"
  "test_strict_ranges.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/test_strict_ranges.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
