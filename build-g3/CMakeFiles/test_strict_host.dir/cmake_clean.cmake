file(REMOVE_RECURSE
  "CMakeFiles/test_strict_host.dir/tests/native/test_strict_host.cpp.o"
  "CMakeFiles/test_strict_host.dir/tests/native/test_strict_host.cpp.o.d"
  "test_strict_host"
  "test_strict_host.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/test_strict_host.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
